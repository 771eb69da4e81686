// `npm run dev` as an author uses it: the dev server serves a Hugo course
// (COURSE_SITE_DIR, a copy of the fixture course), the page open in Chromium
// follows the edits of its Markdown file without a reload by hand, a broken
// shortcode shows its error in the page, and the page recovers after the fix.
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LaunchedBrowser, launchBrowser } from '../support/browser.ts';
import { holdBuildLock, makeTempDir, PROJECT_ROOT, removeTempDir } from '../support/site.ts';

const ASTRO_BIN = join(PROJECT_ROOT, 'node_modules', 'astro', 'bin', 'astro.mjs');
const PAGE = '/linux-pratique/01-fichiers/droits/';

let workDir: string;
let dev: ChildProcess | undefined;
let devOutput = '';
let browser: LaunchedBrowser | undefined;
let baseUrl: string;
let releaseBuildLock: (() => void) | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

// The dev server writes the project's .astro/ folder as a build does: no build of another test file meanwhile.
// A hook of its own: waiting for another file's build is not part of the dev server's start.
beforeAll(async () => {
  releaseBuildLock = await holdBuildLock();
});

beforeAll(async () => {
  workDir = await makeTempDir('course-dev');
  cpSync(join(PROJECT_ROOT, 'tests/fixtures/cours-hugo'), join(workDir, 'site'), { recursive: true });
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  // As an author's shell has it: without the variables vitest sets (NODE_ENV=test, VITEST*), which change how Vite serves.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_ENV' && !name.startsWith('VITEST')));
  dev = spawn(process.execPath, [ASTRO_BIN, 'dev', '--host', '127.0.0.1', '--port', String(port)], {
    cwd: PROJECT_ROOT,
    env: { ...env, COURSE_SITE_DIR: join(workDir, 'site'), FORCE_COLOR: '0', NO_COLOR: '1', ASTRO_TELEMETRY_DISABLED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  dev.stdout!.on('data', (c: Buffer) => (devOutput += c.toString()));
  dev.stderr!.on('data', (c: Buffer) => (devOutput += c.toString()));
  await new Promise<void>((ready, failed) => {
    // A safety net, not a speed check (two test files run at once on a host that may be loaded).
    const timer = setTimeout(() => failed(new Error(`the dev server did not start in 120 s:\n${devOutput}`)), 120_000);
    const check = () => {
      if (/ready in/.test(devOutput)) {
        clearTimeout(timer);
        ready();
      } else if (dev!.exitCode !== null) {
        clearTimeout(timer);
        failed(new Error(`the dev server stopped:\n${devOutput}`));
      } else setTimeout(check, 250);
    };
    check();
  });
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  // The dev server and the processes it started (its own group).
  if (dev?.pid && dev.exitCode === null) {
    process.kill(-dev.pid, 'SIGTERM');
    await new Promise((done) => dev!.once('exit', done));
  }
  releaseBuildLock?.();
  removeTempDir(workDir);
});

function edit(from: string, to: string): void {
  const file = join(workDir, 'site', 'content', '01-fichiers', 'droits.md');
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
}

describe('npm run dev on a Hugo course', () => {
  it('the open page follows an edit, shows a broken shortcode and recovers after the fix', async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(baseUrl + PAGE);
    const article = page.locator('article');
    // The first visit may reload once (Vite optimising dependencies): read the text again until it is there.
    const text = () => article.innerText({ timeout: 2_000 }).catch(() => '');
    await expect
      .poll(text, { timeout: 60_000 })
      .toContain('appartient à un utilisateur')
      .catch(async (error: unknown) => {
        throw new Error(`${String(error)}\npage:\n${(await page.content()).slice(0, 3000)}\ndev server:\n${devOutput}`);
      });

    edit('appartient à un utilisateur', 'appartient à une utilisatrice');
    await expect.poll(() => text(), { timeout: 30_000 }).toContain('appartient à une utilisatrice');

    edit('séries de droits', 'séries de droits {{% notice danger %}}');
    // Astro's error overlay (a custom element) names the file and the line.
    const overlay = page.locator('vite-error-overlay');
    await expect.poll(() => overlay.evaluate((el) => el.shadowRoot?.textContent ?? '').catch(() => ''), { timeout: 30_000 }).toContain('droits.md');
    expect(devOutput).toContain('droits.md');

    edit('séries de droits {{% notice danger %}}', 'séries de droits');
    await expect.poll(() => overlay.count(), { timeout: 30_000 }).toBe(0);
    await expect.poll(() => text(), { timeout: 30_000 }).toContain('appartient à une utilisatrice');
  }, 180_000);
});
