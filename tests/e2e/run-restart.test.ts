// The reader's page across a restart of the server, in real Chromium: after a
// crash (kill -9) and after a graceful restart (SIGTERM), the terminal comes
// back by itself, without a click, to the same shell (its variable, its pid,
// its screen). And when the agent inside the reader's machine crashes, the
// page says so in French and « Réinitialiser la machine » gives a new one.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveOptions } from '../../sandbox-server/src/drivers/namespace/options.ts';
import { launchBrowser, type LaunchedBrowser, type Page } from '../support/browser.ts';
import { machineProcessPid } from '../support/machine-process.ts';
import { namespaceLeftovers } from '../support/namespace-leftovers.ts';
import { createdSandboxIds, startServer, type RunningServer } from '../support/server.ts';
import { ensureSiteBuilt } from '../support/site.ts';
import {
  LESSON_PATH,
  commandOutput,
  rememberedMachine,
  runSnippet,
  screenshot,
  snippets,
  waitForConnected,
  waitForTerminalText,
} from '../support/terminal-page.ts';

const dbDir = mkdtempSync(join(tmpdir(), 'restart-e2e-'));
const servers: RunningServer[] = [];
let env: Record<string, string>;
let browser: LaunchedBrowser;
let server: RunningServer;
let page: Page;

/** The same address every time: the page keeps talking to it across the restart. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function start(extra: Record<string, string> = {}): Promise<RunningServer> {
  const started = await startServer({ env: { ...env, ...extra } });
  servers.push(started);
  return started;
}

beforeAll(async () => {
  env = {
    SITE_DIR: await ensureSiteBuilt(),
    PORT: String(await freePort()),
    SANDBOX_DB: join(dbDir, 'sandboxes.sqlite'),
    SANDBOXES_ON_EXIT: 'keep',
    SANDBOX_DOCKER: 'false',
    MAX_SANDBOXES_PER_CLIENT: '20',
  };
  server = await start();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  for (const running of servers) await running.stop();
  // Stopping for good: a server that destroys its machines at exit takes them over and removes them.
  const last = await start({ SANDBOXES_ON_EXIT: 'destroy' });
  await last.stop();
  rmSync(dbDir, { recursive: true, force: true });
  const { prefix, stateDir } = resolveOptions();
  expect(namespaceLeftovers({ prefix, stateDir, ids: servers.flatMap((running) => createdSandboxIds(running)) })).toEqual([]);
});

it('reconnects by itself to the same shell after a kill -9 and after a SIGTERM of the server', async () => {
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(new URL(LESSON_PATH, server.url).href);
  await runSnippet(page, snippets(page).nth(0));
  await waitForConnected(page, '1');
  const shell = await commandOutput(page, '1', 'export KEPT=survives; echo "shell=$$ $KEPT"');
  expect(shell).toMatch(/^shell=\d+ survives$/);
  const machine = await rememberedMachine(page);

  for (const how of ['SIGKILL', 'SIGTERM'] as const) {
    if (how === 'SIGKILL') server.process.kill('SIGKILL');
    await server.stop();
    // The page notices and keeps trying (backoff) while no server answers.
    await page.locator('lesson-terminal[name="1"] [data-terminal-status]', { hasText: /reconnexion/ }).waitFor({ timeout: 30_000 });
    server = await start();
    // Nobody clicks: the page comes back to its terminal, whose recent output the machine kept.
    await waitForConnected(page, '1', 90_000);
    await waitForTerminalText(page, '1', /shell=\d+ survives/);
    expect(await commandOutput(page, '1', 'echo "shell=$$ $KEPT"')).toBe(shell);
    expect((await rememberedMachine(page))?.id).toBe(machine?.id);
  }
  await screenshot(page, 'run-restart-reconnected');
});

it("says in French that the machine's agent stopped, and « Réinitialiser la machine » gives a new machine", async () => {
  const before = await rememberedMachine(page);
  // Its terminal keeper killed: the machine's agent is gone for good (the Node agent alone would be restarted).
  process.kill(machineProcessPid(before!.id, 'terminal-keeper'), 'SIGKILL');
  const status = page.locator('[data-machine-status]');
  await status.filter({ hasText: /son agent.*a cessé de fonctionner/ }).waitFor({ timeout: 30_000 });
  expect(await status.innerText()).toMatch(/^Votre machine s'est arrêtée : son agent.*Cliquez sur « Réinitialiser la machine »/s);
  await screenshot(page, 'run-restart-agent-crashed');

  await page.getByRole('button', { name: 'Réinitialiser la machine' }).click();
  await status.filter({ hasText: 'Nouvelle machine prête.' }).waitFor({ timeout: 90_000 });
  await waitForConnected(page, '1');
  // A fresh shell: the variable exported in the old machine is unset here.
  expect(await commandOutput(page, '1', 'echo "new=$KEPT"')).toBe('new=');
  expect((await rememberedMachine(page))?.id).not.toBe(before?.id);
  await page.close();
});
