// The sandbox server's REST API and its refusals, over real HTTP and real
// WebSockets, against the real server process and the real namespace driver.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiErrorBody, CloseCode, SandboxStatus } from '../../contracts/protocol.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';
import { TerminalClient, apiRequest, attachTerminal, createSandbox, deleteSandbox, type CreatedSandbox } from '../support/server-client.ts';

const ALLOWED_ORIGIN = 'http://course.example.org';
let server: RunningServer;
let site: string;

beforeAll(async () => {
  site = mkdtempSync(join(tmpdir(), 'server-site-'));
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>Cours</title><h1>Accueil</h1>');
  mkdirSync(join(site, 'namespaces'));
  writeFileSync(join(site, 'namespaces', 'index.html'), '<!doctype html><title>Les Namespaces</title>');
  writeFileSync(join(site, '404.html'), '<!doctype html><title>Introuvable</title>');
  server = await startServer({
    env: {
      SITE_DIR: site,
      SANDBOX_DOCKER: 'false',
      MAX_SANDBOXES: '3',
      MAX_SANDBOXES_PER_CLIENT: '2',
      // Each request without a reader cookie is a new reader: what stops them from one address is its ceiling.
      MAX_SANDBOXES_PER_ADDRESS: '2',
      CLIENT_IP_HEADER: 'x-forwarded-for',
      ALLOWED_ORIGINS: ALLOWED_ORIGIN,
    },
  });
});

afterAll(async () => {
  const shutdown = await shutDown(server).finally(() => rmSync(site, { recursive: true, force: true }));
  expect(shutdown).toEqual({ code: 0, sandboxesCreated: expect.any(Number), leftovers: [] });
  expect(shutdown.sandboxesCreated).toBeGreaterThan(5);
});

async function errorOf(response: Response): Promise<ApiErrorBody['error']> {
  return ApiErrorBody.parse(await response.json()).error;
}

/** Create as a given client address (CLIENT_IP_HEADER is x-forwarded-for here). */
function createAs(address: string): Promise<CreatedSandbox> {
  return createSandbox(server, { forwardedFor: address });
}

