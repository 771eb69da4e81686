// The class image store inside the machine: dockerd's Docker Hub mirror is
// http://127.0.0.1:5000 (rootfs files/etc/docker/daemon.json), and this
// forwards each connection to it to the store's gate, a unix socket the
// driver bind-mounts from the host. Only the machine's own loopback listens:
// containers (other network namespaces) do not reach it, and no route to
// the host exists. The socket is this machine's own: the gate knows who asks
// from it, and lets through pulls, and pushes inside the reader's namespace
// (src/images/gate-rules.ts). That namespace is told to the shells as $DEPOT.
// In a VM there is no socket to mount: each connection becomes a stream over
// a virtio-serial port that the host connects to the machine's gate socket
// (registry-channel.ts).
// Same values as SANDBOX_REGISTRY in src/images/paths.ts (a unit test checks).
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import type { Log } from './log.ts';
import { openRegistryChannel } from './registry-channel.ts';

export const REGISTRY_GATE_SOCKET = '/.sandbox/registry/gate.sock';
export const REGISTRY_MIRROR_PORT = 5000;

/** Where login shells read $DEPOT from (bash --login reads /etc/profile.d/*.sh). */
export const DEPOT_PROFILE = '/etc/profile.d/depot.sh';

/** The shell line that names the reader's own place in the class registry. */
export function depotProfile(namespace: string): string {
  return `# Votre espace du dépôt d'images de la classe : docker push $DEPOT/mon-app\nexport DEPOT=localhost:${REGISTRY_MIRROR_PORT}/${namespace}\n`;
}

/** Before the first shell starts: every login shell then has $DEPOT. */
export function writeDepotProfile(namespace: string, log: Log): void {
  try {
    writeFileSync(DEPOT_PROFILE, depotProfile(namespace), { mode: 0o644 });
  } catch (error) {
    log('warn', 'could not tell the shells their registry namespace', { error: (error as Error).message });
  }
}

export function startRegistryForwarder(log: Log): void {
  const channel = existsSync('/.sandbox/registry') ? undefined : openRegistryChannel(log);
  if (!existsSync('/.sandbox/registry') && !channel) return; // no store on this host: pulls fail as they would offline
  const server = net.createServer({ allowHalfOpen: Boolean(channel) }, (client) => {
    if (channel) {
      channel.carry(client);
      return;
    }
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
