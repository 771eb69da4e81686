// The lesson page without a working sandbox server: hosted statically, or
// served by a sandbox server that then stops. The page still reads, Copier
// still copies, and Exécuter says what is missing and how to start it. Also:
// before any click the page ships no xterm code; the first click loads it.
import { describe, expect, it } from 'vitest';
import type { Page } from '../support/browser.ts';
import { staticSiteInChromium } from '../support/e2e-fixtures.ts';
import { LESSON_PATH, deletePageMachine, runSnippet, screenshot, snippets, startCourse, waitForConnected } from '../support/terminal-page.ts';

/** Strings found only in xterm.js's own code (its CSS class names and API). */
const XTERM_CODE = /xterm-helper-textarea|registerOscHandler/;

const web = staticSiteInChromium();

/** Every JavaScript body the page downloads, as it downloads them. */
function collectScripts(page: Page): string[] {
  const bodies: string[] = [];
  page.on('response', (response) => {
    const type = response.headers()['content-type'] ?? '';
    if (response.request().resourceType() === 'script' || type.includes('javascript')) {
      response.text().then(
        (text) => bodies.push(text),
        () => undefined,
      );
    }
  });
  return bodies;
}

describe('the lesson hosted statically (no sandbox server)', () => {
  it('reads without terminals, copies with Copier, and on Exécuter explains how to start the server and offers a browser machine', async () => {
    await web.browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(web.site.url).origin });
    const page = await web.browser.newPage({ viewport: { width: 1280, height: 900 } });
    const scripts = collectScripts(page);
    await page.goto(web.site.url + LESSON_PATH);
    await page.waitForLoadState('networkidle');
    expect(scripts.length).toBeGreaterThan(0);
    expect(scripts.filter((text) => XTERM_CODE.test(text))).toEqual([]);

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
  it('ships no xterm code before the first click, and loads it on Exécuter', async () => {
    const course = await startCourse();
    const page = await web.browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      const scripts = collectScripts(page);
      await page.goto(course.lessonUrl);
      await page.waitForLoadState('networkidle');
      const before = scripts.length;
      expect(before).toBeGreaterThan(0);
      expect(scripts.some((text) => XTERM_CODE.test(text))).toBe(false);
      await runSnippet(page, snippets(page).nth(1));
      await expect.poll(() => scripts.slice(before).some((text) => XTERM_CODE.test(text))).toBe(true);
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