describe('lifetime through REST', () => {
  it('creates a sandbox, reports its status, deletes it', async () => {
    const sandbox = await createAs('10.0.0.1');
    expect(sandbox.id).toMatch(/^[0-9a-f]{32}$/);
    expect(new Date(sandbox.expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect(sandbox.setCookie).toMatch(new RegExp(`^sandbox_token=${sandbox.token};`));
    expect(sandbox.setCookie).toContain(`Path=/api/sandboxes/${sandbox.id}`);
    expect(sandbox.setCookie).toMatch(/HttpOnly/);
    expect(sandbox.setCookie).toMatch(/SameSite=Strict/);

    const byToken = await apiRequest(server, 'GET', `api/sandboxes/${sandbox.id}`, { token: sandbox.token });
    expect(byToken.status).toBe(200);
    const status = SandboxStatus.parse(await byToken.json());
    expect(status).toMatchObject({ id: sandbox.id, state: 'running', terminals: [] });
    expect(status.idle.expiresAt).not.toBeNull(); // nothing attached yet: the idle clock runs

    const terminal = await attachTerminal(server, sandbox, '1', { cols: 100, rows: 30 });
    await terminal.reader.waitForPrompt();
    const attached = SandboxStatus.parse(await (await apiRequest(server, 'GET', `api/sandboxes/${sandbox.id}`, { cookie: sandbox.cookie })).json());
    expect(attached.terminals).toEqual([expect.objectContaining({ name: '1', attached: true, cols: 100, rows: 30, paused: false })]);
    expect(attached.idle).toEqual({ since: null, expiresAt: null });

    const deleted = await deleteSandbox(server, sandbox);
    expect(deleted.status).toBe(204);
    expect(deleted.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    const closed = await terminal.client.closed;
    expect(closed.code).toBe(CloseCode.gone);
    expect(terminal.client.messages.at(-1)).toMatchObject({ type: 'error', code: 'gone', message: 'The sandbox was deleted.' });

    const after = await apiRequest(server, 'GET', `api/sandboxes/${sandbox.id}`, { token: sandbox.token });
    expect(after.status).toBe(410);
    expect((await errorOf(after)).message).toMatch(/deleted/);
    expect(await server.metric('sandboxes_destroyed_total', { reason: 'delete' })).toBe(1);
  });
});

describe('credentials', () => {
  let mine: CreatedSandbox;
  let theirs: CreatedSandbox;
  beforeAll(async () => {
    mine = await createAs('10.0.1.1');
    theirs = await createAs('10.0.1.2');
  });
  afterAll(async () => {
    await deleteSandbox(server, mine);
    await deleteSandbox(server, theirs);
  });

  it("answers 401 without a token and 403 with another sandbox's token", async () => {
    const none = await apiRequest(server, 'GET', `api/sandboxes/${mine.id}`);
    expect(none.status).toBe(401);
    expect(await errorOf(none)).toMatchObject({ code: 'unauthorized', hint: expect.stringContaining('Authorization: Bearer') });
    const wrong = await apiRequest(server, 'GET', `api/sandboxes/${mine.id}`, { token: theirs.token });
    expect(wrong.status).toBe(403);
    expect((await errorOf(wrong)).code).toBe('forbidden');
    const wrongCookie = await apiRequest(server, 'GET', `api/sandboxes/${mine.id}`, { cookie: theirs.cookie });
    expect(wrongCookie.status).toBe(403);
  });

  it('does not let another client delete a sandbox', async () => {
    const attempt = await apiRequest(server, 'DELETE', `api/sandboxes/${mine.id}`, { token: theirs.token });
    expect(attempt.status).toBe(403);
    expect((await apiRequest(server, 'GET', `api/sandboxes/${mine.id}`, { token: mine.token })).status).toBe(200);
  });

  it('does not let another client attach a terminal', async () => {
    const intruder = await TerminalClient.connect(server, mine.id, '1', { token: theirs.token });
    expect((await intruder.closed).code).toBe(CloseCode.forbidden);
    expect(intruder.messages).toEqual([expect.objectContaining({ type: 'error', code: 'forbidden' })]);
    expect(intruder.receivedBytes).toBe(0);

    const anonymous = await TerminalClient.connect(server, mine.id, '1');
    expect((await anonymous.closed).code).toBe(CloseCode.unauthorized);
    expect(anonymous.messages[0]).toMatchObject({ type: 'error', code: 'unauthorized' });

    const byCookie = await TerminalClient.connect(server, mine.id, '1', { cookie: mine.cookie });
    expect(await byCookie.waitForMessage('ready')).toMatchObject({ sandbox: mine.id, terminal: '1', resumed: false });
    await byCookie.close();
  });
});

describe('unknown ids', () => {
  it('answers 404 on REST and closes 4404 on the socket', async () => {
    const unknown = 'f'.repeat(32);
    const response = await apiRequest(server, 'GET', `api/sandboxes/${unknown}`, { token: 'x' });
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toMatchObject({ code: 'not-found', hint: expect.stringContaining('POST /api/sandboxes') });
    expect((await apiRequest(server, 'DELETE', 'api/sandboxes/not-an-id', { token: 'x' })).status).toBe(404);
    expect((await apiRequest(server, 'GET', 'api/nothing-here')).status).toBe(404);

    const socket = await TerminalClient.connect(server, unknown, '1', { token: 'x' });
    expect((await socket.closed).code).toBe(CloseCode.notFound);
    expect(socket.messages[0]).toMatchObject({ type: 'error', code: 'not-found' });
  });

  it('closes 4410 with the reason for a sandbox destroyed a moment ago', async () => {
    const sandbox = await createAs('10.0.2.1');
    await deleteSandbox(server, sandbox);
    const socket = await TerminalClient.connect(server, sandbox.id, '1', { token: sandbox.token });
    expect((await socket.closed).code).toBe(CloseCode.gone);
    expect(socket.messages[0]).toMatchObject({ type: 'error', code: 'gone', message: expect.stringContaining('deleted') });
  });

  it('answers 405 to a wrong method', async () => {
    const response = await apiRequest(server, 'PUT', 'api/sandboxes');
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});

describe('origins', () => {
  it('refuses pages from origins not allowed, on REST and on the socket', async () => {
    const refused = await apiRequest(server, 'POST', 'api/sandboxes', { origin: 'http://evil.example', forwardedFor: '10.0.3.1' });
    expect(refused.status).toBe(403);
    expect(await errorOf(refused)).toMatchObject({ code: 'origin-not-allowed', hint: expect.stringContaining('ALLOWED_ORIGINS') });

    const sandbox = await createAs('10.0.3.1');
    const socket = await TerminalClient.connect(server, sandbox.id, '1', { token: sandbox.token, origin: 'http://evil.example' });
    expect((await socket.closed).code).toBe(CloseCode.forbidden);
    expect(socket.messages[0]).toMatchObject({ code: 'origin-not-allowed' });
    await deleteSandbox(server, sandbox);
  });

  it('lets an allowed origin use the API with CORS', async () => {
    const preflight = await fetch(new URL('api/sandboxes', server.url), {
      method: 'OPTIONS',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('DELETE');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/i);

    const created = await apiRequest(server, 'POST', 'api/sandboxes', { origin: ALLOWED_ORIGIN, forwardedFor: '10.0.3.2' });
    expect(created.status).toBe(201);
    expect(created.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(created.headers.get('access-control-allow-credentials')).toBe('true');
    const sandbox = (await created.json()) as { id: string; token: string };
    const socket = await TerminalClient.connect(server, sandbox.id, '1', { token: sandbox.token, origin: ALLOWED_ORIGIN });
    expect(await socket.waitForMessage('ready')).toMatchObject({ sandbox: sandbox.id });
    await socket.close();
    await deleteSandbox(server, sandbox);
  });
});

describe('capacity', () => {
  it('answers 429 with Retry-After past the per-address ceiling, 503 past the host limit', async () => {
    const first = await createAs('10.0.4.1');
    const second = await createAs('10.0.4.1');
    const third = await apiRequest(server, 'POST', 'api/sandboxes', { forwardedFor: '10.0.4.1' });
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await errorOf(third)).toMatchObject({ code: 'too-many-sandboxes', hint: expect.stringContaining('MAX_SANDBOXES_PER_ADDRESS') });

    const other = await createAs('10.0.4.2'); // the host's third and last
    const full = await apiRequest(server, 'POST', 'api/sandboxes', { forwardedFor: '10.0.4.3' });
    expect(full.status).toBe(503);
    expect(Number(full.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await errorOf(full)).toMatchObject({ code: 'server-at-capacity', message: expect.stringContaining('maximum of 3') });

    await deleteSandbox(server, first);
    const again = await createAs('10.0.4.3'); // room again
    for (const sandbox of [second, other, again]) expect((await deleteSandbox(server, sandbox)).status).toBe(204);
    expect(await server.metric('requests_rejected_total', { reason: 'client-capacity' })).toBe(1);
    expect(await server.metric('requests_rejected_total', { reason: 'host-capacity' })).toBe(1);
  });
});

describe('health, metrics and the site', () => {
  it('reports health and Prometheus metrics', async () => {
    const health = await fetch(new URL('healthz', server.url));
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', driver: 'namespace' });
    const text = await (await fetch(new URL('metrics', server.url))).text();
    for (const name of [
      'sandboxes_active',
      'sandboxes_created_total',
      'sandboxes_destroyed_total',
      'sandbox_start_seconds_bucket',
      'terminals_open',
      'terminal_bytes_in_total',
      'terminal_bytes_out_total',
      'requests_rejected_total',
      'process_resident_memory_bytes',
    ]) {
      expect(text).toContain(`\n${name}`);
    }
    expect(await server.metric('sandbox_start_seconds_count')).toBe(await server.metric('sandboxes_created_total'));
  });

  it('serves the built site on the same origin', async () => {
    const home = await fetch(server.url);
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await home.text()).toContain('<h1>Accueil</h1>');
    expect(await (await fetch(new URL('namespaces/', server.url))).text()).toContain('Les Namespaces');
    const missing = await fetch(new URL('no/such/page', server.url));
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('Introuvable');
    expect((await fetch(new URL('../../etc/passwd', server.url))).status).toBe(404);
  });
});
