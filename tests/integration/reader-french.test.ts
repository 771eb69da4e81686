// No English sentence reaches a French page: the built pages' visible text
// and labels (code and shell output left out: they are English by nature),
// and every string literal of the browser code (src/client), which is where
// the words the page shows come from besides the catalogue (checked in
// tests/unit/french-catalogue.test.ts).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { englishSentences } from '../support/english-detector.ts';
import { PROJECT_ROOT, ensureSiteBuilt } from '../support/site.ts';

function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path, suffix) : path.endsWith(suffix) ? [path] : [];
  });
}

/** What a reader sees of a page: its text outside code, scripts and pictures, and its labels. */
function readableText(html: string): string[] {
  const shown = html.replace(/<(script|style|pre|code|svg|template)\b[\s\S]*?<\/\1>/gi, ' ');
  const labels = [...shown.matchAll(/\s(?:aria-label|title|placeholder|alt)="([^"]*)"/g)].map((match) => match[1]!);
  const text = shown
    .replace(/<[^>]+>/g, '\n')
    .replace(/&nbsp;|&#160;/g, ' ')
    .replace(/&#39;|&apos;|&#x27;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
  return [text, ...labels];
}

let site: string;
beforeAll(async () => {
  site = await ensureSiteBuilt();
});

describe('French pages', () => {
  it('no built page shows an English sentence', () => {
    const found: string[] = [];
    const pages = filesUnder(site, '.html');
    expect(pages.length).toBeGreaterThan(2);
    for (const page of pages) {
      for (const text of readableText(readFileSync(page, 'utf8'))) {
        for (const hit of englishSentences(text)) found.push(`${relative(site, page)}: ${hit.sentence}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('no string of the browser code is an English sentence', () => {
    const found: string[] = [];
    for (const file of filesUnder(join(PROJECT_ROOT, 'src', 'client'), '.ts')) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, index) => {
          if (/^\s*(\/\/|\*|\/\*)/.test(line)) return;
          for (const match of line.matchAll(/'((?:[^'\\]|\\.)*)'|`((?:[^`\\]|\\.)*)`|"((?:[^"\\]|\\.)*)"/g)) {
            const literal = (match[1] ?? match[2] ?? match[3] ?? '').replace(/\$\{[^}]*\}/g, 'X');
            for (const hit of englishSentences(literal)) found.push(`${relative(PROJECT_ROOT, file)}:${index + 1}: ${hit.sentence}`);
          }
        });
    }
    expect(found).toEqual([]);
  });
});
