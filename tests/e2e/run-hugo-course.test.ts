// The fixture Hugo course (tests/fixtures/cours-hugo), built as it is with
// COURSE_SITE_DIR under the base path of its baseURL, served by the real
// sandbox server, read in real Chromium: every fenced shell block that has
// « Exécuter » is clicked in reading order and the terminal must show what the
// page says it prints; copy-only blocks have no « Exécuter » and « Copier »
// copies commands without prompts; no page scrolls sideways on a phone.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type LaunchedBrowser, type Page } from '../support/browser.ts';
import { startServer, type RunningServer } from '../support/server.ts';
import { buildSite, makeTempDir, PROJECT_ROOT, removeTempDir } from '../support/site.ts';
import { deletePageMachine, runSnippet, screenshot, snippets, terminalText } from '../support/terminal-page.ts';

const COURSE = path.join(PROJECT_ROOT, 'tests/fixtures/cours-hugo');
const BASE = '/linux-pratique/';
/** The course's pages with shell blocks, in reading order. */
const PAGES = ['01-fichiers/arborescence/', '01-fichiers/droits/', '02-processus/observer/', '02-processus/isoler/', '03-texte/filtres/'];

let work: string | undefined;
let server: RunningServer | undefined;
let browser: LaunchedBrowser | undefined;
let page: Page | undefined;

beforeAll(async () => {
  work = await makeTempDir('hugo-course-e2e');
  const outDir = path.join(work, 'site');
  const built = await buildSite({ outDir, env: { COURSE_SITE_DIR: COURSE } });
  if (!built.ok) throw new Error(`the fixture course does not build:\n${built.output}`);
  server = await startServer({ env: { SITE_DIR: outDir, BASE_PATH: BASE, MAX_SANDBOXES_PER_CLIENT: '20' } });
  browser = await launchBrowser({ permissions: ['clipboard-read', 'clipboard-write'] });
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
});

afterAll(async () => {
  if (server) await deletePageMachine(page, server).catch(() => undefined);
  await browser?.close();
  await server?.stop();
  removeTempDir(work);
});

const open = async (p: string) => {
  const response = await page!.goto(new URL(p, server!.url).href);
  expect(response?.status(), p).toBe(200);
};

describe('running a Hugo course brought as it is', () => {
  it('is served under the base path of its baseURL, titled from config.toml', async () => {
    expect(server!.url.endsWith(BASE)).toBe(true);
    await open('');
    await expect(page!.locator('.site-title').innerText()).resolves.toBe('Linux pratique');
    await expect(page!.getByRole('link', { name: /Dépôt du cours/ }).count()).resolves.toBe(1);
  });

  for (const p of PAGES) {
    it(`runs every runnable block of ${p} and shows what the page says`, async () => {
      await open(p);
      const figures = snippets(page!);
      const count = await figures.count();
      expect(count).toBeGreaterThan(0);
      let ran = 0;
      for (let i = 0; i < count; i++) {
        const figure = figures.nth(i);
        const copyOnly = await figure.getAttribute('data-copy-only');
        const run = figure.getByRole('button', { name: 'Exécuter', exact: true });
        if (copyOnly !== null) {
          await expect(run.count(), `block ${i} of ${p} is copy-only (${copyOnly})`).resolves.toBe(0);
          continue;
        }
        const terminalName = (await figure.getAttribute('data-terminal')) ?? '1';
        await runSnippet(page!, figure);
        ran++;
        const outputs = (await figure.locator('.tl-output').allInnerTexts()).map((t) => t.trimEnd()).filter((t) => t.trim() !== '');
        const shown = await terminalText(page!, terminalName);
        for (const line of outputs) expect(shown, `terminal ${terminalName} after block ${i} of ${p}`).toContain(line);
      }
      expect(ran).toBeGreaterThan(0);
      await screenshot(page!, `run-hugo-course-${p.replace(/\W+/g, '-')}`);
    });
  }

  it('« Copier » copies the commands without prompts or outputs', async () => {
    await open('03-texte/filtres/');
    const figure = snippets(page!).first();
    await figure.getByRole('button', { name: 'Copier', exact: true }).click();
    const copied = await page!.evaluate(() => navigator.clipboard.readText());
    expect(copied.split('\n')[0]).toBe("printf 'rouge\\nvert\\nrouge\\nbleu\\n' > couleurs.txt");
    expect(copied).not.toMatch(/student@|^\s+2 rouge/m);
  });

  it('draws the Mermaid diagram, fetching Mermaid only on the page that has one', async () => {
    const fresh = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      const requested: string[] = [];
      fresh.on('request', (request) => requested.push(new URL(request.url()).pathname));
      await fresh.goto(new URL('03-texte/filtres/', server!.url).href);
      await fresh.waitForLoadState('networkidle');
      expect(requested.filter((p) => p.includes('mermaid'))).toEqual([]);
      await fresh.goto(new URL('02-processus/observer/', server!.url).href);
      await fresh.locator('pre.mermaid svg').waitFor({ timeout: 30_000 });
      expect(requested).toContain(`${BASE}_course/mermaid.min.js`);
      await expect(fresh.locator('pre.mermaid svg').innerHTML()).resolves.toContain('votre shell');
      // A diagram is a picture: no « Copier » on it.
      await expect(fresh.locator('.code-block:has(pre.mermaid) .copy-button').count()).resolves.toBe(0);
    } finally {
      await fresh.close();
    }
  });

  it('never scrolls sideways on a 360 px phone, images included', async () => {
    const phone = await browser!.newPage({ viewport: { width: 360, height: 800 } });
    try {
      for (const p of ['', ...PAGES]) {
        await phone.goto(new URL(p, server!.url).href);
        const widths = await phone.evaluate(() => ({ scroll: document.documentElement.scrollWidth, view: innerWidth }));
        expect(widths.scroll, `${p} at 360 px`).toBeLessThanOrEqual(widths.view);
      }
      await phone.goto(new URL('01-fichiers/arborescence/', server!.url).href);
      const image = phone.locator('article img').first();
      const box = await image.boundingBox();
      expect(box!.width).toBeLessThanOrEqual(360);
      await expect(image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).resolves.toBe(true);
    } finally {
      await phone.close();
    }
  });
});
