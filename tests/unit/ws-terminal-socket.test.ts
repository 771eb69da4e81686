// One WebSocket attached to one terminal session (sandbox-server/src/ws/
// terminal-socket.ts), over a real socket on loopback: bytes and control
// messages reach the session, bad frames get an error frame and the
// connection carries on, frames sent before the terminal opened are kept,
// a failure while serving closes this connection with 1011, never the
// process. The session is a recorder: the socket's own job is the subject.
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { CloseCode, MAX_CLIENT_FRAME_BYTES } from '../../contracts/protocol.ts';
import { createLogger } from '../../sandbox-server/src/log.ts';
import type { TerminalSession } from '../../sandbox-server/src/manager/terminal-session.ts';
import { Metrics } from '../../sandbox-server/src/metrics.ts';
import { TerminalSocket } from '../../sandbox-server/src/ws/terminal-socket.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Recorded {
  kind: 'input' | 'resize' | 'ack' | 'detach';
  value?: unknown;
}

/** A session that records what the socket asks of it; `failOn` makes that call throw (a bug in the session). */
function recordingSession(failOn?: Recorded['kind']) {
  const calls: Recorded[] = [];
  const record = (kind: Recorded['kind'], value?: unknown) => {
    calls.push({ kind, value });
    if (kind === failOn) throw new Error(`${kind} failed`);
  };
  const session = {
    input: (_peer: unknown, data: Buffer) => record('input', data.toString('utf8')),
    resize: (size: unknown) => record('resize', size),
    ack: (_peer: unknown, bytes: number) => record('ack', bytes),
    detach: () => record('detach'),
  } as unknown as TerminalSession;
  return { session, calls };
}

/** A server-side TerminalSocket and the client that talks to it. */
async function connect() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  const metrics = new Metrics({
    sandboxes: () => ({ assigned: 0, pool: 0, creating: 0 }),
    terminals: () => ({ open: 1, attached: 1, paused: 0, unackedBytes: 0, bufferedBytes: 0 }),
  });
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const accepted = new Promise<TerminalSocket>((resolve) =>
    server.once('connection', (ws) => resolve(new TerminalSocket(ws, createLogger('debug', sink), metrics))),
  );
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  const received: (string | Buffer)[] = [];
  client.on('message', (data, isBinary) => received.push(isBinary ? (data as Buffer) : String(data)));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => client.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    client.once('open', () => resolve());
    client.once('error', reject);
  });
  const socket = await accepted;
  cleanups.push(async () => {
    client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });
  const errors = () => received.filter((m): m is string => typeof m === 'string').map((m) => JSON.parse(m) as { type: string; code: string; message: string });
  return { socket, client, received, errors, closed, lines, metrics };
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('a terminal socket', () => {
  it('keeps what the page sent before the terminal opened, then routes bytes, resizes and acks in order', async () => {
    const { socket, client } = await connect();
    const { session, calls } = recordingSession();
    client.send(Buffer.from('early'));
    client.send(JSON.stringify({ type: 'resize', cols: 100, rows: 30 }));
    client.send(JSON.stringify({ type: 'ack', bytes: 5 }));
    // Bind once the three have arrived (the socket keeps them until then).
    await until(() => (socket as unknown as { early?: unknown[] }).early?.length === 3, 'the early frames to arrive');
    socket.bind(session);
    client.send(Buffer.from('late'));
    await until(() => calls.length === 4, 'the late frame');
    expect(calls).toEqual([
      { kind: 'input', value: 'early' },
      { kind: 'resize', value: { cols: 100, rows: 30 } },
      { kind: 'ack', value: 5 },
      { kind: 'input', value: 'late' },
    ]);
  });

  it('answers a bad control message or an oversized frame with an error frame, and carries on', async () => {
    const { socket, client, errors, metrics } = await connect();
    const { session, calls } = recordingSession();
    socket.bind(session);
    client.send('{not json');
    client.send(JSON.stringify({ type: 'resize', cols: 0, rows: 24 }));
    client.send(Buffer.alloc(MAX_CLIENT_FRAME_BYTES + 1));
    client.send(Buffer.from('still here'));
    await until(() => calls.length === 1 && errors().length === 3, 'three errors and the last input');
    expect(errors().map((error) => error.code)).toEqual(['bad-json', 'invalid-size', 'frame-too-large']);
    expect(errors()[2]!.message).toBe(`A ${MAX_CLIENT_FRAME_BYTES + 1}-byte frame was refused: the limit is ${MAX_CLIENT_FRAME_BYTES} bytes.`);
    expect(calls).toEqual([{ kind: 'input', value: 'still here' }]);
    expect((await metrics.registry.getSingleMetric('requests_rejected_total')?.get())?.values.reduce((sum, v) => sum + v.value, 0)).toBe(3);
  });

  it('closes only this connection, with 1011 and an error frame, when serving a frame fails', async () => {
    const { socket, client, errors, closed, lines } = await connect();
    const { session, calls } = recordingSession('input');
    socket.bind(session);
    client.send(Buffer.from('boom'));
    expect(await closed).toEqual({ code: CloseCode.internalError, reason: 'server error' });
    expect(errors().at(-1)).toMatchObject({ type: 'error', code: 'internal' });
    expect(calls.map((call) => call.kind)).toEqual(['input', 'detach']);
    expect(lines.some((line) => line.level === 'error' && JSON.stringify(line).includes('input failed'))).toBe(true);
  });

  it('detaches from its session when the page closes, and sends nothing after', async () => {
    const { socket, client } = await connect();
    const { session, calls } = recordingSession();
    socket.bind(session);
    client.close(1000);
    await until(() => calls.some((call) => call.kind === 'detach'), 'the detach');
    expect(socket.open).toBe(false);
    socket.sendOutput(Buffer.from('too late'));
    socket.sendControl({ type: 'exit', code: 0, signal: null });
  });
});
