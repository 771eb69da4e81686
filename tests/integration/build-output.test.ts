// What an author reads at the end of a build of their course: no bundler noise
// (only warnings about their own files), one summary line, and every content
// problem of the course in one failed build, each with its file and line.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSite, makeTempDir, PROJECT_ROOT, removeTempDir } from '../support/site.ts';

const FIXTURE = join(PROJECT_ROOT, 'tests/fixtures/cours-hugo');
let workDir: string;

beforeAll(async () => {
  workDir = await makeTempDir('course-build-output');
});
afterAll(() => removeTempDir(workDir));

/** Replaces `from` by `to` in a file, failing loudly when `from` is not there (the fixture changed). */
function edit(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  expect(text, `${file} should contain ${from}`).toContain(from);
  writeFileSync(file, text.replace(from, to));
}

describe('the build output of the fixture course', () => {
  it('has no warning but the one about its render hook, and one summary line with the counts', async () => {
    const result = await buildSite({ outDir: join(workDir, 'dist'), env: { COURSE_SITE_DIR: FIXTURE } });
    expect(result.ok, result.output).toBe(true);
    const warnings = result.output.split('\n').filter((line) => /\[WARN\]|warning/i.test(line));
    // The only warning is about the author's own file (a render hook we do not run).
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('layouts/_default/_markup/render-link.html');
    expect(result.output).not.toContain('MODULE_LEVEL_DIRECTIVE');
    const summaries = result.output.split('\n').filter((line) => line.includes('[course-summary]'));
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatch(/9 pages \(3 sections\), 9 runnable blocks, 2 copy-only blocks, 0 drafts skipped in \d+\.\d s$/);
  });

  it('reports three independent mistakes in three pages in one build, each with file:line and fix', async () => {
    const site = join(workDir, 'cours-casse');
    cpSync(FIXTURE, site, { recursive: true });
    const content = join(site, 'content');
    edit(join(content, '01-fichiers/droits.md'), 'weight: 2\n', 'weight: deux\n');
    edit(join(content, '02-processus/observer.md'), '```bash\n(node1) $ ps', '```bash {terminal=zero}\n(node1) $ ps');
    edit(join(content, '03-texte/filtres.md'), '\n## ', '\nVoir {{< ref "nulle-part.md" >}}.\n\n## ');
    const refLine =
      readFileSync(join(content, '03-texte/filtres.md'), 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('nulle-part.md')) + 1;
    const fenceLine =
      readFileSync(join(content, '02-processus/observer.md'), 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('terminal=zero')) + 1;

    const result = await buildSite({ outDir: join(workDir, 'dist-casse'), env: { COURSE_SITE_DIR: site } });
    expect(result.ok).toBe(false);
    expect(result.output).toContain('3 content problem(s)');
    expect(result.output).toContain(`${content}/01-fichiers/droits.md:3: weight must be a whole number, got "deux". Fix: write weight: 3`);
    expect(result.output).toContain(`${content}/02-processus/observer.md:${fenceLine}: terminal=zero: a terminal is named by a number from 1 to 99. Fix:`);
    expect(result.output).toContain(
      `${content}/03-texte/filtres.md:${refLine}: {{< ref "nulle-part.md" >}}: no page "nulle-part.md" in the site (REF_NOT_FOUND). Fix:`,
    );
  });
});
