// In a VM (vm driver) the class image store is not a socket the driver can
// bind-mount: the host offers it on a virtio-serial port of its own instead,
// on which each of dockerd's connections to 127.0.0.1:5000 becomes one
// stream (stream-mux.ts). The guest has no NIC for it and no route: the host
// connects every stream to the store's read-only gate and nowhere else.
//
// The port outlives each sandbox server (a restart connects a new one), so
// vm/boot.sh's vport-bridge turns each host session on it into one connection
// to a socket listened on here: a new connection is a new host, and the old
// one's streams are gone with it.
import { chmodSync, existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import type { Log } from './log.ts';
import { StreamMux } from './stream-mux.ts';

/** Same name as REGISTRY_PORT_NAME in src/drivers/vm/qemu-args.ts (vm/boot.sh makes the link). */
export const REGISTRY_PORT = '/dev/virtio-ports/cours-linux.registry';
/** Where vm/boot.sh's vport-bridge connects each host session of the registry port. */
export const REGISTRY_PORT_SOCKET = '/run/cours-linux-registry.sock';

export interface RegistryChannel {
  carry(client: net.Socket): void;
}

/** The channel over the VM's registry port; undefined where there is none (a namespace machine, a VM without Docker). */
export function openRegistryChannel(log: Log): RegistryChannel | undefined {
  if (!existsSync(REGISTRY_PORT)) return undefined;
  let current: StreamMux | undefined;
  const server = net.createServer((session) => {
    current?.close('a new host session replaces this one');
    const mux: StreamMux = new StreamMux(session, session, {
      onClose: (reason) => {
        if (current === mux) current = undefined;
        session.destroy();
        log('info', 'image store channel closed: pulls fail until the host is back', { reason });
      },
    });
    current = mux;
    session.once('error', () => session.destroy());
    session.once('close', () => mux.close('host session ended'));
    log('info', 'image store channel open', { port: REGISTRY_PORT });
  });
  rmSync(REGISTRY_PORT_SOCKET, { force: true });
  server.on('error', (error) => log('warn', 'image store channel: cannot listen', { socket: REGISTRY_PORT_SOCKET, error: error.message }));
  server.listen(REGISTRY_PORT_SOCKET, () => chmodSync(REGISTRY_PORT_SOCKET, 0o600));
  // No host session right now: the pull fails at once, as it would offline.
  return { carry: (client) => (current ? current.carry(client) : client.destroy()) };
}
