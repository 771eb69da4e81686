// `npm run dev` as an author uses it: the dev server serves a Hugo course
// (COURSE_SITE_DIR, a copy of the fixture course), the page open in Chromium
// follows the edits of its Markdown file without a reload by hand, a broken
// shortcode shows its error in the page, and the page recovers after the fix;
// edits of a section's _index.md, of a file in static/ and of the site
// configuration reach the open page too, the last one even when it is saved
// twice, the second time while the server restarts for the first, and even for
// a page whose live-reload socket is dead. « Exécuter » in the preview says in
// French that no sandbox server answers, then runs for real once one is started
// alongside (the dev server forwards the page's API to it).
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LaunchedBrowser, launchBrowser, type Page } from '../support/browser.ts';
import { startServer, type RunningServer } from '../support/server.ts';
import { holdBuildLock, makeTempDir, PROJECT_ROOT, removeTempDir } from '../support/site.ts';
import { deletePageMachine, runSnippet, snippets, terminalText } from '../support/terminal-page.ts';

const ASTRO_BIN = join(PROJECT_ROOT, 'node_modules', 'astro', 'bin', 'astro.mjs');
const PAGE = '/linux-pratique/01-fichiers/droits/';

let workDir: string;
let dev: ChildProcess | undefined;
let devOutput = '';
let browser: LaunchedBrowser | undefined;
let baseUrl: string;
let releaseBuildLock: (() => void) | undefined;
/** Where the dev server forwards « Exécuter » (COURSE_DEV_SANDBOX_URL); the sandbox server starts there later. */
let sandboxPort: number;
let sandbox: RunningServer | undefined;
let runPage: Page | undefined;

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
  sandboxPort = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  // As an author's shell has it: without the variables vitest sets (NODE_ENV=test, VITEST*), which change how Vite serves.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_ENV' && !name.startsWith('VITEST')));
  dev = spawn(process.execPath, [ASTRO_BIN, 'dev', '--host', '127.0.0.1', '--port', String(port)], {
    cwd: PROJECT_ROOT,
    env: {
      ...env,
      COURSE_SITE_DIR: join(workDir, 'site'),
      COURSE_DEV_SANDBOX_URL: `http://127.0.0.1:${sandboxPort}`,
      FORCE_COLOR: '0',
      NO_COLOR: '1',
      ASTRO_TELEMETRY_DISABLED: '1',
    },
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
  if (sandbox) await deletePageMachine(runPage, sandbox).catch(() => undefined);
  await browser?.close();
  await sandbox?.stop();
  // The dev server and the processes it started (its own group).
  if (dev?.pid && dev.exitCode === null) {
    process.kill(-dev.pid, 'SIGTERM');
    await new Promise((done) => dev!.once('exit', done));
  }
  releaseBuildLock?.();
  removeTempDir(workDir);
});

/**
 * Whether the page's current document has its live-reload socket open: Vite's page client logs
 * « [vite] connected. » once its socket is open; a navigation starts a new document without one.
 */
function liveReloadState(page: Page): () => boolean {
  let connected = false;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) connected = false;
  });
  page.on('console', (message) => {
    if (message.text() === '[vite] connected.') connected = true;
  });
  return () => connected;
}

function edit(from: string, to: string, path = 'content/01-fichiers/droits.md'): void {
  const file = join(workDir, 'site', path);
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
}

