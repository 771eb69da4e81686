// « Vue des namespaces » in real Chromium against the real server and a real
// machine: opened from the dock (its code is fetched only then), it shows
// the machine's namespaces while the lesson's exercises run — two UTS
// namespaces after `sudo unshare --uts /bin/bash`, terminal 2 still in the
// machine's; a new PID namespace whose PID 1 is bash after `sudo unshare
// --pid --fork --mount-proc /bin/bash`, gone after `exit` — and its table
// says the same. Its colours pass contrast in both themes.
// Screenshots go to test-results/namespace-view-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator } from 'playwright-core';
import { launchBrowser, type Page } from '../support/browser.ts';
import { courseInChromium } from '../support/e2e-fixtures.ts';
import { runSnippet, screenshot, snippets, typeInTerminal, waitForConnected, waitForTerminalText } from '../support/terminal-page.ts';

const web = courseInChromium();
let page: Page | undefined;
const requested: string[] = [];

beforeAll(async () => {
  page = await web.browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.on('request', (request) => requested.push(request.url()));
  await page.goto(web.course.lessonUrl);
});

afterAll(() => web.deleteMachineOf(page));

const panel = () => page!.locator('[data-namespace-panel]');
const band = (type: string) => panel().locator(`.nsv-picture [data-ns-type="${type}"]`);
const groups = (type: string) => band(type).locator('[data-ns-label]');

/** Waits until the picture shows `count` namespaces of kind `type`. */
async function waitForNamespaces(type: string, count: number, timeoutMs = 30_000): Promise<void> {
  await page!
    .waitForFunction(
      ({ type: kind, count: wanted }) =>
        document.querySelectorAll(`[data-namespace-panel] .nsv-picture [data-ns-type="${kind}"] [data-ns-label]`).length === wanted,
      { type, count },
      { timeout: timeoutMs, polling: 100 },
    )
    .catch(async (error: unknown) => {
      const shown = await panel()
        .innerText()
        .catch(() => '(no panel)');
      throw new Error(`the view never showed ${count} ${type} namespaces; it shows:\n${shown}`, { cause: error });
    });
}

/** The table's rows as objects, keyed by column title (the same information as the picture). */
async function tableRows(): Promise<Record<string, string>[]> {
  return panel()
    .locator('[data-namespace-table]')
    .evaluate((table) => {
      const titles = [...table.querySelectorAll('thead th')].map((cell) => cell.textContent ?? '');
      return [...table.querySelectorAll('tbody tr')].map((row) =>
        Object.fromEntries([...row.children].map((cell, index) => [titles[index] ?? String(index), cell.textContent ?? ''])),
      );
    });
}

async function labelOf(group: Locator): Promise<string> {
  return (await group.getAttribute('data-ns-label')) ?? '';
}

