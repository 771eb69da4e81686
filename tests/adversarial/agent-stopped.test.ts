// Finding 2 and the second half of 7: root inside stops the agent
// (`kill -STOP`). The server once queued the reader's own input for it
// without bound (124 → 2452 MiB in 13.6 s) and a terminal open waited for it
// forever. Now input past a small queue is refused and the reader's socket is
// paused, an open waits a bounded time, and a stopped agent's machine is
// ended with a French message to its reader.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthy, stopAgent, hostileMachine, serverRssMiB } from '../support/adversary.ts';
import { TerminalClient, deleteSandbox, type CreatedSandbox } from '../support/server-client.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';

/** Input the reader tries to send: several times the budget if the server queued it. */
const INPUT_BYTES = 160 * 1024 * 1024;
const RSS_BUDGET_MIB = 48;

let server: RunningServer;
const sandboxes: CreatedSandbox[] = [];

beforeAll(async () => {
  server = await startServer({ env: { SANDBOX_DOCKER: 'false', LOG_LEVEL: 'info' } });
});

afterAll(async () => {
  for (const sandbox of sandboxes) await deleteSandbox(server, sandbox);
  expect(await shutDown(server)).toEqual({ code: 0, sandboxesCreated: 2, leftovers: [] });
});

/** French words for the reader (a few accented letters suffice to tell). */
const FRENCH = /machine|arrêtée|Rechargez/;

// The two attacks each wait for one of the server's 20 s bounds to run out, on machines of their own: they wait
// together. (The second one's own work, a stopped agent and one pending open, weighs nothing on the first one's RSS.)
describe.concurrent('a stopped agent', () => {
  it('refuses input a stopped agent does not read, pauses the reader, and ends the machine', async () => {
    const machine = await hostileMachine(server);
    sandboxes.push(machine.sandbox);
    await stopAgent(machine.reader, (text) => machine.client.type(text));
    const before = await serverRssMiB(server);
    // Paste as fast as the socket takes it, a frame of 60 KiB at a time, but never more than 8 MiB waiting here.
    const frame = Buffer.alloc(60 * 1024, 'x');
    let sent = 0;
    let peak = before;
    const deadline = Date.now() + 10_000;
    while (sent < INPUT_BYTES && Date.now() < deadline && machine.client.ws.readyState === machine.client.ws.OPEN) {
      if (machine.client.ws.bufferedAmount < 8 * 1024 * 1024) {
        machine.client.type(frame);
        sent += frame.length;
      } else {
        await new Promise((resolve) => setTimeout(resolve, 20));
        peak = Math.max(peak, await serverRssMiB(server));
      }
    }
    peak = Math.max(peak, await serverRssMiB(server));
    expect(peak - before).toBeLessThan(RSS_BUDGET_MIB);
    expect(await healthy(server)).toBe(true);
    const closed = await machine.client.closed;
    expect(closed.code).toBe(4410);
    const error = machine.client.messages.find((message) => message.type === 'error');
    expect(error && 'message' in error ? error.message : '').toMatch(FRENCH);
  });

  it('gives up on a terminal open the stopped agent never answers, and ends the machine', async () => {
    const machine = await hostileMachine(server);
    sandboxes.push(machine.sandbox);
    await stopAgent(machine.reader, (text) => machine.client.type(text));
    const second = await TerminalClient.connect(server, machine.sandbox.id, '2', { token: machine.sandbox.token });
    const closed = await second.closed;
    expect([1011, 4410]).toContain(closed.code);
    expect((await machine.client.closed).code).toBe(4410);
    const error = machine.client.messages.find((message) => message.type === 'error');
    expect(error && 'message' in error ? error.message : '').toMatch(FRENCH);
    expect(await healthy(server)).toBe(true);
  });
});
