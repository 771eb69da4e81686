// A restart of the server loses nothing: after SIGTERM (systemd's restart)
// and after SIGKILL (a crash, an OOM kill), the next server process takes
// every machine over before it answers anyone, and a reader's terminal
// reattaches to the same shell (exported variable, background job) with its
// recent output. A machine that died meanwhile is told in French; a machine
// whose agent dies for good ends alone, the others go on.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../contracts/protocol.ts';
import { SandboxCgroups } from '../../sandbox-server/src/drivers/namespace/cgroups.ts';
import { resolveOptions } from '../../sandbox-server/src/drivers/namespace/options.ts';
import { apiRequest, attachTerminal, createSandbox, type CreatedSandbox } from '../support/server-client.ts';
import { bearerRequest, createClass } from '../support/classroom.ts';
import { createdSandboxIds, startServer, type RunningServer } from '../support/server.ts';
import { machineProcessPid } from '../support/machine-process.ts';
import { namespaceLeftovers } from '../support/namespace-leftovers.ts';

const dbDir = mkdtempSync(join(tmpdir(), 'restart-test-'));
const env = { SANDBOX_DB: join(dbDir, 'sandboxes.sqlite'), SANDBOXES_ON_EXIT: 'keep', SANDBOX_DOCKER: 'false', MAX_SANDBOXES_PER_CLIENT: '20' };
const servers: RunningServer[] = [];
const { prefix, stateDir } = resolveOptions();

async function start(extra: Record<string, string> = {}): Promise<RunningServer> {
  const server = await startServer({ env: { ...env, ...extra } });
  servers.push(server);
  return server;
}

afterAll(async () => {
  // Any server a failed test left running first (it would hold its machines), then the last
  // server stops for good and removes every machine.
  for (const server of servers) await server.stop();
  const last = await start({ SANDBOXES_ON_EXIT: 'destroy' });
  const lastExit = await last.stop();
  rmSync(dbDir, { recursive: true, force: true });
  const ids = servers.flatMap((server) => createdSandboxIds(server));
  const left = namespaceLeftovers({ prefix, stateDir, ids });
  // What the last server said about the machines it took over, to tell why any is left.
  if (left.length > 0) console.error(lastExit, last.rawOutput, last.logs.slice(-12));
  expect(left).toEqual([]);
});

/** Sets a shell up the way a reader leaves it: a variable, a file, a job in the background, some output. */
async function busyMachine(server: RunningServer, marker: string): Promise<CreatedSandbox> {
  const sandbox = await createSandbox(server);
  await busyShell(server, sandbox, marker);
  return sandbox;
}

async function busyShell(server: RunningServer, sandbox: { id: string; token: string }, marker: string): Promise<void> {
  const { reader, client } = await attachTerminal(server, sandbox, '1');
  await reader.waitForPrompt();
  await reader.run(`export KEPT=${marker}; echo ${marker} > ~/kept.txt; sleep 900 & echo before-${marker}`);
  await client.close();
}

async function expectSameShell(server: RunningServer, sandbox: { id: string; token: string }, marker: string): Promise<void> {
  const status = await apiRequest(server, 'GET', `api/sandboxes/${sandbox.id}`, { token: sandbox.token });
  expect(status.status).toBe(200);
  const { reader, ready, client } = await attachTerminal(server, sandbox, '1');
  expect(ready.resumed).toBe(true);
  expect(ready.replayBytes).toBeGreaterThan(0);
  await reader.waitFor(`before-${marker}`);
  // All of the replay first: its marks are not the next command's.
  await client.waitForBytes(ready.replayBytes);
  const { output } = await reader.run('echo "$KEPT"; cat ~/kept.txt; jobs');
  expect(output).toMatch(new RegExp(`^${marker}\\n${marker}\\n\\[1\\]\\+ +Running +sleep 900 &`));
  await client.close();
}

