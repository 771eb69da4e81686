// Who is asking, for per-reader limits: the TCP peer address, or the address
// a trusted reverse proxy put in a configured header (its last entry: the one
// the proxy itself added, which the reader cannot forge).
import type { IncomingMessage } from 'node:http';

export function clientKey(req: IncomingMessage, trustedHeader: string): string {
  if (trustedHeader !== '') {
    const value = req.headers[trustedHeader];
    const text = Array.isArray(value) ? value.join(',') : value;
    const last = text
      ?.split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '')
      .at(-1);
    if (last) return last;
  }
  return normalizeAddress(req.socket.remoteAddress ?? 'unknown');
}

/** "::ffff:127.0.0.1" and "127.0.0.1" are the same reader. */
function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}
