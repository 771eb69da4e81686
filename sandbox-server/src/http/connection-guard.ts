// Limits on connections, so that a slow or greedy client cannot hold every
// file descriptor of the server (half-sent requests from one address once
// made /healthz and sandbox creation fail for everyone):
// - at most `perAddress` open connections from one address (not applied
//   behind a trusted reverse proxy, which is one address for everybody and
//   keeps its own limits), and `total` overall; beyond, the connection is
//   closed at once;
// - short timeouts for a request's headers (upgrades included) and body.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  total: number;
  perAddress: number;
  /** Off behind a reverse proxy (CLIENT_IP_HEADER set). */
  perAddressApplies: boolean;
}

/** Time a client has to send a request's headers (a WebSocket upgrade's too). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** Time a client has to send a whole request. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** An idle kept-alive connection is closed after this long. */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;

export class ConnectionGuard {
  readonly #limits: ConnectionLimits;
  readonly #byAddress = new Map<string, number>();
  #open = 0;
  #refused = 0;
  readonly #onRefused: (address: string, why: 'total' | 'per-address') => void;

  constructor(limits: ConnectionLimits, onRefused: (address: string, why: 'total' | 'per-address') => void) {
    this.#limits = limits;
    this.#onRefused = onRefused;
  }

  /** Connections refused so far. */
  get refused(): number {
    return this.#refused;
  }

  get open(): number {
    return this.#open;
  }

  /** Applies the timeouts to `server` and counts every connection it accepts. */
  watch(server: Server): void {
    server.headersTimeout = HEADERS_TIMEOUT_MS;
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    server.on('connection', (socket: Socket) => this.#admit(socket));
  }

  #admit(socket: Socket): void {
    const address = normalize(socket.remoteAddress ?? 'unknown');
    const fromAddress = this.#byAddress.get(address) ?? 0;
    const why =
      this.#open >= this.#limits.total ? 'total' : this.#limits.perAddressApplies && fromAddress >= this.#limits.perAddress ? 'per-address' : undefined;
    if (why) {
      this.#refused++;
      this.#onRefused(address, why);
      socket.destroy();
      return;
    }
    this.#open++;
    this.#byAddress.set(address, fromAddress + 1);
    socket.once('close', () => {
      this.#open--;
      const left = (this.#byAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.#byAddress.delete(address);
      else this.#byAddress.set(address, left);
    });
  }
}

function normalize(address: string): string {
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}
