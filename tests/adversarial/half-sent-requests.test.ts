// Finding 7, first half: with no credential at all, ≈ 20 000 half-sent HTTP
// requests held every file descriptor: /healthz and creation failed for
// everyone. Now one address may hold only so many connections, and a request
// has a short time to send its headers.
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { healthy } from '../support/adversary.ts';
import { createSandbox, deleteSandbox } from '../support/server-client.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';

const PER_ADDRESS = 32;
/** Connections the attacker opens from its own loopback address (127.0.0.2): several times its share. */
const ATTACK_CONNECTIONS = 300;

let server: RunningServer;
const sockets: net.Socket[] = [];

beforeAll(async () => {
  server = await startServer({ env: { SANDBOX_DOCKER: 'false', LOG_LEVEL: 'info', MAX_CONNECTIONS_PER_CLIENT: String(PER_ADDRESS) } });
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  expect(await shutDown(server)).toEqual({ code: 0, sandboxesCreated: 1, leftovers: [] });
});

it('holds one address to its share of connections and times half-sent requests out', async () => {
  const open = new Set<net.Socket>();
  await Promise.all(
    Array.from(
      { length: ATTACK_CONNECTIONS },
      () =>
        new Promise<void>((resolve) => {
          const socket = net.connect({ host: '127.0.0.1', port: server.port, localAddress: '127.0.0.2' });
          sockets.push(socket);
          socket.on('error', () => {});
          socket.resume(); // read what the server says (and its end), as a client would
          socket.once('connect', () => {
            open.add(socket);
            socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
            resolve();
          });
          socket.once('close', () => {
            open.delete(socket);
            resolve();
          });
        }),
    ),
  );
  // Give the server a moment to close what is over the limit (a wait for a state, checked below).
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect(open.size).toBeLessThanOrEqual(PER_ADDRESS);
  // Everyone else is served.
  expect(await healthy(server)).toBe(true);
  const sandbox = await createSandbox(server);
  expect((await deleteSandbox(server, sandbox)).status).toBe(204);
  // And the half-sent requests do not stay: the headers timeout closes them.
  const deadline = Date.now() + 40_000;
  while (open.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  expect(open.size).toBe(0);
  expect(await server.metric('requests_rejected_total', { reason: 'connection-limit' })).toBeGreaterThan(0);
});
