// What a broken or hostile client gets from the terminal WebSocket: an error
// frame or a documented close code, never a crash, never 1006, and the
// server keeps serving everyone else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CloseCode, MAX_CLIENT_FRAME_BYTES } from '../../contracts/protocol.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';
import { TerminalClient, attachTerminal, createSandbox, deleteSandbox, type AttachedTerminal, type CreatedSandbox } from '../support/server-client.ts';

let server: RunningServer;
let sandbox: CreatedSandbox;
let terminal: AttachedTerminal;
const closeCodes: number[] = [];

beforeAll(async () => {
  server = await startServer({ env: { SANDBOX_DOCKER: 'false', MAX_TERMINALS_PER_SANDBOX: '3' } });
  sandbox = await createSandbox(server);
  terminal = await attachTerminal(server, sandbox, '1', { cols: 100, rows: 30 });
  await terminal.reader.waitForPrompt();
});

afterAll(async () => {
  if (sandbox) await deleteSandbox(server, sandbox);
  expect(await shutDown(server)).toEqual({ code: 0, sandboxesCreated: 2, leftovers: [] });
  expect(closeCodes).not.toContain(1006);
});

/** Waits for the next error frame on `client` after the ones already there. */
async function nextError(client: TerminalClient): Promise<Record<string, unknown>> {
  const seen = client.messages.length;
  for (;;) {
    const fresh = client.messages.slice(seen).find((message) => message.type === 'error');
    if (fresh) return fresh;
    await new Promise((resolve) => client.ws.once('message', resolve));
  }
}

async function closedWith(client: TerminalClient): Promise<number> {
  const { code } = await client.closed;
  closeCodes.push(code);
  return code;
}

/** The shell still answers, so the connection survived. */
async function stillWorks(): Promise<void> {
  expect((await terminal.reader.run('echo still-$((40+2))')).output.trim()).toBe('still-42');
}

describe('control frames', () => {
  it.each([
    ['malformed JSON', '{"type": "resize", cols: 80', 'bad-json'],
    ['not an object', '"resize"', 'unknown-type'],
    ['an unknown type', '{"type":"reboot"}', 'unknown-type'],
    ['an ack without bytes', '{"type":"ack"}', 'bad-message'],
    ['a negative ack', '{"type":"ack","bytes":-100}', 'bad-message'],
  ])('answers %s with an error frame and carries on', async (_what, text, code) => {
    const error = nextError(terminal.client);
    terminal.client.sendText(text);
    expect(await error).toMatchObject({ type: 'error', code, message: expect.any(String), hint: expect.any(String) });
    await stillWorks();
  });

  it('answers invalid UTF-8 with bad-json rather than closing', async () => {
    const error = nextError(terminal.client);
    terminal.client.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect(await error).toMatchObject({ code: 'bad-json' });
    await stillWorks();
  });

  it.each([
    [0, 24],
    [-1, 24],
    [100000, 24],
    [80, 0],
    [80.5, 24],
  ])('refuses the size %s×%s and keeps the old one', async (cols, rows) => {
    const error = nextError(terminal.client);
    terminal.client.control({ type: 'resize', cols, rows });
    expect(await error).toMatchObject({ code: 'invalid-size', hint: expect.stringContaining('ignored') });
    expect((await terminal.reader.run('stty size')).output.trim()).toBe('30 100');
  });
});

