// Every boundary terminal size, through the real server to the real agent
// and pty, while another reader's shell keeps answering. Regression test for
// `{"type":"resize","cols":1,"rows":24}`, which used to pass the server's
// check, fail the agent's, and end the whole server process from inside the
// WebSocket listener.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TERMINAL_SIZE_LIMITS } from '../../contracts/sizes.ts';
import { rawRequest } from '../fuzz/http-probe.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';
import { TerminalClient, attachTerminal, createSandbox, deleteSandbox, type AttachedTerminal, type CreatedSandbox } from '../support/server-client.ts';

const { minCols, maxCols, minRows, maxRows } = TERMINAL_SIZE_LIMITS;
const VALID: [number, number][] = [
  [minCols, minRows],
  [2, 2],
  [minCols, 24],
  [80, minRows],
  [maxCols, maxRows],
  [maxCols, 24],
  [80, maxRows],
  [120, 40],
];
const INVALID: [unknown, unknown][] = [
  [1, 1],
  [1, 24],
  [0, 0],
  [0, 24],
  [80, 0],
  [-1, 24],
  [maxCols + 1, maxRows],
  [maxCols, maxRows + 1],
  [80.5, 24],
  [1e308, 24],
  [Number.MAX_SAFE_INTEGER, 24],
  ['80', 24],
  [null, 24],
  [80, true],
];

let server: RunningServer;
let reader: CreatedSandbox;
let bystander: CreatedSandbox;
let terminal: AttachedTerminal;
let other: AttachedTerminal;
/** A second terminal of the same machine, that reads the first one's size from its pty (a 2×1 prompt is no place to run commands). */
let observer: AttachedTerminal;
let tty: string;

beforeAll(async () => {
  server = await startServer({ env: { SANDBOX_DOCKER: 'false' } });
  [reader, bystander] = await Promise.all([createSandbox(server), createSandbox(server)]);
  terminal = await attachTerminal(server, reader, '1', { cols: 100, rows: 30 });
  other = await attachTerminal(server, bystander, '1');
  observer = await attachTerminal(server, reader, 'observer');
  await Promise.all([terminal.reader.waitForPrompt(), other.reader.waitForPrompt(), observer.reader.waitForPrompt()]);
  tty = (await terminal.reader.run('tty')).output.trim();
  expect(tty).toMatch(/^\/dev\/pts\/\d+$/);
});

afterAll(async () => {
  for (const sandbox of [reader, bystander]) if (sandbox) await deleteSandbox(server, sandbox);
  expect(await shutDown(server)).toEqual({ code: 0, sandboxesCreated: 2, leftovers: [] });
  expect(server.rawOutput.join('\n')).not.toMatch(/RangeError|Uncaught|at .*\.ts:\d+/);
});

/** "rows cols" as the pty of `device` has it now (ptys belong to root: the agent opened them). */
async function ptySize(device: string): Promise<string> {
  return (await observer.reader.run(`sudo stty size -F ${device}`)).output.trim();
}

/**
 * The size `device` settles on: the resize travels on another connection
 * than the observer's command, so the command may run before it lands; ask
 * again while the answer still changes.
 */
async function settledSize(device: string, expected: string): Promise<string> {
  let seen = await ptySize(device);
  for (let attempt = 0; attempt < 20 && seen !== expected; attempt++) seen = await ptySize(device);
  return seen;
}

async function sizeSeenByShell(client: AttachedTerminal): Promise<string> {
  if (client === terminal) return ptySize(tty);
  return (await client.reader.run('stty size')).output.trim();
}

/** The other reader's shell answers, and the server's process is the same one. */
async function othersUnharmed(): Promise<void> {
  expect(server.process.exitCode).toBeNull();
  expect((await other.reader.run('echo alive-$((6*7))')).output.trim()).toBe('alive-42');
}

/** Ends the terminal's shell, so the sandbox's terminal count goes back down. */
async function exitShell(client: TerminalClient): Promise<void> {
  client.type('exit\r');
  await client.waitForMessage('exit');
  await client.closed;
}