describe('the namespace view', () => {
  it('opens from the dock, its code fetched only then, closed until asked', async () => {
    await runSnippet(page!, snippets(page!).nth(0));
    await waitForConnected(page!, '1');
    const toggle = page!.getByRole('button', { name: 'Vue des namespaces', exact: true });
    await expect(toggle.getAttribute('aria-pressed')).resolves.toBe('false');
    await expect(panel().count()).resolves.toBe(0);
    expect(requested.filter((url) => /namespace-panel/.test(url))).toEqual([]);

    await toggle.click();
    await panel().locator('.nsv-picture [data-ns-label]').first().waitFor({ timeout: 30_000 });
    expect(requested.some((url) => /namespace-panel/.test(url))).toBe(true);
    await expect(toggle.getAttribute('aria-pressed')).resolves.toBe('true');
    // A fresh machine: one namespace of each kind, the terminal's shell in it.
    for (const type of ['pid', 'net', 'mnt', 'uts', 'ipc', 'user', 'cgroup', 'time']) {
      await expect(groups(type).count(), type).resolves.toBe(1);
      expect(await labelOf(groups(type).first())).toMatch(new RegExp(`^${type}:\\[\\d+\\]$`));
    }
    await expect(groups('uts').first().innerText()).resolves.toContain('terminal 1');
  });

  it('shows two UTS namespaces after the UTS exercise, terminal 2 in the first one; the table says the same', async () => {
    await runSnippet(page!, snippets(page!).nth(1)); // hostname; sudo unshare --uts /bin/bash; hostname my.name.is.bob; hostname
    await page!.getByRole('button', { name: 'Ouvrir un nouveau terminal' }).click();
    await waitForConnected(page!, '2');
    await waitForTerminalText(page!, '2', /student@tp-docker:~\$/);
    await runSnippet(page!, snippets(page!).nth(2)); // terminal 2: hostname
    await waitForNamespaces('uts', 2);
    await page!.waitForFunction(
      () => document.querySelector('[data-namespace-panel] .nsv-picture [data-ns-machine][data-ns-label^="uts:"]')?.textContent?.includes('terminal 2'),
      undefined,
      { timeout: 30_000 },
    );

    const [machine, created] = [groups('uts').nth(0), groups('uts').nth(1)];
    await expect(machine.getAttribute('data-ns-machine')).resolves.toBe('');
    await expect(machine.innerText()).resolves.toMatch(/terminal 2/);
    await expect(created.innerText()).resolves.not.toMatch(/terminal 2/);
    await expect(created.innerText()).resolves.toMatch(/bash/);
    await expect(created.getAttribute('data-ns-new')).resolves.toBe('');
    const createdLabel = await labelOf(created);
    const machineLabel = await labelOf(machine);
    await expect(panel().locator('[data-namespace-changes]').innerText()).resolves.toContain(
      `nouveau namespace uts ${createdLabel} créé par unshare (terminal 1)`,
    );
    // Only the UTS namespace is new.
    for (const type of ['pid', 'net', 'mnt', 'ipc', 'user', 'cgroup', 'time']) await expect(groups(type).count(), type).resolves.toBe(1);
    await screenshot(page!, 'namespace-view-1-uts');

    const rows = await tableRows();
    expect(new Set(rows.map((row) => row.uts))).toEqual(new Set([machineLabel, createdLabel]));
    const shellOf = (name: string) => rows.find((row) => row.Terminal === `terminal ${name} (son shell)`);
    expect(shellOf('2')?.uts).toBe(machineLabel);
    expect(shellOf('1')?.uts).toBe(machineLabel);
    expect(rows.filter((row) => row.uts === createdLabel).map((row) => [row.Commande, row.Utilisateur, row.Terminal])).toEqual([
      ['/bin/bash', 'root', 'terminal 1'],
    ]);
    // Shown to sighted readers too, on demand.
    await panel().getByRole('button', { name: 'Tableau' }).click();
    await expect(panel().getByRole('table').isVisible()).resolves.toBe(true);
    await screenshot(page!, 'namespace-view-2-table');
    await panel().getByRole('button', { name: 'Tableau' }).click();

    await runSnippet(page!, snippets(page!).nth(3)); // exit; hostname
    await waitForNamespaces('uts', 1);
    await expect(panel().locator('[data-namespace-changes]').innerText()).resolves.toContain(`namespace uts ${createdLabel} disparu`);
  });

  it('shows a new PID namespace whose PID 1 is bash after `sudo unshare --pid --fork --mount-proc /bin/bash`, gone after exit', async () => {
    const machinePid = await labelOf(groups('pid').first());
    await typeInTerminal(page!, '1', 'sudo unshare --pid --fork --mount-proc /bin/bash');
    await waitForNamespaces('pid', 2);
    const created = band('pid').locator('[data-ns-label]:not([data-ns-machine])');
    await expect(created.getAttribute('data-ns-init')).resolves.toBe('bash');
    await expect(created.innerText()).resolves.toMatch(/PID 1 : bash/);
    const createdLabel = await labelOf(created);
    expect(createdLabel).not.toBe(machinePid);
    await expect(panel().locator('[data-namespace-changes]').innerText()).resolves.toContain(
      `nouveau namespace pid ${createdLabel} créé par unshare (terminal 1), dont le PID 1 est bash`,
    );
    // --mount-proc made a mount namespace too.
    await expect(groups('mnt').count()).resolves.toBe(2);
    await screenshot(page!, 'namespace-view-3-pid');

    const rows = await tableRows();
    const inside = rows.filter((row) => row.pid === createdLabel);
    expect(inside.map((row) => [row['PID dans son namespace'], row.Commande])).toEqual([['1', '/bin/bash']]);
    expect(new Set(rows.map((row) => row.pid))).toEqual(new Set([machinePid, createdLabel]));

    await typeInTerminal(page!, '1', 'exit');
    await waitForNamespaces('pid', 1);
    await waitForNamespaces('mnt', 1);
    expect(new Set((await tableRows()).map((row) => row.pid))).toEqual(new Set([machinePid]));
  });

  it('passes contrast (4.5:1 for text) in the light and the dark theme', async () => {
    for (const colorScheme of ['light', 'dark'] as const) {
      await page!.emulateMedia({ colorScheme });
      const worst = await panel().evaluate((root) => {
        const rgb = (text: string) => (text.match(/[\d.]+/g) ?? []).map(Number);
        const luminance = ([r = 0, g = 0, b = 0]: number[]) => {
          const linear = (c: number) => (c / 255 <= 0.03928 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4);
          return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
        };
        const background = (element: Element | null): number[] => {
          for (let current = element; current; current = current.parentElement) {
            const color = rgb(getComputedStyle(current).backgroundColor);
            if (color.length === 3 || (color[3] ?? 0) > 0) return color;
          }
          return [255, 255, 255];
        };
        let low = { ratio: 21, text: '' };
        for (const element of root.querySelectorAll('*')) {
          const own = [...element.childNodes].some((node) => node.nodeType === Node.TEXT_NODE && node.textContent?.trim());
          if (!own || (element as HTMLElement).offsetParent === null) continue;
          const [a, b] = [luminance(rgb(getComputedStyle(element).color)), luminance(background(element))];
          const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
          if (ratio < low.ratio) low = { ratio, text: `${element.className}: ${element.textContent?.slice(0, 40)}` };
        }
        return low;
      });
      expect(worst.ratio, `${colorScheme}: ${worst.text}`).toBeGreaterThanOrEqual(4.5);
      await screenshot(page!, `namespace-view-4-${colorScheme}`);
    }
  });

  it('closes from its own button, and the dock button says so', async () => {
    await panel().getByRole('button', { name: 'Fermer la vue des namespaces' }).click();
    await expect(panel().isVisible()).resolves.toBe(false);
    await expect(page!.getByRole('button', { name: 'Vue des namespaces', exact: true }).getAttribute('aria-pressed')).resolves.toBe('false');
  });
});

