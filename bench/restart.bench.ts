// A restart loses nothing, measured: 30 machines with busy shells (a loop
// printing in one terminal; `nano` open over a background `sleep` in another),
// then the server is killed (kill -9, as a crash or the OOM killer would) and
// started again; then stopped with SIGTERM (systemd's restart) and started
// again. Each time: how long until every machine's terminals are attached
// again (the loop still counting from where it was, the same shell with its
// exported variable and its job), machines lost, and at the end what the
// machines left on the host once destroyed for good (leaks).
//
//   npm run bench -- restart          (RESTART_MACHINES=30, RESTART_DOCKER=false)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { resolveOptions } from '../sandbox-server/src/drivers/namespace/options.ts';
import { namespaceLeftovers } from '../tests/support/namespace-leftovers.ts';
import { attachTerminal, createSandbox, type AttachedTerminal, type CreatedSandbox } from '../tests/support/server-client.ts';
import { createdSandboxIds, startServer, type RunningServer } from '../tests/support/server.ts';
import { report, reportTimings } from './stats.ts';

const MACHINES = Number(process.env.RESTART_MACHINES ?? 30);
const dbDir = mkdtempSync(join(tmpdir(), 'restart-bench-'));
const env = {
  SANDBOX_DB: join(dbDir, 'sandboxes.sqlite'),
  SANDBOXES_ON_EXIT: 'keep',
  SANDBOX_DOCKER: process.env.RESTART_DOCKER ?? 'false',
  MAX_SANDBOXES: String(MACHINES + 10),
  MAX_SANDBOXES_PER_CLIENT: String(MACHINES + 10),
  MAX_SANDBOXES_PER_ADDRESS: String(MACHINES + 10),
  LOG_LEVEL: 'info',
};
const servers: RunningServer[] = [];

async function start(extra: Record<string, string> = {}): Promise<RunningServer> {
  const server = await startServer({ env: { ...env, ...extra } });
  servers.push(server);
  return server;
}

interface Machine {
  sandbox: CreatedSandbox;
  mark: string;
  /** The loop's last count seen before the restart. */
  lastTick: number;
}

const lastTick = (text: string) => Math.max(0, ...[...text.matchAll(/tick (\d+)/g)].map((match) => Number(match[1])));

async function busyMachine(server: RunningServer, index: number): Promise<Machine> {
  const sandbox = await createSandbox(server);
  const mark = `m${index}-${sandbox.id.slice(0, 6)}`;
  const loop = await attachTerminal(server, sandbox, 'loop');
  await loop.reader.waitForPrompt();
  loop.client.type('n=0; while :; do n=$((n+1)); echo "tick $n"; sleep 0.2; done\r');
  const edit = await attachTerminal(server, sandbox, 'edit');
  await edit.reader.waitForPrompt();
  await edit.reader.run(`export MARK=${mark}; sleep 3600 &`);
  edit.client.type('nano notes.txt\r');
  await edit.reader.waitFor('GNU nano');
  edit.client.type(`notes of ${mark}`);
  await loop.reader.waitFor('tick 3');
  const machine = { sandbox, mark, lastTick: lastTick(loop.reader.text) };
  // The pages stay open: the server's end takes their sockets down with it.
  return machine;
}

