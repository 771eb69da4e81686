// A server under a base path (BASE_PATH=/cours/), as behind a reverse proxy
// that gives it one folder of a larger site: pages, API, terminals, health
// and metrics all live under it, and the token cookie is scoped to it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';
import { attachTerminal, createSandbox, deleteSandbox } from '../support/server-client.ts';

let server: RunningServer;
let site: string;

beforeAll(async () => {
  site = mkdtempSync(join(tmpdir(), 'server-base-'));
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>Cours</title><p>sous /cours/</p>');
  server = await startServer({ env: { BASE_PATH: '/cours', SITE_DIR: site, SANDBOX_DOCKER: 'false' } });
});

afterAll(async () => {
  const shutdown = await shutDown(server).finally(() => rmSync(site, { recursive: true, force: true }));
  expect(shutdown).toEqual({ code: 0, sandboxesCreated: 1, leftovers: [] });
});

it('serves everything under the base path', async () => {
  expect(server.url).toMatch(/\/cours\/$/);
  expect(await (await fetch(server.url)).text()).toContain('sous /cours/');
  const bare = await fetch(new URL('/cours', server.url), { redirect: 'manual' });
  expect(bare.status).toBe(308);
  expect(bare.headers.get('location')).toBe('/cours/');
  expect((await fetch(new URL('/', server.url))).status).toBe(404);
  expect((await fetch(new URL('/api/sandboxes', server.url), { method: 'POST' })).status).toBe(404);
  expect((await fetch(new URL('healthz', server.url))).status).toBe(200);
  expect(await (await fetch(new URL('metrics', server.url))).text()).toContain('sandboxes_active');
});

it('runs sandboxes and terminals under it, with the cookie scoped to it', async () => {
  const sandbox = await createSandbox(server);
  expect(sandbox.setCookie).toContain(`Path=/cours/api/sandboxes/${sandbox.id}`);
  const terminal = await attachTerminal(server, sandbox, '1', { cookie: sandbox.cookie });
  expect((await terminal.reader.run('echo under-a-base')).output.trim()).toBe('under-a-base');
  await terminal.client.close();
  expect((await deleteSandbox(server, sandbox)).status).toBe(204);
});
