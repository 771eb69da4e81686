// The browser's half of flow control (the xterm.js flow-control guide): the
// server counts output bytes it sent and pauses the shell when too many are
// unacknowledged; we acknowledge bytes only once xterm has *written* them
// (its write callback), so a flood (`yes`) is paced by what the page can
// draw and Ctrl-C is never stuck behind megabytes of queued output.
//
// Both sides count the same unit: bytes of binary frames.
import { FLOW_ACK_EVERY_BYTES } from '../../contracts/wire.ts';

export class AckCounter {
  private readonly sendAck: (bytes: number) => void;
  private readonly every: number;
  private connection = 0;
  private received = 0;
  private written = 0;
  private pending = 0;

  /** `sendAck(n)` tells the server that n more bytes were written. */
  constructor(sendAck: (bytes: number) => void, every = FLOW_ACK_EVERY_BYTES) {
    if (!(every > 0)) throw new RangeError(`AckCounter needs a positive threshold, got ${every}`);
    this.sendAck = sendAck;
    this.every = every;
  }

  /** Identifies the current connection; pass it back to written() so late callbacks of an old one are ignored. */
  get epoch(): number {
    return this.connection;
  }

  /** Bytes handed to xterm and not yet written by it. */
  get inFlight(): number {
    return this.received - this.written;
  }

  /** Bytes written by xterm but not yet acknowledged to the server. */
  get unacknowledged(): number {
    return this.pending;
  }

  /** A binary frame of `bytes` arrived and was handed to xterm. */
  handed(bytes: number): void {
    this.received += bytes;
  }

  /** xterm's write callback for `bytes` handed over during connection `epoch`. */
  wrote(bytes: number, epoch: number): void {
    if (epoch !== this.connection) return;
    this.written += bytes;
    this.pending += bytes;
    if (this.pending >= this.every) this.flush();
  }

  /** Acknowledges whatever was written and not yet acknowledged (e.g. when output goes quiet). */
  flush(): void {
    if (this.pending === 0) return;
    const bytes = this.pending;
    this.pending = 0;
    this.sendAck(bytes);
  }

  /** A new connection: the server starts counting from zero, so do we. */
  reset(): void {
    this.connection++;
    this.received = 0;
    this.written = 0;
    this.pending = 0;
  }
}
