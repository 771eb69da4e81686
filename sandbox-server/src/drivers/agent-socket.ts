// Reaching an agent that listens on a unix socket (agent transport
// "listen:"): the socket appears a moment after the machine starts, and is
// there for as long as the agent runs, whichever server process connects.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Errors that mean "not listening yet": try again. */
const NOT_YET = new Set(['ENOENT', 'ECONNREFUSED']);
const RETRY_MS = 5;

/**
 * Connects to `path`, retrying while nobody listens there yet, until
 * `timeoutMs` has passed or `abandon` resolves (the machine stopped).
 */
export async function connectToAgent(path: string, timeoutMs: number, abandon?: Promise<unknown>): Promise<net.Socket> {
  const deadline = Date.now() + timeoutMs;
  let abandoned = false;
  void abandon?.then(
    () => (abandoned = true),
    () => (abandoned = true),
  );
  for (;;) {
    try {
      return await connectOnce(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (!NOT_YET.has(code)) throw new Error(`cannot reach the agent at ${path}: ${(error as Error).message}`);
      if (abandoned) throw new Error(`the machine stopped before its agent listened at ${path}`);
      if (Date.now() > deadline) throw new Error(`nothing listens at ${path} after ${timeoutMs} ms (${code})`);
      await sleep(RETRY_MS);
    }
  }
}

function connectOnce(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
