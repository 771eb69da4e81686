// How the agent reaches the host. The protocol only needs an ordered byte
// stream; which one is a matter of where the sandbox runs:
//   unix:/path  a socket the host listens on, bind-mounted into the sandbox
//               (namespace driver);
//   stdio       the agent's own stdin/stdout (tests; a VM guest can start the
//               agent with a virtio-serial port as stdin/stdout).
import { Duplex } from 'node:stream';
import net from 'node:net';

export function openTransport(spec: string): Promise<Duplex> {
  if (spec === 'stdio') {
    return Promise.resolve(Duplex.from({ readable: process.stdin, writable: process.stdout }));
  }
  if (spec.startsWith('unix:')) {
    const path = spec.slice('unix:'.length);
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
      socket.once('error', (error) => reject(new Error(`cannot reach the host at ${path}: ${error.message}`)));
    });
  }
  return Promise.reject(new Error(`unknown transport "${spec}": use "unix:/path" or "stdio"`));
}
