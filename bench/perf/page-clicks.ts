// What the Chromium benchmarks (perf, click) and the click probe share: a
// click on the UTS snippet's « Exécuter » timed in the page's own clock until
// terminal 1 shows what the reader waits for, and the warm pool's refill.
import type { Page } from 'playwright-core';
import type { RunningServer } from '../../tests/support/server.ts';
import { snippets } from '../../tests/support/terminal-page.ts';

/**
 * What ends the measure: `prompt`, a row of terminal 1 ending with the
 * shell's `$` or `#` (xterm's DOM renderer drops the blank after it, so a
 * row reads « student@tp-docker:~$ » until something is typed); `output`,
 * any text at all.
 */
export type Awaited = 'prompt' | 'output';

/**
 * Clicks the UTS snippet's Exécuter; resolves with the ms from the click until
 * terminal 1 shows `what`. The page itself looks, once per frame from the
 * click on (armed before it, in the click's capture phase), so the figure
 * never includes the benchmark's own round trips to the browser.
 */
export async function clickAndTime(page: Page, what: Awaited): Promise<number> {
  const button = snippets(page).nth(1).getByRole('button', { name: 'Exécuter', exact: true });
  await button.evaluate((element, what) => {
    const w = window as unknown as { clickedAt: number; shownAfter: Promise<number> };
    w.shownAfter = new Promise<number>((resolve, reject) => {
      element.addEventListener(
        'click',
        () => {
          const started = performance.now();
          w.clickedAt = started;
          const shown = () => {
            // Shown: the terminal area open and terminal 1 in it (not one built ahead, unseen).
            const rows = [...document.querySelectorAll('.terminal-dock:not([hidden]) lesson-terminal[name="1"]:not([data-prepared]) .xterm-rows > div')].map(
              (row) => row.textContent ?? '',
            );
            return what === 'prompt' ? rows.some((row) => /[$#][\s\u00a0]*$/.test(row)) : rows.some((row) => row.trim() !== '');
          };
          const look = () => {
            if (shown()) resolve(performance.now() - started);
            else if (performance.now() > started + 120_000) reject(new Error(`no ${what} within 120 s`));
            else requestAnimationFrame(look);
          };
          look();
        },
        { capture: true, once: true },
      );
    });
  }, what);
  await button.click();
  return page.evaluate(() => (window as unknown as { shownAfter: Promise<number> }).shownAfter);
}

/** Waits until the warm pool holds `size` machines (healthz), then a moment for their shells. */
export async function waitForPool(server: RunningServer, size: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const health = (await (await fetch(new URL('healthz', server.url))).json()) as { sandboxes?: { pool?: number } };
    if ((health.sandboxes?.pool ?? 0) >= size) break;
    if (Date.now() > deadline) throw new Error(`the warm pool did not reach ${size} sandboxes in 120 s`);
    await new Promise((done) => setTimeout(done, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
}