describe('oversized frames', () => {
  it('refuses terminal input larger than the limit without typing any of it', async () => {
    const input = Buffer.alloc(MAX_CLIENT_FRAME_BYTES + 1, ' ');
    input.write('echo SHOULD-NOT-RUN\r');
    const error = nextError(terminal.client);
    terminal.client.type(input);
    expect(await error).toMatchObject({ code: 'frame-too-large', message: expect.stringContaining(String(MAX_CLIENT_FRAME_BYTES)) });
    await stillWorks();
    expect(terminal.reader.text).not.toContain('SHOULD-NOT-RUN');
  });

  it('takes input of exactly the limit', async () => {
    const marker = 'exact-limit-ok';
    const command = `echo ${marker} `;
    // A comment pads the line to the limit; the shell ignores it.
    const input = Buffer.from(`${command}#${'x'.repeat(MAX_CLIENT_FRAME_BYTES - command.length - 2)}\r`);
    expect(input.length).toBe(MAX_CLIENT_FRAME_BYTES);
    const before = terminal.reader.cursor;
    terminal.client.type(input);
    await terminal.reader.waitFor(new RegExp(`^${marker}$`, 'm'), { from: before.text });
    await terminal.reader.waitForPrompt({ from: before.marks });
    await stillWorks();
  });

  it('refuses a large control frame with an error frame', async () => {
    const error = nextError(terminal.client);
    terminal.client.sendText(JSON.stringify({ type: 'ack', bytes: 1, padding: 'x'.repeat(MAX_CLIENT_FRAME_BYTES) }));
    expect(await error).toMatchObject({ code: 'frame-too-large' });
    await stillWorks();
  });

  it('closes with 1009 past the hard limit, and only that connection', async () => {
    const other = await TerminalClient.connect(server, sandbox.id, 'big', { token: sandbox.token });
    await other.waitForMessage('ready');
    other.type(Buffer.alloc(32 * MAX_CLIENT_FRAME_BYTES, 'a'));
    expect(await closedWith(other)).toBe(CloseCode.messageTooBig);
    await stillWorks();
  });
});

describe('bad URLs', () => {
  it.each(['Bad_Name', 'x'.repeat(17), '-1'])('closes 4400 for the terminal name %s', async (name) => {
    const client = await TerminalClient.connect(server, sandbox.id, name, { token: sandbox.token });
    expect(await closedWith(client)).toBe(CloseCode.badRequest);
    expect(client.messages[0]).toMatchObject({ code: 'invalid-terminal-name' });
  });

  it('opens at 80×24 with an error frame when the URL asks an invalid size', async () => {
    const client = await TerminalClient.connect(server, sandbox.id, 'sized', { token: sandbox.token, query: 'cols=0&rows=100000' });
    const ready = await client.waitForMessage('ready');
    expect(client.messages[0]).toMatchObject({ type: 'error', code: 'invalid-size' });
    expect(ready).toMatchObject({ cols: 80, rows: 24 });
    await client.close();
  });

  it('answers 404 before the upgrade on a path that is not a terminal', async () => {
    const ws = new WebSocket(new URL('api/sandboxes', server.url.replace('http', 'ws')));
    ws.on('error', () => {}); // ws reports the refused upgrade as an error too
    const status = await new Promise<number>((resolve) =>
      ws.on('unexpected-response', (request, response) => {
        resolve(response.statusCode ?? 0);
        request.destroy();
      }),
    );
    expect(status).toBe(404);
  });

  it('closes 4429 past the terminals allowed in one sandbox', async () => {
    // Open now: "1", "big" is gone (closed 1009 but its shell runs), "sized" — that is 3.
    const extra = await TerminalClient.connect(server, sandbox.id, 'one-too-many', { token: sandbox.token });
    expect(await closedWith(extra)).toBe(CloseCode.tooManyTerminals);
    expect(extra.messages[0]).toMatchObject({ code: 'too-many-terminals' });
  });
});

describe('after all that', () => {
  it('still serves: health, a new sandbox, a new terminal', async () => {
    expect((await fetch(new URL('healthz', server.url))).status).toBe(200);
    const fresh = await createSandbox(server);
    const other = await attachTerminal(server, fresh, '1');
    expect((await other.reader.run('echo fresh')).output.trim()).toBe('fresh');
    await other.client.close();
    expect((await deleteSandbox(server, fresh)).status).toBe(204);
    expect(await server.metric('requests_rejected_total', { reason: 'bad-frame' })).toBeGreaterThanOrEqual(12);
  });
});
