// The lesson « Les Namespaces » on a static host: dist/ served by a plain
// file server, no sandbox server anywhere. Exécuter offers a machine in the
// reader's browser (v86 in a Web Worker, restored from the state saved at
// build time); once accepted, every snippet is clicked in order in real
// Chromium and the terminals must show what run-lesson.test.ts checks on the
// server machines, except where this machine really differs (no Docker),
// which the page says. Screenshots go to test-results/run-browser-machine-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type LaunchedBrowser, type Page } from '../support/browser.ts';
import { ensureSiteBuilt } from '../support/site.ts';
import { serveStatic, type StaticServer } from '../support/static-server.ts';
import {
  LESSON_PATH,
  afterLast,
  commandOutput,
  runSnippet,
  screenshot,
  snippets,
  terminal,
  terminalText,
  waitForConnected,
  waitForTerminalText,
} from '../support/terminal-page.ts';

/** Restoring under emulation on a loaded host: generous, never asserted as a speed. */
const START_TIMEOUT_MS = 240_000;
const RUN_TIMEOUT_MS = 120_000;
/** A test runs a few snippets, each slow under emulation on a loaded host. */
const TEST_TIMEOUT_MS = 6 * RUN_TIMEOUT_MS;

let site: StaticServer | undefined;
let browser: LaunchedBrowser | undefined;
let page: Page | undefined;

beforeAll(async () => {
  const dist = await ensureSiteBuilt();
  site = await serveStatic(dist);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(site.url + LESSON_PATH);
  await page.waitForLoadState('networkidle');
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
});

async function snippet(index: number, firstCommand: string) {
  const figure = snippets(page!).nth(index);
  const commands = JSON.parse((await figure.getAttribute('data-commands')) ?? '[]') as string[];
  expect(commands[0], `snippet ${index} is not the one this test expects`).toBe(firstCommand);
  return figure;
}

/**
 * Waits until what terminal `name` shows after the last `needle` matches
 * `pattern`, and returns that text: a run ends when the shell's marks
 * arrive, and xterm draws their output a moment later (later still on a
 * loaded host, the machine's output coming from a worker of this tab).
 */
async function shownAfter(name: string, needle: string, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  for (;;) {
    const text = afterLast(await terminalText(page!, name), needle);
    if (pattern.test(text) || Date.now() > deadline) return text;
    await new Promise((done) => setTimeout(done, 200));
  }
}

const machineRequests = () => site!.requests.filter((path) => path.includes('/browser-machine/'));

