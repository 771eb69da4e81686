// Finding 1: bytes without a newline written to the agent's stderr (a pipe
// to the host, copied with pidfd_getfd) once grew one line in the server until
// V8's string limit, and the throw took every reader's machine down. Now the
// server keeps at most one cut line of it and reads at a bounded pace.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { attack, healthy, runAttack, hostileMachine, serverRssMiB, type HostileMachine } from '../support/adversary.ts';
import { deleteSandbox } from '../support/server-client.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';

/** What the attack may write in its 8 s: far more than the budget below if nothing holds it back. */
const ATTACK_BYTES = 96 * 1024 * 1024;
const RSS_BUDGET_MIB = 40;

let server: RunningServer;
let machine: HostileMachine;

beforeAll(async () => {
  server = await startServer({ env: { SANDBOX_DOCKER: 'false', LOG_LEVEL: 'info' } });
  machine = await hostileMachine(server);
});

afterAll(async () => {
  if (machine) await deleteSandbox(server, machine.sandbox);
  expect(await shutDown(server)).toEqual({ code: 0, sandboxesCreated: 1, leftovers: [] });
});

it('keeps one cut line of an endless one, stays up and within its memory budget', async () => {
  const before = await serverRssMiB(server);
  const logBefore = server.logBytes;
  await machine.reader.run(attack('nonewline', [2, ATTACK_BYTES], 8), { timeoutMs: 60_000 });
  expect(await healthy(server)).toBe(true);
  expect((await serverRssMiB(server)) - before).toBeLessThan(RSS_BUDGET_MIB);
  // The machine still works for its reader.
  expect((await machine.reader.run('echo still-here')).output.trim()).toBe('still-here');
  // Once the writer is gone the pending line is written: cut, with the count of what was skipped.
  await runAttack(machine.reader, 'newline', [2]);
  const line = await server.waitForLog((record) => record.msg === 'sandbox output' && Number(record.cutBytes) > 0);
  expect(String(line.line).length).toBeLessThanOrEqual(4096);
  expect(server.logBytes - logBefore).toBeLessThan(1024 * 1024);
});