describe('a restart', () => {
  it('after SIGTERM, the next server takes every machine over with the same shell', async () => {
    const first = await start();
    const sandbox = await busyMachine(first, 'sigterm');
    expect(await first.stop()).toEqual({ code: 0, signal: null });
    expect(first.logs.some((line) => line.msg === 'sandboxes detached for the next server process' && line.kept === 1)).toBe(true);

    const second = await start();
    await second.waitForLog((line) => line.msg === 'sandbox taken over after a restart' && line.sandbox === sandbox.id);
    await expectSameShell(second, sandbox, 'sigterm');
    await second.stop();
  });

  it('after SIGKILL, the next server takes every machine over with the same shell', async () => {
    const first = await start();
    const sandbox = await busyMachine(first, 'sigkill');
    first.process.kill('SIGKILL');
    expect(await first.stop()).toEqual({ code: null, signal: 'SIGKILL' });

    const second = await start();
    await second.waitForLog((line) => line.msg === 'sandbox taken over after a restart' && line.sandbox === sandbox.id);
    await expectSameShell(second, sandbox, 'sigkill');
    await second.stop();
  });

  it('tells the reader, in French, about a machine that died while the server was down, and removes it', async () => {
    const first = await start();
    const sandbox = await busyMachine(first, 'lost');
    first.process.kill('SIGKILL');
    await first.stop();
    expect(await new SandboxCgroups(`${prefix}/${sandbox.id}`).killAll()).toBe(true);

    const second = await start();
    await second.waitForLog((line) => line.msg === 'sandbox lost while the server was down' && line.sandbox === sandbox.id);
    const gone = await apiRequest(second, 'GET', `api/sandboxes/${sandbox.id}`, { token: sandbox.token });
    expect(gone.status).toBe(410);
    expect((await gone.json()).error.message).toMatch(/^Votre machine s'est arrêtée pendant le redémarrage du serveur/);
    expect(namespaceLeftovers({ prefix, stateDir, ids: [sandbox.id] })).toEqual([]);
    await second.stop();
  });
});

describe('in class mode', () => {
  it('gives each student the same machine again after a restart, on the dashboard too', async () => {
    const db = join(dbDir, 'classroom.sqlite');
    const { links, instructorKey } = await createClass(db, ['--name', 'Classe qui redémarre', '--seats', '1', '--lifetime', '2h']);
    const link = links[0]!;
    const classEnv = { CLASS_MODE: 'true', CLASS_DB: db };
    const first = await start(classEnv);
    const given = await bearerRequest(first, 'POST', 'api/sandboxes', link.token);
    expect(given.status).toBe(201);
    await busyShell(first, given.body, 'classe');
    first.process.kill('SIGKILL');
    await first.stop();

    const second = await start(classEnv);
    await second.waitForLog((line) => line.msg === 'machine of a student found again after a restart' && line.sandbox === given.body.id);
    const again = await bearerRequest(second, 'POST', 'api/sandboxes', link.token);
    expect(again.body.id).toBe(given.body.id);
    // A new token for the student's tabs (only hashes of the old one were kept); the old one still opens the machine.
    await expectSameShell(second, { ...given.body, token: again.body.token }, 'classe');
    expect((await apiRequest(second, 'GET', `api/sandboxes/${given.body.id}`, { token: given.body.token })).status).toBe(200);
    const classes = await bearerRequest(second, 'GET', 'api/class/classes', instructorKey);
    const view = await bearerRequest(second, 'GET', `api/class/classes/${classes.body.classes[0].id}`, instructorKey);
    expect(view.body.students[0].machine?.id).toBe(given.body.id);
    await second.stop();
  });
});

describe('a machine whose agent dies for good (its terminal keeper killed: the Node agent alone would be restarted)', () => {
  it('ends that machine with a French message offering a reset; the other machines go on', async () => {
    const server = await start();
    const [victim, bystander] = [await createSandbox(server), await createSandbox(server)];
    const hurt = await attachTerminal(server, victim, '1');
    const fine = await attachTerminal(server, bystander, '1');
    await Promise.all([hurt.reader.waitForPrompt(), fine.reader.waitForPrompt()]);

    process.kill(machineProcessPid(victim.id, 'terminal-keeper'), 'SIGKILL');
    const closed = await hurt.client.closed;
    expect(closed.code).toBe(CloseCode.gone);
    const error = hurt.client.messages.find((message) => message.type === 'error');
    expect(error).toMatchObject({
      message: expect.stringMatching(/^Votre machine s'est arrêtée : son agent/),
      hint: expect.stringContaining('« Réinitialiser la machine »'),
    });

    expect((await fine.reader.run('echo still-here')).output.trim()).toBe('still-here');
    await fine.client.close();
    await server.stop();
  });
});

describe('a restart right after a machine died', () => {
  it('waits for that machine to be removed: nothing of it is left, its uid range included', async () => {
    const server = await start();
    const victim = await createSandbox(server);
    const hurt = await attachTerminal(server, victim, '1');
    await hurt.reader.waitForPrompt();
    process.kill(machineProcessPid(victim.id, 'terminal-keeper'), 'SIGKILL');
    // The reader hears of the death at once; the removal goes on in the background, and the restart comes now.
    expect((await hurt.client.closed).code).toBe(CloseCode.gone);
    expect(await server.stop()).toEqual({ code: 0, signal: null });
    expect(namespaceLeftovers({ prefix, stateDir, ids: [victim.id] })).toEqual([]);
    // Removed before the server let go of the rest, not by luck within the shutdown's last 200 ms
    // (on a loaded host it was not, and its uid range stayed held).
    const removedAt = server.logs.findIndex((line) => line.msg === 'sandbox destroyed' && line.sandbox === victim.id);
    const detachedAt = server.logs.findIndex((line) => line.msg === 'sandboxes detached for the next server process');
    expect(removedAt).toBeGreaterThanOrEqual(0);
    expect(removedAt).toBeLessThan(detachedAt);
  });
});
