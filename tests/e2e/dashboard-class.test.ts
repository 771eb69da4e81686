// The instructor's dashboard in real Chromium, against the real server in
// class mode (real SQLite file, real sandboxes with Docker off) serving the
// built site: create a class from the dashboard, open a student's link in
// another tab, run the UTS exercise there (✓ on the lesson page), and follow
// it on the dashboard: status, ✓, the read-only terminal view, the CSV
// export, a reset and a revocation the student sees in French; then a class
// of labs: each machine of a student's lab on its own line, its terminal
// watched, one machine reset while the other keeps its shell.
// Screenshots go to test-results/dashboard-*.png.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type LaunchedBrowser, type Page } from '../support/browser.ts';
import { CloseCode, CreateSandboxResponse } from '../../contracts/protocol.ts';
import { bearerRequest, classCli, classFiles, parseInstructorKey, parseLinks, type ClassFiles } from '../support/classroom.ts';
import { attachTerminal } from '../support/server-client.ts';
import { serverLeftovers } from '../support/server.ts';
import { runSnippet, screenshot, snippets, startCourse, terminalText, typeInTerminal, waitForTerminalText, type Course } from '../support/terminal-page.ts';

let files: ClassFiles;
let course: Course | undefined;
let browser: LaunchedBrowser | undefined;
let dashboard: Page;
let student: Page;
let aliceLink = '';

beforeAll(async () => {
  files = classFiles();
  course = await startCourse({ CLASS_MODE: 'true', CLASS_DB: files.db, SANDBOX_DOCKER: 'false' });
  const key = parseInstructorKey(await classCli(files.db, ['instructor', '--url', course.server.url]));
  browser = await launchBrowser({ acceptDownloads: true });
  dashboard = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  // The page asks before destroying or revoking: the instructor says yes.
  dashboard.on('dialog', (dialog) => void dialog.accept());
  await dashboard.goto(`${course.server.url}instructeur/#cle=${key}`);
});

afterAll(async () => {
  await browser?.close();
  await course?.server.stop();
  try {
    if (course) expect(serverLeftovers(course.server)).toEqual([]);
  } finally {
    files?.remove();
  }
});

function row(name: string) {
  return dashboard.locator('[data-students] tbody tr').filter({ has: dashboard.getByRole('rowheader', { name, exact: true }) });
}

