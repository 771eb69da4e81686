// Reader input into a pty, without a thread hop. node-pty's own write()
// hands every write to libuv's thread pool (fs.write), so each keystroke
// waits for a pool thread to wake, write and report back: on a busy host
// that wake-up is most of an echo's time. The pty's master side is
// non-blocking (node-pty sets O_NONBLOCK), so a keystroke can be written
// on the spot: writeSync takes what the kernel accepts and never blocks.
// Only what the kernel refuses (a shell that does not read, a huge paste)
// waits, in order, and is tried again shortly.
import { writeSync } from 'node:fs';
import type { IPty } from 'node-pty';

/** How soon refused input is tried again (the pty's buffer drains as the shell reads). */
const RETRY_MS = 2;

export class PtyWriter {
  readonly #fd: number | undefined;
  readonly #pty: IPty;
  #queue: Buffer[] = [];
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(pty: IPty) {
    this.#pty = pty;
    // node-pty's master fd (a getter it does not declare in its typings).
    const fd = (pty as IPty & { fd?: unknown }).fd;
    this.#fd = typeof fd === 'number' && fd >= 0 ? fd : undefined;
  }

  write(data: Buffer): void {
    if (this.#closed || data.length === 0) return;
    if (this.#fd === undefined) {
      this.#pty.write(data);
      return;
    }
    this.#queue.push(data);
    if (this.#queue.length === 1) this.#drain();
  }

  /** The pty is being closed: drop what waits. */
  close(): void {
    this.#closed = true;
    this.#queue = [];
    clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  #drain(): void {
    this.#retry = undefined;
    while (this.#queue.length > 0 && !this.#closed) {
      const head = this.#queue[0]!;
      let written: number;
      try {
        written = writeSync(this.#fd!, head);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          this.#retry = setTimeout(() => this.#drain(), RETRY_MS);
          return;
        }
        // EIO/EBADF: the line was hung up or the shell is gone; its exit comes through node-pty.
        this.close();
        return;
      }
      if (written >= head.length) this.#queue.shift();
      else this.#queue[0] = head.subarray(written);
    }
  }
}
