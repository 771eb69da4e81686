// The embedded terminal in real Chromium against the real server and
// sandboxes: it follows its box's size, survives a reload (same shell, recent
// output), « Réinitialiser la machine » gives a new machine in place, and a `yes` flood
// stays responsive to Ctrl-C (flow control) whether the reader presses it or
// Exécuter sends it. Plus copy/paste keys, the screen-reader mode, the keys
// row of touch screens, and reconnection after a network drop (a TCP relay
// between the browser and the server, whose connections the test cuts).
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { launchBrowser, type LaunchedBrowser, type Page } from '../support/browser.ts';
import { courseInChromium } from '../support/e2e-fixtures.ts';
import {
  commandOutput,
  rememberedMachine,
  runSnippet,
  screenshot,
  snippets,
  terminalText,
  LESSON_PATH,
  terminal,
  typeInTerminal,
  waitForConnected,
  waitForTerminalText,
} from '../support/terminal-page.ts';

const web = courseInChromium();
let page: Page | undefined;

afterEach(async () => {
  await web.deleteMachineOf(page);
  await page?.close();
  page = undefined;
});

/** A lesson page with terminal 1 open (the UTS snippet's first line is harmless: `hostname`). */
async function openTerminalOne(viewport = { width: 1280, height: 900 }): Promise<Page> {
  page = await web.browser.newPage({ viewport });
  await page.goto(web.course.lessonUrl);
  await runSnippet(page, snippets(page).nth(0));
  await waitForConnected(page, '1');
  return page;
}

/** A TCP relay to the server whose live connections can be cut, like a network drop. */
async function startRelay(target: URL): Promise<{ url: string; cut(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const relay: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const port = (relay.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    cut() {
      const count = sockets.size;
      for (const socket of sockets) socket.destroy();
      return count;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        relay.close(() => resolve());
      }),
  };
}

/** Rows and columns the shell sees (`stty size`). */
async function sttySize(page: Page): Promise<{ rows: number; cols: number }> {
  const output = await commandOutput(page, '1', 'stty size');
  const match = /(\d+) (\d+)/.exec(output);
  if (match === null) throw new Error(`stty size printed ${JSON.stringify(output)}`);
  return { rows: Number(match[1]), cols: Number(match[2]) };
}

