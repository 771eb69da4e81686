// How the agent reaches the host. The protocol only needs an ordered byte
// stream; which one is a matter of where the sandbox runs:
//   listen:/path  the agent listens on a unix socket in a directory the host
//                 can reach (namespace driver: bind-mounted from the host);
//                 any number of hosts may connect over time, one at a time
//                 (the newest wins), and the machine outlives each of them;
//   unix:/path    connect once to a socket the host listens on;
//   stdio         the agent's own stdin/stdout (tests; a VM guest starts the
//                 agent with a virtio-serial port as stdin/stdout).
// With the last two there is one host connection only: when it ends, the
// agent has nobody left to serve.
import { chmodSync, rmSync } from 'node:fs';
import net from 'node:net';
import { Duplex } from 'node:stream';

export interface HostTransport {
  /** True when another host can connect after one leaves (the agent then outlives its host). */
  readonly reconnectable: boolean;
  /** Hands each host connection to `onStream`, in the order they come; resolves once the first can come. */
  serve(onStream: (stream: Duplex) => void): Promise<void>;
}

export function openTransport(spec: string): HostTransport {
  if (spec === 'stdio') {
    return {
      reconnectable: false,
      serve: async (onStream) => onStream(Duplex.from({ readable: process.stdin, writable: process.stdout })),
    };
  }
  if (spec.startsWith('unix:')) {
    const path = spec.slice('unix:'.length);
    return { reconnectable: false, serve: async (onStream) => onStream(await connect(path)) };
  }
  if (spec.startsWith('listen:')) {
    const path = spec.slice('listen:'.length);
    return { reconnectable: true, serve: (onStream) => listen(path, onStream) };
  }
  throw new Error(`unknown transport "${spec}": use "listen:/path", "unix:/path" or "stdio"`);
}

function connect(path: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', (error) => reject(new Error(`cannot reach the host at ${path}: ${error.message}`)));
  });
}

function listen(path: string, onStream: (stream: Duplex) => void): Promise<void> {
  // A socket file left by an agent of an earlier boot of this machine cannot be bound over.
  rmSync(path, { force: true });
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => onStream(socket));
    server.once('error', (error) => reject(new Error(`cannot listen for the host at ${path}: ${error.message}`)));
    server.listen(path, () => {
      // The host is root outside; inside, only the machine's root may speak to the agent.
      chmodSync(path, 0o600);
      server.removeAllListeners('error');
      server.on('error', () => {}); // accept() errors (EMFILE…): the next host tries again
      resolve();
    });
  });
}
