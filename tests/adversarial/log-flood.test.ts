// Finding 6: the machine's stdout/stderr and its agent's Log frames reached
// the server's log as fast as root inside could write them (≈ 110 MB/s), and
// a Log frame became a record of its own (level, message). Now each machine
// has a log budget, its words are fields of the host's records, and what is
// over budget is counted in "N log records dropped" summaries; a machine that
// keeps flooding is ended.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { attack, healthy, hostileMachine, type HostileMachine } from '../support/adversary.ts';
import { deleteSandbox } from '../support/server-client.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';

/** Lines of ≈ 60 bytes: ≈ 24 MB if all were logged. */
const FLOOD_LINES = 400_000;
const LOG_BUDGET_BYTES = 512 * 1024;

let server: RunningServer;
const machines: HostileMachine[] = [];

beforeAll(async () => {
  server = await startServer({ env: { SANDBOX_DOCKER: 'false', LOG_LEVEL: 'info' } });
});

afterAll(async () => {
  for (const machine of machines) await deleteSandbox(server, machine.sandbox);
  expect(await shutDown(server)).toEqual({ code: 0, sandboxesCreated: 2, leftovers: [] });
});

it("logs a flood of output lines within the machine's budget, as fields, with a dropped-lines summary", async () => {
  const machine = await hostileMachine(server);
  machines.push(machine);
  const logBefore = server.logBytes;
  const linesBefore = server.logs.length;
  await machine.reader.run(attack('lines', [1, FLOOD_LINES], 8), { timeoutMs: 60_000 });
  expect(await healthy(server)).toBe(true);
  const records = server.logs.slice(linesBefore);
  // Never a record of the machine's own making.
  expect(records.filter((record) => record.msg === 'forged' || record.level === 'fatal')).toEqual([]);
  expect(records.filter((record) => record.msg === 'sandbox output').every((record) => record.sandbox === machine.sandbox.id)).toBe(true);
  expect(server.logBytes - logBefore).toBeLessThan(LOG_BUDGET_BYTES);
  await deleteSandbox(server, machine.sandbox);
  const summary = await server.waitForLog((record) => /log records from the machine dropped/.test(record.msg) && record.sandbox === machine.sandbox.id);
  expect(Number(summary.dropped)).toBeGreaterThan(0);
});

it('turns forged Log frames into fields, and ends a machine that floods them', async () => {
  const machine = await hostileMachine(server);
  machines.push(machine);
  const logBefore = server.logBytes;
  const linesBefore = server.logs.length;
  machine.client.type(`${attack('logframes', [200_000], 10)}\r`);
  const closed = await machine.client.closed;
  expect(closed.code).toBe(4410);
  const error = machine.client.messages.find((message) => message.type === 'error');
  expect(error).toMatchObject({ code: 'gone' });
  expect(error && 'message' in error ? error.message : '').toMatch(/machine/i);
  expect(await healthy(server)).toBe(true);
  const records = server.logs.slice(linesBefore);
  expect(records.filter((record) => record.msg === 'sandbox destroyed' && record.source === 'agent')).toEqual([]);
  expect(records.filter((record) => record.sandbox === 'someone-else')).toEqual([]);
  expect(server.logBytes - logBefore).toBeLessThan(LOG_BUDGET_BYTES);
});