describe('the lesson on a static host, in a machine in the browser', () => {
  it(
    'downloads nothing of the machine before the reader asks, then offers it with its size',
    async () => {
      expect(machineRequests()).toEqual([]);
      const figure = await snippet(0, 'sudo ls -l /proc/1/ns');
      const outcome = await runSnippet(page!, figure, 'offer');
      expect(outcome.status).toMatch(/Aucun serveur de machines ne répond/);
      expect(outcome.status).toMatch(/n'a pas Docker/);
      // Only the manifest so far (a few hundred bytes): the state and the emulator wait for the click.
      expect(machineRequests()).toEqual(['/browser-machine/manifest.json']);
      const offer = figure.getByRole('button', { name: /^Démarrer une machine dans votre navigateur \(\d+,\d Mo\)$/ });
      await expect(offer.count()).resolves.toBe(1);
      await screenshot(page!, 'run-browser-machine-1-offer');

      await offer.click();
      await expect(figure.locator('[data-run-status]').innerText()).resolves.toMatch(/Téléchargement de la machine|Démarrage/);
      await figure.locator('[data-run-controls][data-run-state="done"], [data-run-controls][data-run-state="error"]').waitFor({ timeout: START_TIMEOUT_MS });
      const status = await figure.locator('[data-run-status]').innerText();
      expect(await figure.locator('[data-run-controls]').getAttribute('data-run-state'), status).toBe('done');
      expect(machineRequests().some((path) => /state-.*\.bin\.gz$/.test(path))).toBe(true);
      expect(machineRequests().some((path) => /v86-.*\.wasm\.gz$/.test(path))).toBe(true);

      // The one difference: there is no dockerd, and the page says so.
      const last = await shownAfter('1', '$(pidof dockerd)/ns', /\/proc\/\/ns.*No such file or directory/);
      expect(last).toMatch(/\/proc\/\/ns.*No such file or directory/);
      const text = await terminalText(page!, '1');
      expect(text).toMatch(/uts -> 'uts:\[\d+\]'|uts -> uts:\[\d+\]/);
      expect(status).toMatch(/La machine de votre navigateur n'a pas Docker/);
      await screenshot(page!, 'run-browser-machine-2-proc-ns');
    },
    START_TIMEOUT_MS + 60_000,
  );

  it(
    "changes the hostname inside a UTS namespace only (terminal 2 still sees the machine's)",
    async () => {
      await runSnippet(page!, await snippet(1, 'hostname'), 'done', RUN_TIMEOUT_MS);
      expect(await shownAfter('1', 'hostname my.name.is.bob', /\nmy\.name\.is\.bob/)).toMatch(/\nmy\.name\.is\.bob/);
      expect(await terminalText(page!, '1')).toMatch(/tp-docker/);

      await page!.getByRole('button', { name: 'Ouvrir un nouveau terminal' }).click();
      await waitForConnected(page!, '2');
      await waitForTerminalText(page!, '2', /student@tp-docker:~\$/);

      await runSnippet(page!, await snippet(2, 'hostname'), 'done', RUN_TIMEOUT_MS);
      await expect(terminal(page!, '1').isVisible()).resolves.toBe(true);
      await expect(terminal(page!, '2').isVisible()).resolves.toBe(true);
      expect(await shownAfter('2', 'hostname', /\ntp-docker/)).toMatch(/\ntp-docker/);
      expect(await terminalText(page!, '2')).not.toMatch(/my\.name\.is\.bob/);
      await screenshot(page!, 'run-browser-machine-3-uts-two-terminals');

      await runSnippet(page!, await snippet(3, 'exit'), 'done', RUN_TIMEOUT_MS);
      expect(await shownAfter('1', 'hostname', /\ntp-docker/)).toMatch(/\ntp-docker/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'mounts a tmpfs on /tmp in terminal 1 only (mnt namespace)',
    async () => {
      await runSnippet(page!, await snippet(4, 'touch /tmp/fichier-de-la-vm'), 'done', RUN_TIMEOUT_MS);
      const one = await shownAfter('1', 'ls -l /tmp', /total 0/);
      expect(one).toMatch(/total 0/);
      expect(one).not.toMatch(/fichier-de-la-vm/);

      await runSnippet(page!, await snippet(5, 'ls -l /tmp'), 'done', RUN_TIMEOUT_MS);
      const two = await shownAfter('2', 'ls -l /tmp', /fichier-de-la-vm/);
      expect(two).toMatch(/-rw-r--r-- 1 student student 0 .* fichier-de-la-vm/);

      expect(await commandOutput(page!, '1', 'findmnt -n -o FSTYPE /tmp', RUN_TIMEOUT_MS)).toBe('tmpfs');
      expect(await commandOutput(page!, '2', 'findmnt -n -o FSTYPE /tmp || echo pas-de-montage', RUN_TIMEOUT_MS)).toBe('pas-de-montage');
      await screenshot(page!, 'run-browser-machine-4-mnt');

      await runSnippet(page!, await snippet(6, 'exit'), 'done', RUN_TIMEOUT_MS);
      expect(await shownAfter('1', 'ls /tmp', /fichier-de-la-vm/)).toMatch(/fichier-de-la-vm/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "shows the machine's processes in a new PID namespace without --mount-proc; no dockerd to kill, as the page says",
    async () => {
      await runSnippet(page!, await snippet(7, 'sudo unshare --pid --fork /bin/bash'), 'done', RUN_TIMEOUT_MS);
      // The listing is longer than the screen (the machine's kernel threads): its end is what shows.
      const text = await waitForTerminalText(page!, '1', /^root\s+\d+\s.*ps aux\s*$/m, RUN_TIMEOUT_MS);
      expect(text).not.toMatch(/fatal library error/);
      expect(text).toMatch(/^root\s+\d+\s.*ps aux\s*$/m);
      expect(text).toMatch(/^root\s+\d+\s.*\/bin\/bash\s*$/m);
      // Still the machine's /proc: PID 1 there is the machine's init, not the namespace's bash.
      expect(await commandOutput(page!, '1', 'sudo unshare --pid --fork ps -o comm= -p 1', RUN_TIMEOUT_MS)).toBe('init');

      const pid = await snippet(8, 'sudo unshare --pid --fork /bin/bash');
      const outcome = await runSnippet(page!, pid, 'done', RUN_TIMEOUT_MS);
      expect(await shownAfter('1', '# kill -9 $(pidof dockerd)', /kill: usage/)).toMatch(/kill: usage/);
      expect(outcome.status).toMatch(/La machine de votre navigateur n'a pas Docker/);
      await screenshot(page!, 'run-browser-machine-5-pid');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'sees only bash and ps with --mount-proc',
    async () => {
      await runSnippet(page!, await snippet(9, 'sudo unshare --pid --fork --mount-proc /bin/bash'), 'done', RUN_TIMEOUT_MS);
      const listing = (await shownAfter('1', '# ps aux', /# exit/)).split('# exit')[0] ?? '';
      expect(listing).toMatch(/USER\s+PID/);
      const processes = listing.match(/^\S+\s+\d+\s/gm) ?? [];
      expect(processes.length, `processes seen:\n${listing}`).toBe(2);
      expect(listing).toMatch(/\/bin\/bash/);
      expect(listing).toMatch(/ps aux/);
      expect(listing).not.toMatch(/dockerd|containerd|sudo|init/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'is nobody in a user namespace without a mapping: uid=65534(nobody)',
    async () => {
      await runSnippet(page!, await snippet(10, 'id'), 'done', RUN_TIMEOUT_MS);
      const text = await waitForTerminalText(page!, '1', /uid=65534\(nobody\)/);
      expect(text).toMatch(/gid=65534\(nogroup\)/);
      await runSnippet(page!, await snippet(11, 'unshare --user --map-root-user /bin/bash'), 'done', RUN_TIMEOUT_MS);
      expect(await shownAfter('1', 'unshare --user --map-root-user /bin/bash', /uid=0\(root\)/)).toMatch(/uid=0\(root\)/);
      await screenshot(page!, 'run-browser-machine-6-user');
    },
    TEST_TIMEOUT_MS,
  );
});
