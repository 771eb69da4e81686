// The lesson page without a working sandbox server: hosted statically, or
// served by a sandbox server that then stops. The page still reads, Copier
// still copies, and Exécuter says what is missing and how to start it. Also:
// until the page has loaded it ships no xterm code; it fetches it once the
// browser is idle (before any click), so that the first click finds it there.
import { describe, expect, it } from 'vitest';
import type { Page } from '../support/browser.ts';
import { staticSiteInChromium } from '../support/e2e-fixtures.ts';
import { LESSON_PATH, deletePageMachine, runSnippet, screenshot, snippets, startCourse, terminalText, waitForConnected } from '../support/terminal-page.ts';

/** Strings found only in xterm.js's own code (its CSS class names and API). */
const XTERM_CODE = /xterm-helper-textarea|registerOscHandler/;

const web = staticSiteInChromium();

interface Script {
  url: string;
  /** It came before the page's load event. */
  atLoad: boolean;
  text: Promise<string>;
}

/** Every JavaScript response the page gets, in order, each marked with whether the page had loaded yet. */
function collectScripts(page: Page): { scripts: Script[]; loaded(): void; xtermAmong(scripts: Script[]): Promise<boolean> } {
  const scripts: Script[] = [];
  let loaded = false;
  page.on('response', (response) => {
    const type = response.headers()['content-type'] ?? '';
    if (response.request().resourceType() === 'script' || type.includes('javascript')) {
      scripts.push({ url: response.url(), atLoad: !loaded, text: response.text().catch(() => '') });
    }
  });
  return {
    scripts,
    loaded: () => {
      loaded = true;
    },
    xtermAmong: async (some) => (await Promise.all(some.map((script) => script.text))).some((text) => XTERM_CODE.test(text)),
  };
}

describe('the lesson hosted statically (no sandbox server)', () => {
  it('reads without terminals, copies with Copier, and on Exécuter explains how to start the server and offers a browser machine', async () => {
    await web.browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(web.site.url).origin });
    const page = await web.browser.newPage({ viewport: { width: 1280, height: 900 } });
    const seen = collectScripts(page);
    await page.goto(web.site.url + LESSON_PATH, { waitUntil: 'load' });
    seen.loaded();
    const atLoad = seen.scripts.filter((script) => script.atLoad);
    expect(atLoad.length).toBeGreaterThan(0);
    expect(await seen.xtermAmong(atLoad)).toBe(false);
    // Idle, and no click yet: the terminal code comes ahead of the first Exécuter.
    await expect.poll(() => seen.xtermAmong(seen.scripts.filter((script) => !script.atLoad)), { timeout: 20_000 }).toBe(true);

    const uts = snippets(page).nth(1);
    await uts.getByRole('button', { name: 'Copier', exact: true }).click();
    await expect
      .poll(() => page.evaluate(() => navigator.clipboard.readText()))
      .toBe('hostname\nsudo unshare --uts /bin/bash\nhostname my.name.is.bob\nhostname');

    // The built site ships a browser machine (run-browser-machine.test.ts runs it): offered, not started.
    const outcome = await runSnippet(page, uts, 'offer');
    expect(outcome.status).toMatch(/Aucun serveur de machines ne répond/);
    expect(outcome.status).toContain('bash scripts/start.sh');
    await expect(uts.locator('[data-run-status] code').innerText()).resolves.toBe('bash scripts/start.sh');
    await expect(uts.getByRole('button', { name: /^Démarrer une machine dans votre navigateur/ }).count()).resolves.toBe(1);
    // No terminal area opened for nothing.
    await expect(page.locator('.terminal-dock:not([hidden])').count()).resolves.toBe(0);
    await screenshot(page, 'run-no-server-static');
    await page.close();
  });
});

