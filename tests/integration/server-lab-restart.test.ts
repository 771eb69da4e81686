// A lab outlives a restart of its server as a single machine does: after
// SIGTERM or SIGKILL the next server process takes the lab over (its network
// and every machine, with their shells and recent output) before it answers
// anyone. A machine of the lab that died while the server was down is made
// anew at its place, the others kept; a lab with no machine left is told
// lost, in French, and leaves nothing behind. In class mode the student
// gets the same lab again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ResetMachinesResponse, SandboxStatus, apiPath } from '../../contracts/protocol.ts';
import { SandboxCgroups } from '../../sandbox-server/src/drivers/namespace/cgroups.ts';
import { labMachineId } from '../../sandbox-server/src/drivers/namespace/lab.ts';
import { resolveOptions } from '../../sandbox-server/src/drivers/namespace/options.ts';
import { namespaceLeftovers } from '../support/namespace-leftovers.ts';
import { bearerRequest, createClass } from '../support/classroom.ts';
import { createdSandboxIds, startServer, type RunningServer } from '../support/server.ts';
import { apiRequest, attachTerminal, createSandbox, type CreatedSandbox } from '../support/server-client.ts';

const dbDir = mkdtempSync(join(tmpdir(), 'lab-restart-test-'));
const env = { SANDBOX_DB: join(dbDir, 'sandboxes.sqlite'), SANDBOXES_ON_EXIT: 'keep', SANDBOX_DOCKER: 'false', WARM_POOL_SIZE: '0' };
const servers: RunningServer[] = [];
const { prefix, stateDir } = resolveOptions();
const MACHINES = ['node1', 'node2'];

async function start(extra: Record<string, string> = {}): Promise<RunningServer> {
  const server = await startServer({ env: { ...env, ...extra } });
  servers.push(server);
  return server;
}

function leftovers(labIds: string[]): string[] {
  const ids = labIds.flatMap((id) => MACHINES.map((_, index) => labMachineId(id, index)));
  return namespaceLeftovers({ prefix, stateDir, ids: [...labIds, ...ids], labIds });
}

afterAll(async () => {
  // Every server stopped (one a failed test left running would keep its labs), then the last one
  // stops for good and removes every lab.
  for (const server of servers) await server.stop();
  const last = await start({ SANDBOXES_ON_EXIT: 'destroy' });
  await last.stop();
  rmSync(dbDir, { recursive: true, force: true });
  const left = leftovers(servers.flatMap((server) => createdSandboxIds(server)));
  if (left.length > 0) console.error(last.rawOutput, last.logs.slice(-12));
  expect(left).toEqual([]);
}, 120_000);

/** A lab whose every machine has a shell as a reader leaves it: a variable, a file, a job, some output. */
async function busyLab(server: RunningServer, marker: string): Promise<CreatedSandbox> {
  const lab = await createSandbox(server, { body: JSON.stringify({ machines: MACHINES }) });
  for (const machine of MACHINES) await busyShell(server, lab, machine, marker);
  return lab;
}

async function busyShell(server: RunningServer, lab: { id: string; token: string }, machine: string, marker: string): Promise<void> {
  const { reader, client } = await attachTerminal(server, lab, '1', { machine });
  await reader.run(`export KEPT=${marker}-${machine}; echo ${marker} > ~/kept.txt; sleep 900 & echo before-${marker}`);
  await client.close();
}

async function expectSameShell(server: RunningServer, lab: { id: string; token: string }, machine: string, marker: string): Promise<void> {
  const { reader, ready, client } = await attachTerminal(server, lab, '1', { machine });
  expect(ready.resumed).toBe(true);
  expect(ready.replayBytes).toBeGreaterThan(0);
  await reader.waitFor(`before-${marker}`);
  await client.waitForBytes(ready.replayBytes);
  const { output } = await reader.run('echo "$KEPT"; cat ~/kept.txt; jobs; hostname');
  expect(output.trim()).toMatch(new RegExp(`^${marker}-${machine}\\n${marker}\\n\\[1\\]\\+ +Running +sleep 900 &\\n${machine}$`));
  await client.close();
}

let pings = 0;
/** Pings `to` from a new terminal of machine `from` (a new one each time: a resumed one would replay the last answer first). */
async function ping(server: RunningServer, lab: { id: string; token: string }, from: string, to: string): Promise<string> {
  const { reader, client } = await attachTerminal(server, lab, String(10 + pings++), { machine: from });
  const { output } = await reader.run(`ping -c 1 -W 5 ${to} >/dev/null && echo joint`);
  await client.close();
  return output.trim();
}