describe('the namespace view on a phone', () => {
  it('stays closed even when the reader left it open on a wider screen, and opens on demand below the terminal', async () => {
    const browser = await launchBrowser({ hasTouch: true, isMobile: true, viewport: { width: 390, height: 800 } });
    const phone = await browser.newPage();
    try {
      await phone.goto(web.course.lessonUrl);
      await phone.evaluate(() => localStorage.setItem('course-namespace-view', 'open'));
      await runSnippet(phone, snippets(phone).nth(0));
      await waitForConnected(phone, '1');
      await expect(phone.locator('[data-namespace-panel]').count()).resolves.toBe(0);
      await phone.getByRole('button', { name: 'Vue des namespaces', exact: true }).click();
      const shown = phone.locator('[data-namespace-panel] .nsv-picture [data-ns-label]').first();
      await shown.waitFor({ timeout: 30_000 });
      // Below the terminal, not squeezed beside it.
      const terminalBox = await phone.locator('lesson-terminal[name="1"]').boundingBox();
      const panelBox = await phone.locator('[data-namespace-panel]').boundingBox();
      expect(panelBox!.y).toBeGreaterThanOrEqual(terminalBox!.y + terminalBox!.height - 1);
      await screenshot(phone, 'namespace-view-5-phone');
    } finally {
      await web.deleteMachineOf(phone);
      await browser.close();
    }
  });
});
