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

/**
 * A lesson page whose terminal sockets reach the server only once `release()`
 * is called; snippet `index`'s Exécuter clicked, and terminal 1 showing the
 * POST's prompt while its socket still waits (connecting).
 */
async function clickWithSocketHeld(index: number): Promise<{ page: Page; figure: ReturnType<typeof snippets>; shown: string; release(): void }> {
  await poolHoldsOne();
  const opened = await web.browser.newPage({ viewport: { width: 1280, height: 900 } });
  page = opened;
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  await opened.routeWebSocket(/\/terminals\//, async (socket) => {
    await released;
    socket.connectToServer();
  });
  await opened.goto(web.course.lessonUrl);
  const figure = snippets(opened).nth(index);
  await figure.getByRole('button', { name: 'Exécuter', exact: true }).click();
  const shown = await waitForTerminalText(opened, '1', /student@[\w-]+:~\$\s*$/m, 30_000);
  // No socket frame came yet: the prompt is the POST's.
  await expect(terminal(opened, '1').getAttribute('data-state')).resolves.toBe('connecting');
  return { page: opened, figure, shown, release };
}

it("shows the pooled shell's prompt before its socket is attached, then runs the snippet in it", async () => {
  const { page, figure: uts, shown, release } = await clickWithSocketHeld(1);
  expect(shown.trim().split('\n')).toHaveLength(1);

  release();
  await uts
    .locator('[data-run-controls][data-run-state="done"]')
    .waitFor({ timeout: 90_000 })
    .catch(async (error: unknown) => {
      throw new Error(`the run did not end: ${await terminalText(page, '1')}`, { cause: error });
    });
  const text = await terminalText(page, '1');
  expect(text).toContain('my.name.is.bob');
  // The shell shown ahead is the one the snippet ran in: its first line is that prompt, then the first command.
  expect(text.trimStart()).toMatch(/^student@[\w-]+:~\$ hostname\n/);
});

it('keeps what the reader types at that prompt before the socket is there, and sends it once it is', async () => {
  const { page, figure, release } = await clickWithSocketHeld(0);
  await terminal(page, '1').locator('.xterm-screen').click();
  await page.keyboard.type('echo tot$((6*7))');
  await page.keyboard.press('Enter');

  release();
  // The shell ran the line typed early: its output is there, computed by bash (not anchored to a row: the
  // snippet's run starts typing at once, and the tty may echo its line before bash's output).
  await waitForTerminalText(page, '1', /tot42/, 60_000);
  await figure.locator('[data-run-controls]:is([data-run-state="done"], [data-run-state="stopped"], [data-run-state="error"])').waitFor({ timeout: 90_000 });
});