async function nextError(client: TerminalClient): Promise<Record<string, unknown>> {
  const seen = client.messages.length;
  for (;;) {
    const fresh = client.messages.slice(seen).find((message) => message.type === 'error');
    if (fresh) return fresh;
    await new Promise((resolve) => client.ws.once('message', resolve));
  }
}

describe('resize frames', () => {
  it.each(VALID)('applies %s×%s', async (cols, rows) => {
    terminal.client.control({ type: 'resize', cols, rows });
    expect(await settledSize(tty, `${rows} ${cols}`)).toBe(`${rows} ${cols}`);
    await othersUnharmed();
  });

  it.each(INVALID)('refuses %s×%s with invalid-size and keeps the size it had', async (cols, rows) => {
    terminal.client.control({ type: 'resize', cols: 100, rows: 30 });
    expect(await settledSize(tty, '30 100')).toBe('30 100');
    const error = nextError(terminal.client);
    terminal.client.control({ type: 'resize', cols, rows });
    // Numbers out of bounds are invalid-size; values that are not numbers at all fail the message's shape.
    expect(await error).toMatchObject({ type: 'error', code: expect.stringMatching(/^(invalid-size|bad-message)$/), hint: expect.any(String) });
    expect(await sizeSeenByShell(terminal)).toBe('30 100');
    await othersUnharmed();
  });

  it('takes the 1-column resize that used to end the server, a hundred times in a row', async () => {
    for (let i = 0; i < 100; i++) terminal.client.control({ type: 'resize', cols: 1, rows: 24 });
    expect(await sizeSeenByShell(terminal)).toBe('30 100');
    await othersUnharmed();
  });
});

describe('sizes in the URL', () => {
  it.each(VALID)('opens a terminal at %s×%s', async (cols, rows) => {
    const opened = await attachTerminal(server, reader, `u${cols}x${rows}`, { cols, rows });
    expect(opened.ready).toMatchObject({ cols, rows });
    // Its shell's pty is the newest one of the machine.
    const device = (await observer.reader.run('ls -t /dev/pts/[0-9]* | head -n 1')).output.trim();
    expect(await ptySize(device)).toBe(`${rows} ${cols}`);
    await exitShell(opened.client);
    await othersUnharmed();
  });

  it.each([
    ['1', '1'],
    ['1', '24'],
    ['0', '0'],
    ['501', '200'],
    ['1e308', '24'],
    ['80', ''],
    ['abc', '24'],
  ])('opens at 80×24 with an error frame for cols=%s&rows=%s', async (cols, rows) => {
    const client = await TerminalClient.connect(server, reader.id, 'url-bad', { token: reader.token, query: `cols=${cols}&rows=${rows}` });
    const ready = await client.waitForMessage('ready');
    expect(client.messages[0]).toMatchObject({ type: 'error', code: 'invalid-size' });
    expect(ready).toMatchObject({ cols: 80, rows: 24 });
    await exitShell(client);
    await othersUnharmed();
  });
});

describe('upgrade requests no URL parser takes', () => {
  // `GET http://[` with WebSocket headers threw inside the HTTP server's upgrade listener: the second one-request kill.
  it.each(['http://[', 'http://x:99999/', '//[::1'])('answers 400 to an upgrade of %s and serves on', async (target) => {
    const request = `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
    expect(await rawRequest(server.port, request)).toMatch(/^HTTP\/1\.1 4\d\d /);
    await othersUnharmed();
  });
});

describe('plain requests no URL parser takes', () => {
  // Found by `npm run fuzz`: these answered 500 « internal » (contained, but the mistake is the client's).
  it.each(['http://x:99999/', 'http://[', 'http://x:-1/'])('answers 400 invalid-request to GET %s', async (target) => {
    const answer = await rawRequest(server.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('"code":"invalid-request"');
    await othersUnharmed();
  });
});