describe('the instructor dashboard', () => {
  it('opens with the key from the link, then forgets the key from the address bar', async () => {
    await dashboard.getByRole('heading', { name: 'Tableau de bord du formateur' }).waitFor();
    await dashboard.getByText("Aucune classe pour l'instant").waitFor();
    expect(new URL(dashboard.url()).hash).toBe('');
  });

  it("creates a class and shows each student's personal link once", async () => {
    await dashboard.getByLabel('Nom', { exact: true }).fill('TP namespaces e2e');
    await dashboard.getByLabel('Élèves, un nom par ligne').fill('Alice\nBruno');
    await dashboard.getByLabel('Docker dans chaque machine').uncheck();
    await dashboard.getByRole('button', { name: 'Créer la classe et ses liens' }).click();
    const links = dashboard.locator('[data-links] code');
    await links.first().waitFor();
    expect(await links.count()).toBe(2);
    aliceLink = (await links.first().innerText()).trim();
    expect(aliceLink).toMatch(new RegExp(`^${course!.server.url}docker_linux/namespaces/#acces=eleve_`));
    await row('Alice').waitFor();
    expect(await row('Alice').locator('[data-cell="status"]').innerText()).toBe('pas de machine');
    await screenshot(dashboard, 'dashboard-1-class-created');
  });

  it('gives the student, through the link, a ✓ on the lesson page once the UTS exercise is done', async () => {
    student = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
    await student.goto(aliceLink);
    const banner = student.locator('[data-class-banner]');
    await banner.filter({ hasText: 'Classe « TP namespaces e2e » — Alice' }).waitFor();
    expect(new URL(student.url()).hash).toBe('');
    const uts = student.locator('.exercise-check[data-exercise="uts"]');
    await uts.filter({ hasText: 'Exercice à faire' }).waitFor();

    const figure = snippets(student).nth(1);
    expect(JSON.parse((await figure.getAttribute('data-commands')) ?? '[]')).toContain('hostname my.name.is.bob');
    await runSnippet(student, figure);
    await uts.filter({ hasText: '✓ Exercice réussi' }).waitFor({ timeout: 30_000 });
    expect(await student.locator('.exercise-check[data-exercise="mnt"]').innerText()).toMatch(/Exercice à faire/);
    await banner.filter({ hasText: 'exercices réussis : 1/4' }).waitFor();
    await screenshot(student, 'dashboard-2-student-check');
  });

  it("shows the student online, with the ✓ and the machine's figures", async () => {
    const alice = row('Alice');
    await alice.locator('[data-cell="exercise-uts"][data-passed="true"]').waitFor({ timeout: 30_000 });
    await alice.locator('[data-cell="status"]', { hasText: 'en ligne' }).waitFor({ timeout: 30_000 });
    expect(await alice.locator('[data-cell="memory"]').innerText()).toMatch(/\d+ Mio/);
    expect(await alice.locator('[data-cell="commands"]').innerText()).toMatch(/^4/); // the UTS snippet's four commands
    expect(await row('Bruno').locator('[data-cell="status"]').innerText()).toBe('pas de machine');
    await screenshot(dashboard, 'dashboard-3-progress');
  });

  it("shows the student's terminal read-only", async () => {
    await row('Alice').getByRole('button', { name: 'Voir T1 (Alice)' }).click();
    const viewer = dashboard.locator('[data-viewer]');
    await viewer.getByRole('heading', { name: 'Terminal 1 de Alice' }).waitFor();
    await dashboard.waitForFunction(
      () => /my\.name\.is\.bob/.test((document.querySelector('[data-viewer-screen] .xterm-rows') as HTMLElement | null)?.innerText ?? ''),
      undefined,
      { timeout: 30_000 },
    );
    expect(await viewer.locator('[data-viewer-status]').innerText()).toMatch(/lecture seule/);
    await screenshot(dashboard, 'dashboard-4-viewer');
    await viewer.locator('[data-viewer-screen]').click();
    await dashboard.keyboard.type('echo VIEWER-TYPED');
    await dashboard.keyboard.press('Enter');
    await viewer.getByRole('button', { name: 'Fermer' }).click();
    // The viewer's keys, had they been forwarded, reached the shell before the
    // student's own command typed after it: once its answer shows, the text is final.
    await typeInTerminal(student, '1', 'echo AFTER-$((6 * 7))');
    await waitForTerminalText(student, '1', /AFTER-42/);
    expect(await terminalText(student, '1')).not.toContain('VIEWER-TYPED');
  });

  it('exports the progress as a CSV file', async () => {
    const download = dashboard.waitForEvent('download');
    await dashboard.getByRole('button', { name: 'Exporter la progression (CSV)' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe('progression-TP-namespaces-e2e.csv');
    const csv = readFileSync((await file.path())!, 'utf8');
    expect(csv).toMatch(/TP namespaces e2e,Alice,1,active,\d{4}-\d\d-\d\dT[^,]+,,,,1,4,/);
  });

  it("resets the student's machine: the student is told in French and carries on with a fresh one", async () => {
    await row('Alice').getByRole('button', { name: 'Réinitialiser (Alice)' }).click();
    await student
      .getByText(/Votre formateur a réinitialisé ou arrêté votre machine/)
      .first()
      .waitFor({ timeout: 30_000 });
    await screenshot(student, 'dashboard-5-reset');
    // The badge stays: a passed exercise stays passed.
    expect(await student.locator('.exercise-check[data-exercise="uts"]').innerText()).toMatch(/✓ Exercice réussi/);
  });

  it("revokes the link: the student's page says so, with the date", async () => {
    await row('Alice').getByRole('button', { name: 'Révoquer (Alice)' }).click();
    await row('Alice').locator('[data-cell="link"]', { hasText: 'révoqué' }).waitFor({ timeout: 30_000 });
    await student.reload();
    await student
      .locator('[data-class-banner][data-state="error"]')
      .filter({ hasText: /Ce lien a été révoqué par votre formateur le \d/ })
      .waitFor({ timeout: 30_000 });
    await student.getByRole('button', { name: 'Exécuter', exact: true }).first().click();
    await student
      .locator('[data-run-state="error"]')
      .filter({ hasText: /révoqué par votre formateur/ })
      .first()
      .waitFor({ timeout: 30_000 });
    await screenshot(student, 'dashboard-6-revoked');
    const events = await dashboard.locator('[data-events]').innerText();
    expect(events).toMatch(/Lien de Alice révoqué/);
    expect(events).toMatch(/Machine de Alice réinitialisée/);
  });

  it("shows a student's lab machine by machine: watches node2's terminal, resets node2 alone", async () => {
    const server = course!.server;
    const created = await classCli(files.db, [
      'create',
      '--name',
      'Swarm e2e',
      '--seats',
      '1',
      '--docker',
      'false',
      '--machines',
      'node1,node2',
      '--url',
      server.url,
    ]);
    const link = parseLinks(created)[0]!;
    // The student's lab through the API (the lesson page's dock for labs has tests of its own).
    const lab = CreateSandboxResponse.parse((await bearerRequest(server, 'POST', 'api/sandboxes', link.token)).body);
    const node1 = await attachTerminal(server, lab, '1');
    const node2 = await attachTerminal(server, lab, '1', { machine: 'node2' });
    await node2.reader.run('echo SUR-$(hostname)');

    // The class list is read when the dashboard opens (the key stays in the tab).
    await dashboard.reload();
    await dashboard.locator('[data-class-select]').selectOption({ label: 'Swarm e2e (1 élèves)' });
    const seat = row('Élève 1');
    for (const machine of ['node1', 'node2']) await seat.locator(`[data-machine="${machine}"][data-state="running"]`).waitFor({ timeout: 30_000 });
    expect(await seat.locator('div[data-machine="node2"]').innerText()).toContain(lab.machines![1]!.address);
    await screenshot(dashboard, 'dashboard-7-lab');

    await seat.getByRole('button', { name: 'Voir node2 · 1 (Élève 1)' }).click();
    const viewer = dashboard.locator('[data-viewer]');
    await viewer.getByRole('heading', { name: 'node2 · 1 de Élève 1' }).waitFor();
    await dashboard.waitForFunction(
      () => /SUR-node2/.test((document.querySelector('[data-viewer-screen] .xterm-rows') as HTMLElement | null)?.innerText ?? ''),
      undefined,
      { timeout: 30_000 },
    );
    await viewer.getByRole('button', { name: 'Fermer' }).click();

    await seat.getByRole('button', { name: 'Réinitialiser node2 (Élève 1)' }).click();
    expect((await node2.client.closed).code).toBe(CloseCode.machineReset);
    expect((await node1.reader.run('echo encore-$(hostname)')).output.trim()).toBe('encore-node1');
    await dashboard
      .locator('[data-events]')
      .filter({ hasText: /Machine node2 de Élève 1 réinitialisée/ })
      .waitFor({ timeout: 30_000 });
    await node1.client.close();
  });
});