/** Attaches to both terminals and checks the shells are the same ones; resolves with when it was done. */
async function sameShells(server: RunningServer, machine: Machine, nanoOpen: boolean): Promise<{ ok: boolean; why?: string }> {
  let loop: AttachedTerminal | undefined;
  let edit: AttachedTerminal | undefined;
  try {
    loop = await attachTerminal(server, machine.sandbox, 'loop');
    if (!loop.ready.resumed) return { ok: false, why: 'loop terminal not resumed (a new shell)' };
    // The loop kept counting while no server ran the machine, and still does.
    const before = machine.lastTick;
    await loop.reader.waitFor(new RegExp(`tick (${before + 1}|[1-9]\\d{${String(before).length}})`), { timeoutMs: 20_000 });
    edit = await attachTerminal(server, machine.sandbox, 'edit');
    if (!edit.ready.resumed) return { ok: false, why: 'edit terminal not resumed (a new shell)' };
    // All of the replay first: its marks are not the next command's.
    await edit.client.waitForBytes(edit.ready.replayBytes);
    if (nanoOpen) {
      await edit.reader.waitFor(`notes of ${machine.mark}`, { timeoutMs: 20_000 }); // nano's screen, replayed
      edit.client.type('\x18'); // Ctrl-X: nano asks whether to save
      await edit.reader.waitFor(/Save modified buffer/, { timeoutMs: 20_000 });
      edit.client.type('n');
      await edit.reader.waitForPrompt({ from: edit.reader.cursor.marks, timeoutMs: 20_000 });
    }
    const { output } = await edit.reader.run('echo "$MARK"; jobs', { timeoutMs: 20_000 });
    if (!output.startsWith(`${machine.mark}\n`)) return { ok: false, why: `exported variable lost: ${JSON.stringify(output)}` };
    if (!/\[1\]\+ +Running +sleep 3600 &/.test(output)) return { ok: false, why: `background job lost: ${JSON.stringify(output)}` };
    machine.lastTick = lastTick(loop.reader.text);
    return { ok: true };
  } catch (error) {
    return { ok: false, why: String(error) };
  } finally {
    await loop?.client.close();
    await edit?.client.close();
  }
}

async function restart(how: 'SIGKILL' | 'SIGTERM', old: RunningServer, machines: Machine[], nanoOpen: boolean): Promise<RunningServer> {
  const label = how === 'SIGKILL' ? 'kill -9' : 'SIGTERM';
  const stopped = performance.now();
  if (how === 'SIGKILL') old.process.kill('SIGKILL');
  await old.stop();
  const stopMs = performance.now() - stopped;
  const started = performance.now();
  const next = await start();
  const listeningMs = performance.now() - started;
  const adoption = await next.waitForLog((line) => line.msg === 'sandboxes of the previous server process taken over');
  const perMachine: number[] = [];
  const results = await Promise.all(
    machines.map(async (machine) => {
      const result = await sameShells(next, machine, nanoOpen);
      perMachine.push(performance.now() - started);
      return result;
    }),
  );
  const allMs = performance.now() - started;
  const failed = results.filter((result) => !result.ok);
  for (const [index, result] of results.entries()) if (!result.ok) console.error(`  machine ${index}: ${result.why}`);
  report(`${label}: machines`, machines.length);
  report(`${label}: old server gone after`, Math.round(stopMs), 'ms');
  report(`${label}: new server listening after`, Math.round(listeningMs), 'ms');
  report(`${label}: machines taken over by the new server`, Number(adoption.adopted));
  report(`${label}: take-over inside the server`, Number(adoption.ms), 'ms');
  reportTimings(`${label}: start → machine's shells checked`, perMachine);
  report(`${label}: start → all ${machines.length} reattached and checked`, Math.round(allMs), 'ms');
  report(`${label}: machines lost`, Number(adoption.lost) + failed.length);
  return next;
}

async function main(): Promise<void> {
  const first = await start();
  const createStarted = performance.now();
  const machines: Machine[] = [];
  // A few at a time: a class arriving, not one burst.
  for (let index = 0; index < MACHINES; index += 5) {
    machines.push(...(await Promise.all(Array.from({ length: Math.min(5, MACHINES - index) }, (_, offset) => busyMachine(first, index + offset)))));
  }
  report('busy machines set up', machines.length);
  report('setting them up took', Math.round(performance.now() - createStarted), 'ms');

  const afterKill = await restart('SIGKILL', first, machines, true);
  const afterTerm = await restart('SIGTERM', afterKill, machines, false);

  // Stopping for good: a server that destroys its machines at exit takes them over and removes them.
  await afterTerm.stop();
  const last = await start({ SANDBOXES_ON_EXIT: 'destroy' });
  await last.stop();
  const ids = [...new Set(servers.flatMap((server) => createdSandboxIds(server)))];
  const { prefix, stateDir } = resolveOptions();
  const leaks = namespaceLeftovers({ prefix, stateDir, ids });
  for (const leak of leaks.slice(0, 10)) console.error(`  leak: ${leak}`);
  report('leaks after destroying them for good', leaks.length);
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const server of servers) await server.stop();
    rmSync(dbDir, { recursive: true, force: true });
  });
