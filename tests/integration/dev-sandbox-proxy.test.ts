// The dev server's forwarder of the sandbox API (src/lib/authoring/dev-sandbox-proxy.ts)
// on real loopback sockets: a request and a WebSocket of the page reach the
// server under its own base path with the page's Host and Origin (so its
// same-origin policy applies), its cookies come back under the page's base
// path, anything else is left to the dev server, and when nothing listens the
// page gets a 502 and the author one report.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { installSandboxForwarder } from '../../src/lib/authoring/dev-sandbox-proxy.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

const servers: Server[] = [];
const listen = async (server: Server) => {
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return (server.address() as AddressInfo).port;
};

/** A stand-in for Vite's middleware stack: runs the stack in order, then answers "dev page". */
function devServer(): { server: Server; stack: { route: string; handle: Handler }[] } {
  const stack: { route: string; handle: Handler }[] = [];
  const server = createServer((req, res) => {
    const run = (i: number): void => {
      if (i < stack.length) stack[i]!.handle(req, res, () => run(i + 1));
      else res.end('dev page');
    };
    run(0);
  });
  return { server, stack };
}

let upstreamPort: number;
let devPort: number;
let deadDevPort: number;
const outages: Error[] = [];

beforeAll(async () => {
  const upstream = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.writeHead(201, { 'content-type': 'application/json', 'set-cookie': ['token=t; Path=/api/sandboxes/ab; HttpOnly', 'reader=r; Path=/'] });
      res.end(JSON.stringify({ url: req.url, host: req.headers.host, origin: req.headers.origin, body }));
    });
  });
  new WebSocketServer({ server: upstream }).on('connection', (socket, req) => {
    socket.send(`hello ${req.url} ${req.headers.origin}`);
    socket.on('message', (m) => socket.send(`echo ${String(m)}`));
  });
  upstreamPort = await listen(upstream);

  const dev = devServer();
  installSandboxForwarder(dev, dev.server, { basePath: '/cours/', target: new URL(`http://127.0.0.1:${upstreamPort}/`), onOutage: (e) => outages.push(e) });
  devPort = await listen(dev.server);

  // Forwarding to a port nothing listens on (taken, then freed).
  const probe = createServer();
  const freed = await listen(probe);
  await new Promise((done) => probe.close(done));
  servers.splice(servers.indexOf(probe), 1);
  const dead = devServer();
  installSandboxForwarder(dead, dead.server, { basePath: '/cours/', target: new URL(`http://127.0.0.1:${freed}/`), onOutage: (e) => outages.push(e) });
  deadDevPort = await listen(dead.server);
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
});

describe('the sandbox API forwarded by the dev server', () => {
  it('forwards a request with its Host, Origin and body, and moves cookies under the page base path', async () => {
    const origin = `http://127.0.0.1:${devPort}`;
    const response = await fetch(`${origin}/cours/api/sandboxes?x=1`, { method: 'POST', body: 'corps', headers: { origin } });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ url: '/api/sandboxes?x=1', host: `127.0.0.1:${devPort}`, origin, body: 'corps' });
    expect(response.headers.getSetCookie()).toEqual(['token=t; Path=/cours/api/sandboxes/ab; HttpOnly', 'reader=r; Path=/cours/']);
  });

  it('leaves the pages to the dev server', async () => {
    await expect((await fetch(`http://127.0.0.1:${devPort}/cours/01-fichiers/`)).text()).resolves.toBe('dev page');
  });

  it('passes a WebSocket both ways', async () => {
    const origin = `http://127.0.0.1:${devPort}`;
    const socket = new WebSocket(`ws://127.0.0.1:${devPort}/cours/api/sandboxes/ab/terminals/1`, { origin });
    const received: string[] = [];
    await new Promise<void>((done, failed) => {
      socket.on('message', (m) => {
        received.push(String(m));
        if (received.length === 1) socket.send('ping');
        else done();
      });
      socket.on('error', failed);
    });
    socket.close();
    expect(received).toEqual([`hello /api/sandboxes/ab/terminals/1 ${origin}`, 'echo ping']);
  });

  it('answers 502 when no sandbox server listens, and reports it', async () => {
    const before = outages.length;
    const response = await fetch(`http://127.0.0.1:${deadDevPort}/cours/api/sandboxes`, { method: 'POST' });
    expect(response.status).toBe(502);
    expect(await response.text()).toContain('npm run server');
    const socket = new WebSocket(`ws://127.0.0.1:${deadDevPort}/cours/api/sandboxes/ab/terminals/1`);
    const status = await new Promise<number | undefined>((done) => {
      socket.on('unexpected-response', (_req, res) => done(res.statusCode));
      socket.on('error', () => done(undefined));
    });
    expect(status).toBe(502);
    expect(outages.length).toBe(before + 2);
    expect((outages.at(-1) as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });
});
