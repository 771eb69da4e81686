// A machine from the warm pool comes with its shell started: the answer of
// POST api/sandboxes carries terminal 1's prompt, and the page shows it at
// once, before the terminal's socket is even attached (here held back by the
// test), then types the snippet into that shell once the socket is there;
// what the reader types at that prompt meanwhile reaches the shell too.
import { afterEach, expect, it } from 'vitest';
import type { Page } from '../support/browser.ts';
import { courseInChromium } from '../support/e2e-fixtures.ts';
import { snippets, terminal, terminalText, waitForTerminalText } from '../support/terminal-page.ts';

const web = courseInChromium({ WARM_POOL_SIZE: '1' });
let page: Page | undefined;

afterEach(async () => {
  await web.deleteMachineOf(page);
  await page?.close();
  page = undefined;
});

async function poolHoldsOne(): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const health = (await (await fetch(new URL('healthz', web.course.server.url))).json()) as { sandboxes?: { pool?: number } };
    if ((health.sandboxes?.pool ?? 0) >= 1) return;
    if (Date.now() > deadline) throw new Error('the warm pool made no machine within 120 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

it("shows the pooled shell's prompt before its socket is attached, then runs the snippet in it", async () => {
  await poolHoldsOne();
  page = await web.browser.newPage({ viewport: { width: 1280, height: 900 } });
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  // The terminal's socket reaches the server only when the test says so.
  await page.routeWebSocket(/\/terminals\//, async (socket) => {
    await released;
    socket.connectToServer();
  });
  await page.goto(web.course.lessonUrl);
  const uts = snippets(page).nth(1);
  await uts.getByRole('button', { name: 'Exécuter', exact: true }).click();

  const shown = await waitForTerminalText(page, '1', /student@[\w-]+:~\$\s*$/m, 30_000);
  // No socket frame came yet: the prompt is the POST's.
  await expect(terminal(page, '1').getAttribute('data-state')).resolves.toBe('connecting');
  expect(shown.trim().split('\n')).toHaveLength(1);

  release();
  await uts
    .locator('[data-run-controls][data-run-state="done"]')
    .waitFor({ timeout: 90_000 })
    .catch(async (error: unknown) => {
      throw new Error(`the run did not end: ${await terminalText(page!, '1')}`, { cause: error });
    });
  const text = await terminalText(page, '1');
  expect(text).toContain('my.name.is.bob');
  // The shell shown ahead is the one the snippet ran in: its first line is that prompt, then the first command.
  expect(text.trimStart()).toMatch(/^student@[\w-]+:~\$ hostname\n/);
});

it('keeps what the reader types at that prompt before the socket is there, and sends it once it is', async () => {
  await poolHoldsOne();
  page = await web.browser.newPage({ viewport: { width: 1280, height: 900 } });
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  await page.routeWebSocket(/\/terminals\//, async (socket) => {
    await released;
    socket.connectToServer();
  });
  await page.goto(web.course.lessonUrl);
  const figure = snippets(page).nth(0);
  await figure.getByRole('button', { name: 'Exécuter', exact: true }).click();
  await waitForTerminalText(page, '1', /student@[\w-]+:~\$\s*$/m, 30_000);
  await expect(terminal(page, '1').getAttribute('data-state')).resolves.toBe('connecting');
  await terminal(page, '1').locator('.xterm-screen').click();
  await page.keyboard.type('echo tot$((6*7))');
  await page.keyboard.press('Enter');

  release();
  // The shell ran the line typed early: its output is there, computed by bash.
  await waitForTerminalText(page, '1', /^tot42$/m, 60_000);
  await figure.locator('[data-run-controls]:is([data-run-state="done"], [data-run-state="stopped"], [data-run-state="error"])').waitFor({ timeout: 90_000 });
});