describe('a lab across a restart', () => {
  it('after SIGTERM, the next server takes the lab over: every machine with its shell, its network, and reset still works', async () => {
    const first = await start();
    const lab = await busyLab(first, 'sigterm');
    expect(await first.stop()).toEqual({ code: 0, signal: null });
    expect(first.logs.some((line) => line.msg === 'sandboxes detached for the next server process' && line.kept === 1)).toBe(true);

    const second = await start();
    await second.waitForLog((line) => line.msg === 'sandbox taken over after a restart' && line.sandbox === lab.id);
    const status = SandboxStatus.parse(await (await apiRequest(second, 'GET', apiPath.sandbox(lab.id), { token: lab.token })).json());
    expect(status.terminals.map(({ name }) => name).sort()).toEqual(['1', 'node2/1']);
    for (const machine of MACHINES) await expectSameShell(second, lab, machine, 'sigterm');
    expect(await ping(second, lab, 'node1', 'node2')).toBe('joint');

    // A machine reset after the restart gets its old address back.
    const reset = await fetch(new URL(apiPath.machineReset(lab.id, 'node2'), second.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${lab.token}` },
    });
    expect(reset.status).toBe(200);
    expect(ResetMachinesResponse.parse(await reset.json()).machines).toEqual([lab.machines![1]]);
    expect(await ping(second, lab, 'node1', 'node2')).toBe('joint');
    await second.stop();
  }, 300_000);

  it('after SIGKILL, a machine that died meanwhile is made anew and the other keeps its shell', async () => {
    const first = await start();
    const lab = await busyLab(first, 'sigkill');
    first.process.kill('SIGKILL');
    expect(await first.stop()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await new SandboxCgroups(`${prefix}/${labMachineId(lab.id, 1)}`).killAll()).toBe(true);

    const second = await start();
    await second.waitForLog((line) => line.msg === 'sandbox taken over after a restart' && line.sandbox === lab.id);
    expect(second.logs.some((line) => line.msg === 'lab machine lost while no server ran it: made anew' && line.machine === 'node2')).toBe(true);
    await expectSameShell(second, lab, 'node1', 'sigkill');
    const fresh = await attachTerminal(second, lab, '1', { machine: 'node2' });
    expect(fresh.ready.resumed).toBe(false);
    expect((await fresh.reader.run('cat ~/kept.txt 2>/dev/null || echo neuf; hostname')).output.trim()).toBe('neuf\nnode2');
    await fresh.client.close();
    expect(await ping(second, lab, 'node2', 'node1')).toBe('joint');
    await second.stop();
  }, 300_000);

  it('tells the reader, in French, about a lab whose machines all died while the server was down, and removes it', async () => {
    const first = await start();
    const lab = await busyLab(first, 'lost');
    first.process.kill('SIGKILL');
    await first.stop();
    for (const index of MACHINES.keys()) expect(await new SandboxCgroups(`${prefix}/${labMachineId(lab.id, index)}`).killAll()).toBe(true);

    const second = await start();
    await second.waitForLog((line) => line.msg === 'sandbox lost while the server was down' && line.sandbox === lab.id);
    const gone = await apiRequest(second, 'GET', apiPath.sandbox(lab.id), { token: lab.token });
    expect(gone.status).toBe(410);
    expect((await gone.json()).error.message).toMatch(/^Votre machine s'est arrêtée pendant le redémarrage du serveur/);
    expect(leftovers([lab.id])).toEqual([]);
    await second.stop();
  }, 300_000);
});

describe('a class of labs across a restart', () => {
  it("gives the student the same lab again after SIGKILL, each machine's shell kept", async () => {
    const db = join(dbDir, 'classroom.sqlite');
    const { links } = await createClass(db, ['--name', 'Swarm qui redémarre', '--seats', '1', '--lifetime', '2h', '--machines', MACHINES.join(',')]);
    const classEnv = { CLASS_MODE: 'true', CLASS_DB: db };
    const first = await start(classEnv);
    const given = await bearerRequest(first, 'POST', 'api/sandboxes', links[0]!.token);
    expect(given.status).toBe(201);
    await busyShell(first, given.body, 'node2', 'classe');
    first.process.kill('SIGKILL');
    await first.stop();

    const second = await start(classEnv);
    await second.waitForLog((line) => line.msg === 'machine of a student found again after a restart' && line.sandbox === given.body.id);
    const again = await bearerRequest(second, 'POST', 'api/sandboxes', links[0]!.token);
    expect(again.body.id).toBe(given.body.id);
    expect(again.body.machines).toEqual(given.body.machines);
    await expectSameShell(second, { id: given.body.id, token: again.body.token }, 'node2', 'classe');
    await second.stop();
  }, 300_000);
});
