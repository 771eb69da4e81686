// The lesson « Les Namespaces », run as a reader would: every runnable
// snippet clicked in order in real Chromium, against the real sandbox server
// and a real sandbox, and what each terminal shows checked against what the
// lesson says. Screenshots of the run go to test-results/run-lesson-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from '../support/browser.ts';
import { courseInChromium } from '../support/e2e-fixtures.ts';
import {
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

const web = courseInChromium();
let page: Page | undefined;

beforeAll(async () => {
  page = await web.browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(web.course.lessonUrl);
});

afterAll(() => web.deleteMachineOf(page));

/** Snippet `index` of the lesson, checked to be the one we think it is. */
async function snippet(index: number, firstCommand: string) {
  const figure = snippets(page!).nth(index);
  const commands = JSON.parse((await figure.getAttribute('data-commands')) ?? '[]') as string[];
  expect(commands[0], `snippet ${index} is not the one this test expects`).toBe(firstCommand);
  return figure;
}

describe('running the namespaces lesson', () => {
  it('gives every snippet an Exécuter and a Copier button', async () => {
    const figures = snippets(page!);
    const count = await figures.count();
    expect(count).toBe(12);
    for (let index = 0; index < count; index++) {
      await expect(figures.nth(index).getByRole('button', { name: 'Exécuter', exact: true }).count()).resolves.toBe(1);
      await expect(figures.nth(index).getByRole('button', { name: 'Copier', exact: true }).count()).resolves.toBe(1);
    }
  });

  it('shows the namespaces of PID 1 and dockerd (sudo ls -l /proc/…/ns)', async () => {
    const figure = await snippet(0, 'sudo ls -l /proc/1/ns');
    await figure.getByRole('button', { name: 'Exécuter', exact: true }).click();
    // The machine starts on the first click, with visible progress.
    await expect(figure.locator('[data-run-status]').innerText()).resolves.toMatch(/Démarrage de votre machine|Chargement du terminal|Connexion/);
    await screenshot(page!, 'run-lesson-1-starting');
    await figure.locator('[data-run-controls][data-run-state="done"]').waitFor({ timeout: 90_000 });
    const text = await terminalText(page!, '1');
    expect(text).toMatch(/uts -> 'uts:\[\d+\]'|uts -> uts:\[\d+\]/);
    expect(text).not.toMatch(/Permission denied|No such file/);
    await screenshot(page!, 'run-lesson-2-proc-ns');
  });

  it("changes the hostname inside a UTS namespace only (terminal 2 still sees the VM's)", async () => {
    const uts = await snippet(1, 'hostname');
    await runSnippet(page!, uts);
    const inside = await terminalText(page!, '1');
    // First `hostname` ran in the VM, the last one in the namespace, after `sudo unshare --uts /bin/bash`.
    expect(inside).toMatch(/tp-docker/);
    expect(afterLast(inside, 'hostname my.name.is.bob')).toMatch(/\nmy\.name\.is\.bob/);

    // « Ouvrir un nouveau terminal » opens terminal 2 without typing anything in it.
    await page!.getByRole('button', { name: 'Ouvrir un nouveau terminal' }).click();
    await waitForConnected(page!, '2');
    await waitForTerminalText(page!, '2', /student@tp-docker:~\$/);

    const second = await snippet(2, 'hostname');
    await runSnippet(page!, second);
    await expect(terminal(page!, '1').isVisible()).resolves.toBe(true);
    await expect(terminal(page!, '2').isVisible()).resolves.toBe(true);
    const vm = await terminalText(page!, '2');
    expect(afterLast(vm, 'hostname')).toMatch(/\ntp-docker/);
    expect(vm).not.toMatch(/my\.name\.is\.bob/);
    await screenshot(page!, 'run-lesson-3-uts-two-terminals');

    // Leaving the namespace (exit) gives back the VM's hostname in terminal 1.
    await runSnippet(page!, await snippet(3, 'exit'));
    expect(afterLast(await terminalText(page!, '1'), 'hostname')).toMatch(/\ntp-docker/);
  });

  it('mounts a tmpfs on /tmp in terminal 1 only (mnt namespace)', async () => {
    await runSnippet(page!, await snippet(4, 'touch /tmp/fichier-de-la-vm'));
    const one = afterLast(await terminalText(page!, '1'), 'ls -l /tmp');
    expect(one).toMatch(/total 0/);
    expect(one).not.toMatch(/fichier-de-la-vm/);

    await runSnippet(page!, await snippet(5, 'ls -l /tmp'));
    const two = afterLast(await terminalText(page!, '2'), 'ls -l /tmp');
    // The marker was made by student before entering the namespace, as the lesson shows.
    expect(two).toMatch(/-rw-r--r-- 1 student student 0 .* fichier-de-la-vm/);

    // Both terminals on screen at once, and asked directly what /tmp is.
    expect(await commandOutput(page!, '1', 'findmnt -n -o FSTYPE /tmp')).toBe('tmpfs');
    expect(await commandOutput(page!, '2', 'findmnt -n -o FSTYPE /tmp || echo pas-de-montage')).toBe('pas-de-montage');
    await screenshot(page!, 'run-lesson-4-mnt');

    // Leaving the namespace unmounts its tmpfs: terminal 1 sees the VM's /tmp again.
    await runSnippet(page!, await snippet(6, 'exit'));
    expect(afterLast(await terminalText(page!, '1'), 'ls /tmp')).toMatch(/fichier-de-la-vm/);
  });

  it('cannot kill dockerd from a new PID namespace: "No such process"', async () => {
    await runSnippet(page!, await snippet(7, 'sudo unshare --pid --fork /bin/bash'));
    await runSnippet(page!, await snippet(8, 'sudo unshare --pid --fork /bin/bash'));
    const text = await terminalText(page!, '1');
    expect(text).toMatch(/kill: \(\d+\) - No such process/);
    await screenshot(page!, 'run-lesson-5-pid');
  });

  it('sees only bash and ps with --mount-proc', async () => {
    await runSnippet(page!, await snippet(9, 'sudo unshare --pid --fork --mount-proc /bin/bash'));
    const text = await terminalText(page!, '1');
    // From the typed `ps aux` to the typed `exit` (the listing's own last row also says "ps aux").
    const listing = afterLast(text, '# ps aux').split('# exit')[0] ?? '';
    expect(listing).toMatch(/USER\s+PID/);
    const processes = listing.match(/^\S+\s+\d+\s/gm) ?? [];
    expect(processes.length, `processes seen:\n${listing}`).toBe(2);
    expect(listing).toMatch(/\/bin\/bash/);
    expect(listing).toMatch(/ps aux/);
    // Nothing of the VM: no init, no dockerd, no sudo.
    expect(listing).not.toMatch(/dockerd|containerd|sudo|init/);
  });

  it('is nobody in a user namespace without a mapping: uid=65534(nobody)', async () => {
    await runSnippet(page!, await snippet(10, 'id'));
    const text = await waitForTerminalText(page!, '1', /uid=65534\(nobody\)/);
    expect(text).toMatch(/gid=65534\(nogroup\)/);
    await runSnippet(page!, await snippet(11, 'unshare --user --map-root-user /bin/bash'));
    expect(afterLast(await terminalText(page!, '1'), 'unshare --user --map-root-user /bin/bash')).toMatch(/uid=0\(root\)/);
    await screenshot(page!, 'run-lesson-6-user');
  });
});