describe('the embedded terminal', () => {
  it('resizes the shell when its box changes size (stty size), never to 0×0', async () => {
    const page = await openTerminalOne({ width: 1400, height: 1000 });
    const large = await sttySize(page);
    const shownRows = await terminal(page, '1').locator('.xterm-rows > div').count();
    expect(large.rows).toBe(shownRows);
    expect(large.cols).toBeGreaterThan(40);

    await page.setViewportSize({ width: 900, height: 700 });
    await expect.poll(() => terminal(page, '1').locator('.xterm-rows > div').count()).toBeLessThan(shownRows);
    const small = await sttySize(page);
    expect(small.cols).toBeLessThan(large.cols);
    expect(small.rows).toBeLessThan(large.rows);
    expect(small.rows).toBe(await terminal(page, '1').locator('.xterm-rows > div').count());

    // Folding the panel hides the terminal (a 0×0 box): the shell keeps its last real size.
    await page.getByRole('button', { name: 'Réduire' }).click();
    await page.getByRole('button', { name: 'Afficher' }).click();
    await waitForConnected(page, '1');
    expect(await sttySize(page)).toEqual(small);
  });

  it('reattaches to the same shell, with its recent output, after a reload', async () => {
    const page = await openTerminalOne();
    const pid = await commandOutput(page, '1', 'echo "shell=$$"');
    expect(pid).toMatch(/^shell=\d+$/);
    const machine = await rememberedMachine(page);

    await page.reload();
    // Nobody clicks: the page reopens the terminal it had, and the server replays its output.
    await waitForConnected(page, '1');
    await waitForTerminalText(page, '1', new RegExp(pid));
    expect(await commandOutput(page, '1', 'echo "shell=$$"')).toBe(pid);
    expect((await rememberedMachine(page))?.id).toBe(machine?.id);
    await screenshot(page, 'run-terminal-reloaded');
  });

  it('starts a new machine on « Réinitialiser la machine » (another /etc/machine-id)', async () => {
    const page = await openTerminalOne();
    const before = await commandOutput(page, '1', 'cat /etc/machine-id');
    expect(before).toMatch(/^[0-9a-f]{32}$/);
    const oldMachine = await rememberedMachine(page);

    await page.getByRole('button', { name: 'Réinitialiser la machine' }).click();
    await page.locator('[data-machine-status]', { hasText: 'Nouvelle machine prête.' }).waitFor({ timeout: 90_000 });
    await waitForConnected(page, '1');
    const after = await commandOutput(page, '1', 'cat /etc/machine-id');
    expect(after).toMatch(/^[0-9a-f]{32}$/);
    expect(after).not.toBe(before);
    // Made anew in place (POST …/reset): the same id and token, so the page's
    // cookie and links stay good; the server has that id running, a new machine.
    const now = await rememberedMachine(page);
    expect(now?.id).toBe(oldMachine?.id);
    expect(now?.token).toBe(oldMachine?.token);
    const status = await fetch(new URL(`api/sandboxes/${oldMachine!.id}`, web.course.server.url), {
      headers: { authorization: `Bearer ${oldMachine!.token}` },
    });
    expect(status.status).toBe(200);
  });

  it('stays responsive to Ctrl-C under a `yes` flood', async () => {
    const page = await openTerminalOne();
    await typeInTerminal(page, '1', 'yes');
    await waitForTerminalText(page, '1', /(y\n){10}/);
    await page.keyboard.press('Control+C');
    expect(await commandOutput(page, '1', 'echo "alive $((6 * 7))"')).toBe('alive 42');
    await screenshot(page, 'run-terminal-after-yes');
  });

  it('sends Ctrl-C first when Exécuter finds a command still running, and says so', async () => {
    const page = await openTerminalOne();
    await typeInTerminal(page, '1', 'yes');
    await waitForTerminalText(page, '1', /(y\n){10}/);
    const uts = snippets(page).nth(1);
    const outcome = await runSnippet(page, uts);
    expect(outcome.status).toMatch(/Ctrl-C/);
    await waitForTerminalText(page, '1', /my\.name\.is\.bob\n/);
  });

  it('reconnects after a network drop, with backoff, to the same shell', async () => {
    const relay = await startRelay(new URL(web.course.server.url));
    try {
      page = await web.browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(new URL(LESSON_PATH, relay.url).href);
      await runSnippet(page, snippets(page).nth(0));
      await waitForConnected(page, '1');
      const pid = await commandOutput(page, '1', 'echo "shell=$$"');

      expect(relay.cut()).toBeGreaterThan(0);
      // The status line says so (with the delay before the next attempt), then the terminal comes back by itself.
      await page
        .locator('lesson-terminal[name="1"] [data-terminal-status]', { hasText: /reconnexion… \(nouvel essai dans \d+ s\)/ })
        .waitFor({ timeout: 30_000 });
      await waitForConnected(page, '1');
      expect(await commandOutput(page, '1', 'echo "shell=$$"')).toBe(pid);
      await screenshot(page, 'run-terminal-reconnected');
    } finally {
      await relay.close();
    }
  });

  it('copies the selection with Ctrl+Shift+C and pastes with Ctrl+Shift+V', async () => {
    const page = await openTerminalOne();
    await web.browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(web.course.server.url).origin });
    await commandOutput(page, '1', 'echo motcopiable');
    // Double-click selects a word; the shortcut copies it rather than sending anything to the shell.
    await terminal(page, '1')
      .locator('.xterm-rows > div', { hasText: /^motcopiable\s*$/ })
      .last()
      .dblclick({ force: true, position: { x: 20, y: 5 } });
    await page.keyboard.press('Control+Shift+C');
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe('motcopiable');

    await page.evaluate(() => navigator.clipboard.writeText('echo "colle=$((40 + 2))"'));
    await terminal(page, '1').locator('.xterm-screen').click();
    await page.keyboard.press('Control+Shift+V');
    await page.keyboard.press('Enter');
    await waitForTerminalText(page, '1', /^colle=42/m);
  });

  it("turns on xterm's screen-reader mode from the terminal area", async () => {
    const page = await openTerminalOne();
    const toggle = page.getByRole('button', { name: "Lecteur d'écran" });
    await expect(toggle.getAttribute('aria-pressed')).resolves.toBe('false');
    await expect(terminal(page, '1').locator('.xterm-accessibility-tree').count()).resolves.toBe(0);
    await toggle.click();
    await expect(toggle.getAttribute('aria-pressed')).resolves.toBe('true');
    await terminal(page, '1').locator('.xterm-accessibility-tree').waitFor({ state: 'attached' });
    await toggle.click();
  });
});

describe('the embedded terminal on a phone', () => {
  let phone: LaunchedBrowser | undefined;
  afterAll(async () => {
    await phone?.close();
  });

  it('shows a row of Ctrl, Esc, Tab and arrow keys that type into the shell', async () => {
    phone = await launchBrowser({ hasTouch: true, isMobile: true, viewport: { width: 390, height: 844 } });
    page = await phone.newPage();
    await page.goto(web.course.lessonUrl);
    await runSnippet(page, snippets(page).nth(0));
    await waitForConnected(page, '1');
    const keys = terminal(page, '1').getByRole('toolbar', { name: 'Touches du terminal 1' });
    await expect(keys.isVisible()).resolves.toBe(true);
    for (const name of ['Ctrl (pour la touche suivante)', 'Échap', 'Tabulation', 'Flèche gauche', 'Flèche haut', 'Flèche bas', 'Flèche droite']) {
      await expect(keys.getByRole('button', { name }).isVisible(), name).resolves.toBe(true);
    }
    await commandOutput(page, '1', 'echo "touche=$((1 + 1))"');
    // ↑ recalls the last command line, Enter runs it again.
    await keys.getByRole('button', { name: 'Flèche haut' }).tap();
    await page.keyboard.press('Enter');
    await expect.poll(async () => (await terminalText(page!, '1')).match(/^touche=2/gm)?.length ?? 0).toBe(2);
    // Ctrl then c: an interrupt, as on a keyboard.
    await typeInTerminal(page, '1', 'sleep 300');
    await keys.getByRole('button', { name: 'Ctrl (pour la touche suivante)' }).tap();
    await page.keyboard.type('c');
    await waitForTerminalText(page, '1', /sleep 300\s*\n\^C/);
    await screenshot(page, 'run-terminal-phone');
  });
});
