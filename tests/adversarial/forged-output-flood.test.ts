// Finding 3: root inside stops the agent and writes Data frames on its socket
// (copied with pidfd_getfd), ignoring Pause, while the reader's client stops
// reading: the server once held 815 MB after 1 s. Now the server never queues
// more than its own ceiling for a client, and a machine that ignores Pause is
// ended with a French message.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { attack, healthy, hostileMachine, serverRssMiB } from '../support/adversary.ts';
import { deleteSandbox, type CreatedSandbox } from '../support/server-client.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';

/** What the forged agent sends at most: several times the budget if the server held it. */
const FLOOD_BYTES = 192 * 1024 * 1024;
const RSS_BUDGET_MIB = 48;

let server: RunningServer;
let sandbox: CreatedSandbox | undefined;

beforeAll(async () => {
  server = await startServer({ env: { SANDBOX_DOCKER: 'false', LOG_LEVEL: 'info' } });
});

afterAll(async () => {
  if (sandbox) await deleteSandbox(server, sandbox);
  expect(await shutDown(server)).toEqual({ code: 0, sandboxesCreated: 1, leftovers: [] });
});

it('holds a bounded amount for a client that stops reading, and ends the machine that ignores Pause', async () => {
  const machine = await hostileMachine(server);
  sandbox = machine.sandbox;
  const before = await serverRssMiB(server);
  machine.client.autoAck = false;
  // Terminal "1" is the session's first channel.
  machine.client.type(`${attack('data', [1, FLOOD_BYTES], 10)}\r`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  machine.client.ws.pause(); // the reader's client stops reading its socket
  let peak = before;
  for (let sample = 0; sample < 40; sample++) {
    peak = Math.max(peak, await serverRssMiB(server));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(peak - before).toBeLessThan(RSS_BUDGET_MIB);
  expect(await healthy(server)).toBe(true);
  machine.client.ws.resume();
  const closed = await machine.client.closed;
  expect(closed.code).toBe(4410);
  const error = machine.client.messages.find((message) => message.type === 'error');
  expect(error && 'message' in error ? error.message : '').toMatch(/machine|arrêtée/);
});
