// The class image store inside the machine: dockerd's Docker Hub mirror is
// http://127.0.0.1:5000 (rootfs files/etc/docker/daemon.json), and this
// forwards each connection to it to the store's gate, a unix socket the
// driver bind-mounts from the host. Only the machine's own loopback listens:
// containers (other network namespaces) do not reach it, and no route to
// the host exists. The gate lets through pulls only (src/images/read-only-gate.ts).
// Same values as SANDBOX_REGISTRY in src/images/paths.ts (a unit test checks).
import { existsSync } from 'node:fs';
import net from 'node:net';
import type { Log } from './log.ts';

export const REGISTRY_GATE_SOCKET = '/.sandbox/registry/gate.sock';
export const REGISTRY_MIRROR_PORT = 5000;

export function startRegistryForwarder(log: Log): void {
  if (!existsSync('/.sandbox/registry')) return; // no store on this host: pulls fail as they would offline
  const server = net.createServer((client) => {
    const upstream = net.connect(REGISTRY_GATE_SOCKET);
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.once('error', close);
    upstream.once('error', close);
    client.once('close', close);
    upstream.once('close', close);
  });
  server.once('error', (error) => log('warn', 'registry forwarder could not listen', { error: error.message }));
  server.listen(REGISTRY_MIRROR_PORT, '127.0.0.1', () => log('info', 'registry forwarder listening', { port: REGISTRY_MIRROR_PORT }));
}