describe('the lesson served by the sandbox server', () => {
  it('ships no xterm code until the page has loaded, builds terminal 1 unseen when idle, and runs Exécuter with it', async () => {
    const course = await startCourse();
    const page = await web.browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      const seen = collectScripts(page);
      const api: string[] = [];
      page.on('request', (request) => {
        if (new URL(request.url()).pathname.startsWith('/api/')) api.push(request.url());
      });
      await page.goto(course.lessonUrl, { waitUntil: 'load' });
      seen.loaded();
      const atLoad = seen.scripts.filter((script) => script.atLoad);
      expect(atLoad.length).toBeGreaterThan(0);
      expect(await seen.xtermAmong(atLoad)).toBe(false);
      // The buttons' code comes with the layout's one script: no entry script of their components' own.
      expect(atLoad.map((script) => script.url).filter((url) => /(Transcript|RunControls|TerminalOpenButton)\.astro/.test(url))).toEqual([]);
      const before = await page.evaluate(() => ({ padding: getComputedStyle(document.body).paddingBottom, height: document.documentElement.scrollHeight }));
      await expect.poll(() => seen.xtermAmong(seen.scripts.filter((script) => !script.atLoad)), { timeout: 20_000 }).toBe(true);
      // Idle: terminal 1 is built ahead (xterm has drawn it), in the terminal area still hidden and unseen; nothing asked of the server.
      const prepared = page.locator('.terminal-dock[hidden] lesson-terminal[name="1"][data-prepared]');
      await prepared.locator('.xterm-rows').waitFor({ state: 'attached', timeout: 20_000 });
      await expect(prepared.evaluate((element) => getComputedStyle(element).visibility)).resolves.toBe('hidden');
      await expect(
        page.evaluate(() => ({ padding: getComputedStyle(document.body).paddingBottom, height: document.documentElement.scrollHeight })),
      ).resolves.toEqual(before);
      expect(api).toEqual([]);
      await prepared.evaluate((element) => element.setAttribute('data-built-ahead', ''));
      const fetched = seen.scripts.length;
      await runSnippet(page, snippets(page).nth(1));
      // The click found the code there: it downloaded no more xterm.
      expect(await seen.xtermAmong(seen.scripts.slice(fetched))).toBe(false);
      // …and the terminal built ahead, now shown, holds the run (no glyphs left from being built ahead).
      const one = page.locator('.terminal-dock:not([hidden]) lesson-terminal[name="1"]:not([data-prepared])');
      await expect(one.getAttribute('data-built-ahead')).resolves.toBe('');
      await expect(one.evaluate((element) => getComputedStyle(element).visibility)).resolves.toBe('visible');
      expect(await terminalText(page, '1')).not.toContain('!"#$%');
      // Nothing failed: the French error catalogue (its own chunk, loaded with a first error) never came either.
      expect((await Promise.all(seen.scripts.map((script) => script.text))).some((text) => text.includes('message illisible'))).toBe(false);
      // A desktop pointer: the row of keys phones lack (and its code) never came.
      expect((await Promise.all(seen.scripts.map((script) => script.text))).some((text) => text.includes('Touches du terminal'))).toBe(false);
      await expect(one.locator('.lt-keys').count()).resolves.toBe(0);
      // The lesson's end stays readable above the area: the page gained its height as bottom padding.
      await expect
        .poll(() => page.evaluate(() => Number.parseFloat(getComputedStyle(document.body).paddingBottom)), { timeout: 5_000 })
        .toBeGreaterThan(Number.parseFloat(before.padding) + 100);
    } finally {
      await deletePageMachine(page, course.server).catch(() => undefined);
      await page.close();
      await course.server.stop();
    }
  });

  it('explains itself when the server stops after the terminal was opened', async () => {
    const course = await startCourse();
    const page = await web.browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await page.goto(course.lessonUrl);
      const uts = snippets(page).nth(1);
      await runSnippet(page, uts);
      await waitForConnected(page, '1');
      // Stopping the server destroys its machines too.
      await course.server.stop();

      // The terminal notices, then Exécuter says what is missing and what to do.
      await page.locator('lesson-terminal[name="1"]:not([data-state="connected"])').waitFor({ timeout: 60_000 });
      const outcome = await runSnippet(page, uts, 'error');
      expect(outcome.status).toMatch(/ne répond|arrêtée/);
      expect(outcome.status).toContain('bash scripts/start.sh');
      await screenshot(page, 'run-no-server-stopped');
    } finally {
      await page.close();
      await course.server.stop();
    }
  });
});
