// A one-page edit in `npm run dev` renders that page again: what it reads of the other pages (their front
// matter, for the site index and the lab lookup) and the highlighting of its unchanged transcripts are
// taken from what was computed before, and computed again as soon as their file changes.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoByFile } from '../../src/lib/hugo/file-memo.ts';
import { siteIndex } from '../../src/lib/hugo/shortcodes/site-index.ts';
import { PROJECT_ROOT } from '../../src/lib/site-config.ts';
import { highlightCommandsSync } from '../../src/lib/snippets/highlight-commands.ts';

const dir = mkdtempSync(join(tmpdir(), 'dev-edit-caches-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('what a re-rendered page reads of the other pages', () => {
  it('computes again only when the file changed, even to the same size', () => {
    const file = join(dir, 'page.md');
    writeFileSync(file, 'un');
    let runs = 0;
    const read = () =>
      memoByFile('test', file, (text) => {
        runs++;
        return text;
      });
    expect(read()).toBe('un');
    expect(read()).toBe('un');
    expect(runs).toBe(1);
    writeFileSync(file, 'deux');
    expect(read()).toBe('deux');
    writeFileSync(file, 'tres'); // same size: the modification time tells
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    expect(read()).toBe('tres');
    expect(runs).toBe(3);
  });

  it('keeps the site index over an edit of a page text, and builds it again when a front matter changes', () => {
    const content = join(dir, 'content');
    cpSync(join(PROJECT_ROOT, 'tests/fixtures/cours-hugo/content'), content, { recursive: true });
    const options = { contentDir: content, basePath: '/linux-pratique/', buildDrafts: false };
    const page = join(content, '01-fichiers', 'droits.md');
    const text = readFileSync(page, 'utf8');
    const before = siteIndex(options);
    writeFileSync(page, text.replace('appartient à un utilisateur', 'appartient à une utilisatrice'));
    expect(siteIndex(options)).toBe(before);
    writeFileSync(page, text.replace(/^title: .*$/m, 'title: "Droits, version 2"'));
    const after = siteIndex(options);
    expect(after).not.toBe(before);
    expect(after.byPath('01-fichiers/droits.md')?.title).toBe('Droits, version 2');
  });
});

describe('highlighting of a transcript', () => {
  it('is computed once for the same commands', () => {
    const commands = ['ls -l /tmp', 'chmod 640 fichier'];
    const first = highlightCommandsSync(commands);
    expect(highlightCommandsSync([...commands])).toBe(first);
    expect(highlightCommandsSync(['ls -l /var'])).not.toBe(first);
  });
});

describe('KaTeX', () => {
  it('is loaded only by a page with a formula, not by every build and dev start', () => {
    // A fresh Node that records every module it loads: the Markdown side of the site, then one formula.
    const script = `
      import { registerHooks } from 'node:module';
      let katex = false;
      registerHooks({ load(url, context, next) { if (url.includes('/node_modules/katex/')) katex = true; return next(url, context); } });
      const { diagramHtml } = await import(${JSON.stringify(join(PROJECT_ROOT, 'src/lib/hugo/markdown-plugin.ts'))}).then(() => import(${JSON.stringify(join(PROJECT_ROOT, 'src/lib/hugo/diagrams.ts'))}));
      const before = katex;
      const html = diagramHtml('math', 'a^2', '/', (reason) => { throw new Error(reason); });
      console.log(JSON.stringify({ before, after: katex, mathml: html.includes('<math') }));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ before: false, after: true, mathml: true });
  });
});
