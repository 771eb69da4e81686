// Floods through the real server: the output a client has not acknowledged,
// and what the server holds for it, stay bounded whatever the shell prints;
// Ctrl-C still stops the flood and a prompt comes back. Measured through the
// server's own metrics (bytes), never through timing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLOW_HIGH_WATERMARK, MAX_SERVER_FRAME_BYTES } from '../../contracts/protocol.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';
import { attachTerminal, createSandbox, deleteSandbox, type CreatedSandbox } from '../support/server-client.ts';

/**
 * How far past the high watermark output may go: what the sandbox had already
 * read from the pty when the pause was asked, on its way to the server (the
 * agent's stream buffer and the kernel's socket buffer between agent and host,
 * ≈ 200 KiB here; ≈ 330 KiB peaks seen), plus one coalesced frame. A flood
 * that is not held back passes this in milliseconds.
 */
const IN_FLIGHT_ALLOWANCE = 512 * 1024 + MAX_SERVER_FRAME_BYTES;
/** The socket guard pauses at 2 × HIGH of queued bytes. */
const QUEUED_ALLOWANCE = 2 * FLOW_HIGH_WATERMARK + IN_FLIGHT_ALLOWANCE;

let server: RunningServer;
let sandbox: CreatedSandbox;

beforeAll(async () => {
  server = await startServer({ env: { SANDBOX_DOCKER: 'false' } });
  sandbox = await createSandbox(server);
});

afterAll(async () => {
  if (sandbox) await deleteSandbox(server, sandbox);
  expect(await shutDown(server)).toEqual({ code: 0, sandboxesCreated: 1, leftovers: [] });
});

/** Polls the server's metrics until `check` holds (a wait for a state, not a speed assertion). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a client that stops acknowledging', () => {
  it('pauses `yes` at the high watermark and holds memory there; Ctrl-C then brings a prompt', async () => {
    const terminal = await attachTerminal(server, sandbox, 'yes');
    await terminal.reader.waitForPrompt();
    terminal.client.ack();
    terminal.client.autoAck = false;

    terminal.client.type('yes\r');
    await until('the terminal is paused', async () => (await server.metric('terminals_paused')) === 1);
    const pausedAt = terminal.client.receivedBytes;
    // Keep not acknowledging for a while: nothing more may arrive or pile up.
    for (let sample = 0; sample < 10; sample++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await server.metric('terminal_unacked_bytes')).toBeLessThanOrEqual(FLOW_HIGH_WATERMARK + IN_FLIGHT_ALLOWANCE);
      expect(await server.metric('terminal_buffered_bytes')).toBeLessThanOrEqual(IN_FLIGHT_ALLOWANCE);
    }
    expect(terminal.client.receivedBytes).toBeGreaterThan(FLOW_HIGH_WATERMARK);
    expect(terminal.client.receivedBytes).toBeLessThanOrEqual(FLOW_HIGH_WATERMARK + IN_FLIGHT_ALLOWANCE);
    expect(terminal.client.receivedBytes - pausedAt).toBeLessThanOrEqual(IN_FLIGHT_ALLOWANCE);
    const status = await (await fetch(new URL(`api/sandboxes/${sandbox.id}`, server.url), { headers: { authorization: `Bearer ${sandbox.token}` } })).json();
    expect(status.terminals).toEqual([expect.objectContaining({ name: 'yes', paused: true })]);

    const beforeInterrupt = terminal.reader.cursor;
    terminal.client.type('\x03');
    terminal.client.autoAck = true;
    terminal.client.ack();
    await terminal.reader.waitForPrompt({ from: beforeInterrupt.marks });
    expect(await server.metric('terminals_paused')).toBe(0);
    expect((await terminal.reader.run('echo after-the-flood')).output.trim()).toBe('after-the-flood');
    await terminal.client.close();
  });
});

describe('a client that keeps up', () => {
  it('streams `cat /dev/urandom | base64` with bounded buffers until Ctrl-C', async () => {
    const terminal = await attachTerminal(server, sandbox, 'urandom');
    await terminal.reader.waitForPrompt();
    terminal.client.type('cat /dev/urandom | base64\r');
    const target = terminal.client.receivedBytes + 4 * 1024 * 1024;
    let peakUnacked = 0;
    let peakBuffered = 0;
    while (terminal.client.receivedBytes < target) {
      peakUnacked = Math.max(peakUnacked, await server.metric('terminal_unacked_bytes'));
      peakBuffered = Math.max(peakBuffered, await server.metric('terminal_buffered_bytes'));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(peakUnacked).toBeLessThanOrEqual(FLOW_HIGH_WATERMARK + IN_FLIGHT_ALLOWANCE);
    expect(peakBuffered).toBeLessThanOrEqual(QUEUED_ALLOWANCE);
    const beforeInterrupt = terminal.reader.cursor;
    terminal.client.type('\x03');
    await terminal.reader.waitForPrompt({ from: beforeInterrupt.marks });
    expect((await terminal.reader.run('echo stopped')).output.trim()).toBe('stopped');
    await terminal.client.close();
  });
});

describe('a client that acknowledges but does not read', () => {
  it("is held back by the socket guard: the server's queue stays bounded", async () => {
    const terminal = await attachTerminal(server, sandbox, 'liar');
    await terminal.reader.waitForPrompt();
    terminal.client.autoAck = false;
    terminal.client.type('yes\r');
    terminal.client.ws.pause(); // stop reading the socket: the kernel buffers fill, then the server's queue
    // Acknowledge far more than was ever received, again and again.
    const liar = setInterval(() => terminal.client.control({ type: 'ack', bytes: 1 << 30 }), 20);
    try {
      await until('the socket guard pauses the terminal', async () => (await server.metric('terminals_paused')) === 1);
      for (let sample = 0; sample < 10; sample++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(await server.metric('terminal_buffered_bytes')).toBeLessThanOrEqual(QUEUED_ALLOWANCE);
      }
    } finally {
      clearInterval(liar);
    }
    terminal.client.ws.resume();
    terminal.client.autoAck = true;
    terminal.client.ack();
    const beforeInterrupt = terminal.reader.cursor;
    terminal.client.type('\x03');
    await terminal.reader.waitForPrompt({ from: beforeInterrupt.marks });
    await terminal.client.close();
  });
});
