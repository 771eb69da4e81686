// When sandboxes come and go: the warm pool, idle and maximum-age expiry (with
// short clocks), graceful shutdown, and the server refusing to start on a bad
// configuration or an unfit host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../contracts/protocol.ts';
import { ServerStartError, createdSandboxIds, startServer, serverLeftovers, type RunningServer } from '../support/server.ts';
import { apiRequest, attachTerminal, createSandbox, deleteSandbox } from '../support/server-client.ts';

const IDLE_SECONDS = 2;
const MAX_AGE_SECONDS = 10;
let server: RunningServer;

// The idle clock is short here and the maximum age is not: how long a sandbox
// takes to start on a loaded host must not decide whether the idle test's
// sandbox is still there. The maximum age has its own server below.
beforeAll(async () => {
  server = await startServer({
    env: { SANDBOX_DOCKER: 'false', WARM_POOL_SIZE: '1', IDLE_TIMEOUT: `${IDLE_SECONDS}s`, MAX_AGE: '30m' },
  });
});

afterAll(async () => {
  await server?.stop();
  expect(createdSandboxIds(server).length).toBeGreaterThanOrEqual(3);
  expect(serverLeftovers(server)).toEqual([]);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const poolReadyLines = () => server.logs.filter((line) => line.msg === 'warm pool sandbox ready').length;

describe('warm pool', () => {
  it('hands out a ready sandbox and refills in the background', async () => {
    await server.waitForLog((line) => line.msg === 'warm pool sandbox ready');
    const readyBefore = poolReadyLines();
    const sandbox = await createSandbox(server);
    const handedOut = await server.waitForLog((line) => line.msg === 'sandbox handed out' && line.sandbox === sandbox.id);
    expect(handedOut.fromPool).toBe(true);
    expect(await server.metric('sandboxes_handed_out_total', { from: 'pool' })).toBe(1);
    const terminal = await attachTerminal(server, sandbox, '1');
    expect((await terminal.reader.run('hostname')).output.trim()).toBe('tp-docker');
    await server.waitForLog(() => poolReadyLines() > readyBefore);
    expect(await server.metric('sandboxes_active', { kind: 'pool' })).toBe(1);
    await terminal.client.close();
    expect((await deleteSandbox(server, sandbox)).status).toBe(204);
  });
});

describe('idle expiry', () => {
  it('keeps a sandbox while a terminal is attached, destroys it once idle', async () => {
    const sandbox = await createSandbox(server);
    const terminal = await attachTerminal(server, sandbox, '1');
    await terminal.reader.waitForPrompt();
    await sleep((IDLE_SECONDS + 1) * 1000); // longer than the idle time, attached
    expect((await apiRequest(server, 'GET', `api/sandboxes/${sandbox.id}`, { token: sandbox.token })).status).toBe(200);

    await terminal.client.close();
    await server.waitForLog((line) => line.msg === 'sandbox destroyed' && line.sandbox === sandbox.id && line.reason === 'idle');
    const gone = await apiRequest(server, 'GET', `api/sandboxes/${sandbox.id}`, { token: sandbox.token });
    expect(gone.status).toBe(410);
    expect((await gone.json()).error.message).toMatch(/no terminal open/);
    expect(await server.metric('sandboxes_destroyed_total', { reason: 'idle' })).toBe(1);
  });
});

describe('maximum age', () => {
  let aging: RunningServer | undefined;
  afterAll(async () => {
    await aging?.stop();
    if (aging) expect(serverLeftovers(aging)).toEqual([]);
  });

  it('destroys a sandbox at its maximum age even while attached, telling the client why', async () => {
    aging = await startServer({ env: { SANDBOX_DOCKER: 'false', WARM_POOL_SIZE: '0', MAX_AGE: `${MAX_AGE_SECONDS}s` } });
    const server = aging;
    const sandbox = await createSandbox(server);
    // No wait for the prompt: on a slow host the age may run out first, and the close must come all the same.
    const terminal = await attachTerminal(server, sandbox, '1');
    const closed = await terminal.client.closed;
    expect(closed.code).toBe(CloseCode.gone);
    expect(terminal.client.messages.at(-1)).toMatchObject({ type: 'error', code: 'gone', message: expect.stringContaining('maximum lifetime') });
    expect(Date.now()).toBeGreaterThanOrEqual(new Date(sandbox.expiresAt).getTime() - 1000);
    expect((await apiRequest(server, 'GET', `api/sandboxes/${sandbox.id}`, { token: sandbox.token })).status).toBe(410);
    await server.waitForLog((line) => line.msg === 'sandbox destroyed' && line.sandbox === sandbox.id && line.reason === 'max-age');
    expect(await server.metric('sandboxes_destroyed_total', { reason: 'max-age' })).toBe(1);
  });
});

describe('graceful shutdown', () => {
  it('closes sockets with 1001 and a reason, destroys every sandbox, exits 0', async () => {
    const sandbox = await createSandbox(server);
    const terminal = await attachTerminal(server, sandbox, '1');
    await terminal.reader.waitForPrompt();
    // The pool refills a moment after a reader took its machine (REFILL_DELAY_MS): let it, so it has one to destroy too.
    await expect.poll(() => server.metric('sandboxes_active', { kind: 'pool' }), { timeout: 120_000, interval: 200 }).toBe(1);
    const exit = await server.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect((await terminal.client.closed).code).toBe(CloseCode.goingAway);
    expect(terminal.client.messages.at(-1)).toMatchObject({ type: 'error', code: 'server-shutting-down' });
    const destroyed = server.logs.filter((line) => line.msg === 'sandbox destroyed' && line.reason === 'shutdown' && !('component' in line));
    expect(destroyed.length).toBe(2); // the reader's and the pool's
    expect(serverLeftovers(server)).toEqual([]);
  });
});

describe('refusing to start', () => {
  it('exits 2 on a bad configuration, naming the variable and the fix', async () => {
    const error = await startServer({ env: { PORT: 'abc', IDLE_TIMEOUT: '15' } }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerStartError);
    expect((error as ServerStartError).exitCode).toBe(2);
    expect((error as ServerStartError).output).toContain('PORT="abc": expected an integer from 0 to 65535');
    expect((error as ServerStartError).output).toContain('IDLE_TIMEOUT=15m');
  });

  it('exits 3 on a host that cannot make sandboxes, with the hint', async () => {
    // Not root: the namespace driver's checkHost() refuses.
    const error = await startServer({ uid: 65534, gid: 65534 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerStartError);
    expect((error as ServerStartError).exitCode).toBe(3);
    expect((error as ServerStartError).output).toContain('This host cannot run namespace sandboxes: the namespace driver needs root');
    expect((error as ServerStartError).output).toContain('What to do: run the sandbox server as root');
  });
});
