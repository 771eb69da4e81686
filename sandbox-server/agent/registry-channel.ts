// In a VM (vm driver) the class image store is not a socket the driver can
// bind-mount: the host offers it on a virtio-serial port of its own instead,
// on which each of dockerd's connections to 127.0.0.1:5000 becomes one
// stream (stream-mux.ts). The guest has no NIC for it and no route: the host
// connects every stream to the store's read-only gate and nowhere else.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type net from 'node:net';
import type { Log } from './log.ts';
import { StreamMux } from './stream-mux.ts';

/** Same name as REGISTRY_PORT_NAME in src/drivers/vm/qemu-args.ts (vm/boot.sh makes the link). */
export const REGISTRY_PORT = '/dev/virtio-ports/cours-linux.registry';

export interface RegistryChannel {
  carry(client: net.Socket): void;
}

/** The channel over the VM's registry port; undefined where there is none (a namespace machine, a VM without Docker). */
export function openRegistryChannel(log: Log): RegistryChannel | undefined {
  if (!existsSync(REGISTRY_PORT)) return undefined;
  // A port opens once, read-write; Node would read the character device in its
  // thread pool and cut long writes (see vm/boot.sh): two cats make it two pipes.
  const pump = spawn('/bin/sh', ['-c', 'exec 3<>"$1"; cat <&3 & exec cat >&3', 'registry-port', REGISTRY_PORT], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const mux = new StreamMux(pump.stdout, pump.stdin, {
    onClose: (reason) => log('warn', 'image store channel closed: pulls now fail', { reason }),
  });
  pump.once('error', (error) => mux.close(`could not open ${REGISTRY_PORT}: ${error.message}`));
  pump.once('exit', (code, signal) => mux.close(`port pump exited (${code ?? signal})`));
  log('info', 'image store channel open', { port: REGISTRY_PORT });
  return { carry: (client) => mux.carry(client) };
}
