// Frames on their way to an agent, and the bounds that keep a stopped agent
// from growing the server: reader input is refused while the queue is past
// INPUT_QUEUE_LIMIT (the reader's socket is paused until it drains), a queue
// left full for AGENT_STALL_MS or grown past four times the limit means
// nobody reads it, and the machine is ended (`stuck`).
import type { Duplex } from 'node:stream';
import { MISBEHAVED, type Disposable } from './driver.ts';
import { AGENT_STALL_MS, INPUT_QUEUE_LIMIT } from './agent-limits.ts';
import type { LogSink } from './namespace/options.ts';

export class AgentOutbox {
  #stream: Duplex;
  #stuck: (reason: string) => void;
  #log: LogSink;
  #fields: Record<string, unknown>;
  #stallTimer: NodeJS.Timeout | undefined;
  #writableListeners = new Set<() => void>();
  #closed = false;

  constructor(stream: Duplex, stuck: (reason: string) => void, log: LogSink, fields: Record<string, unknown>) {
    this.#stream = stream;
    this.#stuck = stuck;
    this.#log = log;
    this.#fields = fields;
    stream.on('drain', () => this.#drained());
  }

  /** False while the queue is full: reader input is refused until onWritable (always true once closed: writes are dropped). */
  get writable(): boolean {
    return this.#closed || this.#stream.writableLength < INPUT_QUEUE_LIMIT;
  }

  onWritable(listener: () => void): Disposable {
    this.#writableListeners.add(listener);
    return { dispose: () => this.#writableListeners.delete(listener) };
  }

  /** Queues `frame`; input (reader keystrokes, `input`) is refused (false) while the queue is full. */
  send(frame: Buffer, input = false): boolean {
    if (this.#closed) return false;
    const stream = this.#stream;
    if (input && stream.writableLength >= INPUT_QUEUE_LIMIT) return false;
    stream.write(frame);
    const queued = stream.writableLength;
    if (queued < INPUT_QUEUE_LIMIT) return true; // the usual case: the kernel took it at once
    // Control frames are few and small, but a queue this deep means nobody reads it.
    if (queued >= 4 * INPUT_QUEUE_LIMIT) {
      this.#stuck(`${MISBEHAVED}: its agent stopped reading (${queued} bytes waiting)`);
      return false;
    }
    this.#stallTimer ??= setTimeout(() => this.#stuck(`${MISBEHAVED}: its agent stopped reading for ${AGENT_STALL_MS / 1000} s`), AGENT_STALL_MS);
    return true;
  }

  /** The session ended: whoever waits to write again (a paused reader) is let go, and later writes are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#drained();
    this.#writableListeners.clear();
  }

  #drained(): void {
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    for (const listener of [...this.#writableListeners]) {
      try {
        listener();
      } catch (error) {
        this.#log({ level: 'error', msg: 'writable listener threw', error: String(error), ...this.#fields });
      }
    }
  }
}
