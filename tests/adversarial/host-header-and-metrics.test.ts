// Also in the issue: the origin check trusted the Host header (DNS
// rebinding: Host and Origin both an attacker's name got a machine and a
// terminal), and /metrics was open to anyone. Now a name the server does not
// answer to gets 403, and metrics need a token or a client on this machine.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';

const TOKEN = 'metrics-token-for-the-adversarial-test-0123';

function request(server: RunningServer, path: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function upgradeStatus(server: RunningServer, host: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/sandboxes/${'0'.repeat(32)}/terminals/1`, { headers: { host }, origin: `http://${host}` });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('error', () => {});
  });
}

describe('default configuration (behind a reverse proxy)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ env: { SANDBOX_DOCKER: 'false', LOG_LEVEL: 'info', CLIENT_IP_HEADER: 'x-forwarded-for' } });
  });
  afterAll(async () => {
    expect(await shutDown(server)).toEqual({ code: 0, sandboxesCreated: 0, leftovers: [] });
  });

  it("refuses a page on a rebound name (Host and Origin both the attacker's), REST and WebSocket", async () => {
    const rebound = await request(server, '/api/sandboxes', { host: `evil.example:${server.port}`, origin: `http://evil.example:${server.port}` }, 'POST');
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ error: { code: 'host-not-allowed' } });
    expect(await upgradeStatus(server, `evil.example:${server.port}`)).toBe(403);
    // Its own addresses still work.
    expect((await request(server, '/healthz', { host: `127.0.0.1:${server.port}` })).status).toBe(200);
    expect((await request(server, '/healthz', { host: `localhost:${server.port}` })).status).toBe(200);
  });

  it('serves metrics to this machine only, not through a reverse proxy', async () => {
    expect((await request(server, '/metrics', {})).status).toBe(200);
    expect((await request(server, '/metrics', { 'x-forwarded-for': '10.0.7.1' })).status).toBe(403);
  });
});

describe('with ALLOWED_HOSTS and METRICS_TOKEN', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      env: { SANDBOX_DOCKER: 'false', LOG_LEVEL: 'info', ALLOWED_HOSTS: 'course.example', METRICS_TOKEN: TOKEN },
    });
  });
  afterAll(async () => {
    expect(await shutDown(server)).toEqual({ code: 0, sandboxesCreated: 0, leftovers: [] });
  });

  it('answers to its configured name and to no other', async () => {
    expect((await request(server, '/healthz', { host: 'course.example' })).status).toBe(200);
    expect((await request(server, '/healthz', { host: 'other.example' })).status).toBe(403);
  });

  it('wants the token for metrics', async () => {
    expect((await request(server, '/metrics', {})).status).toBe(401);
    expect((await request(server, '/metrics', { authorization: 'Bearer wrong-token-wrong-token-wrong' })).status).toBe(403);
    const ok = await request(server, '/metrics', { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatch(/sandboxes_active/);
  });
});