describe('npm run dev on a Hugo course', () => {
  it('the open page follows an edit, shows a broken shortcode and recovers after the fix', async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    const liveReloadOpen = liveReloadState(page);
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

    // A file in static/: the open page is loaded again after the edit (its document starts after it: a reload
    // still pending from the fix above would start before), and the new file is served.
    const loadedAt = () => page.evaluate(() => performance.timeOrigin).catch(() => 0);
    // First the reload the fix may have asked for ends and the new document's live-reload socket opens
    // (a reload message sent while a page loads is lost for that page, by design of Vite's dev server).
    await page.waitForLoadState('load');
    await expect.poll(liveReloadOpen, { timeout: 30_000 }).toBe(true);
    const editedAt = Date.now();
    appendFileSync(join(workDir, 'site', 'static', 'images', 'droits.svg'), '\n<!-- édité -->\n');
    await expect.poll(loadedAt, { timeout: 30_000 }).toBeGreaterThan(editedAt);
    const svg = await page.evaluate(() => fetch('/linux-pratique/images/droits.svg', { cache: 'no-store' }).then((r) => r.text()));
    expect(svg).toContain('édité');

    // The section's _index.md: its page, open, follows the edit.
    // A reload the static edit asked for may still arrive and abort this navigation: once more then.
    await page.goto(`${baseUrl}/linux-pratique/01-fichiers/`).catch(async () => {
      await new Promise((done) => setTimeout(done, 500));
      await page.goto(`${baseUrl}/linux-pratique/01-fichiers/`);
    });
    await expect.poll(text, { timeout: 30_000 }).toContain('On commence par');
    edit('On commence par', 'Nous commençons par', 'content/01-fichiers/_index.md');
    await expect.poll(text, { timeout: 30_000 }).toContain('Nous commençons par');
  }, 300_000);

  it('« Exécuter » says no sandbox server answers, then runs against one started alongside', async () => {
    runPage = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await runPage.goto(baseUrl + PAGE);
    const runnable = snippets(runPage).and(runPage.locator(':not([data-copy-only])')).first();
    await runnable.waitFor({ timeout: 60_000 });

    // Nothing listens where the dev server forwards: the page says so in French, with the command to start it.
    const missing = await runSnippet(runPage, runnable, 'error').catch(async (error: unknown) => {
      if (String(error).includes('"offer"')) return { state: 'offer', status: String(error) };
      throw error;
    });
    expect(missing.status).toContain(`Aucun serveur de machines ne répond à http://127.0.0.1:${sandboxPort}/`);
    expect(missing.status).toContain(`PORT=${sandboxPort} npm run server`);
    expect(devOutput).toContain(`no sandbox server answers at http://127.0.0.1:${sandboxPort}/`);

    // The author starts one where the dev server forwards; the same button now runs the block for real.
    sandbox = await startServer({ env: { PORT: String(sandboxPort), MAX_SANDBOXES_PER_CLIENT: '20' } });
    await runSnippet(runPage, runnable);
    const outputs = (await runnable.locator('.tl-output').allInnerTexts()).map((t) => t.trimEnd()).filter((t) => t.trim() !== '');
    const shown = await terminalText(runPage, (await runnable.getAttribute('data-terminal')) ?? '1');
    for (const line of outputs) expect(shown).toContain(line);
  }, 240_000);

  it('restarts on a configuration edit saved twice, and every open page follows it and a later page edit, even one whose live reload is dead', async () => {
    const newPage = async (name: string) => {
      const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
      // What the page went through, for the failure message.
      const stamp = () => new Date().toISOString().slice(11, 23);
      page.on('framenavigated', (frame) => {
        if (frame === page.mainFrame()) history.push(`${stamp()} ${name} loads ${frame.url()}`);
      });
      page.on('requestfailed', (request) => history.push(`${stamp()} ${name}: ${request.url()} ${request.failure()?.errorText}`));
      const view = {
        page,
        liveReloadOpen: liveReloadState(page),
        text: () =>
          page
            .locator('article')
            .innerText({ timeout: 2_000 })
            .catch(() => ''),
        title: () =>
          page
            .locator('.site-title')
            .innerText({ timeout: 2_000 })
            .catch(() => ''),
      };
      return view;
    };
    const history: string[] = [];
    const open = await newPage('open page');
    // A page whose live-reload socket opens and then never carries anything (as one that failed to open it while
    // the server restarted, when Vite's page client gives up): only the page's generation check can reload it.
    const deaf = await newPage('deaf page');
    await deaf.page.routeWebSocket(
      (url) => url.searchParams.has('token'),
      () => undefined,
    );
    for (const view of [open, deaf]) {
      await view.page.goto(`${baseUrl}/linux-pratique/01-fichiers/`);
      await expect.poll(view.text, { timeout: 30_000 }).toContain('presque tout est un fichier');
      await expect.poll(view.title, { timeout: 10_000 }).toBe('Linux pratique');
    }

    // Saved twice: first emptied (as an editor truncates before it writes), and the server restarts on that;
    // then, while it restarts, written with a new title. Astro ignores a change during its restart: the
    // server kept the empty configuration (base path "/", every page of the course a 404) until the next edit.
    const config = join(workDir, 'site', 'config.toml');
    const text = readFileSync(config, 'utf8');
    expect(text).toContain('title = "Linux pratique"');
    const readsBefore = devOutput.split('[course-hugo-site] Hugo site').length;
    writeFileSync(config, '');
    await expect
      .poll(() => devOutput.split('[course-hugo-site] Hugo site').length, { timeout: 90_000 })
      .toBeGreaterThan(readsBefore)
      .catch((error: unknown) => {
        throw new Error(`${String(error)}\ndev server:\n${devOutput.slice(-4000)}`);
      });
    writeFileSync(config, text.replace('title = "Linux pratique"', 'title = "Linux pratique, édition 2"'));

    const served = () =>
      fetch(`${baseUrl}/linux-pratique/01-fichiers/`).then(
        async (r) => `${r.status} ${await r.text()}`,
        () => '',
      );
    await expect
      .poll(served, { timeout: 90_000 })
      .toMatch(/^200 [\s\S]*Linux pratique, édition 2/)
      .catch((error: unknown) => {
        throw new Error(`${String(error)}\ndev server:\n${devOutput.slice(-4000)}`);
      });
    // Both open pages load again by themselves.
    for (const view of [open, deaf]) {
      await expect
        .poll(view.title, { timeout: 30_000 })
        .toBe('Linux pratique, édition 2')
        .catch(async (error: unknown) => {
          const shown = await view.page.evaluate(() => ({
            generation: (globalThis as { __COURSE_DEV_GENERATION__?: string }).__COURSE_DEV_GENERATION__,
            html: document.documentElement.outerHTML.slice(0, 1500),
          }));
          throw new Error(`${String(error)}\n${history.join('\n')}\nnow ${view.page.url()}: ${JSON.stringify(shown)}\ndev server:\n${devOutput.slice(-3000)}`);
        });
      await expect.poll(view.text, { timeout: 30_000 }).toContain('presque tout est un fichier');
    }
    // After that restart, page edits still reach the open page (Astro's content layer kept the old watcher),
    // once its new document's live-reload socket is open (a reload message sent while a page loads is lost).
    await expect.poll(open.liveReloadOpen, { timeout: 30_000 }).toBe(true);
    edit('presque tout est un fichier', 'presque tout se présente comme un fichier', 'content/01-fichiers/_index.md');
    // And the page whose live reload is dead follows it too: it misses the reload message, not the edit.
    await expect
      .poll(async () => `${await open.text()}\n${await deaf.text()}`, { timeout: 30_000 })
      .toMatch(/presque tout se présente comme un fichier[\s\S]*presque tout se présente comme un fichier/)
      .catch((error: unknown) => {
        throw new Error(`${String(error)}\n${history.join('\n')}\ndev server:\n${devOutput.slice(-3000)}`);
      });
  }, 300_000);
});
