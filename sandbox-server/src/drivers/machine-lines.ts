// Reading lines from a stream a machine writes to (its init's and agent's
// stdout/stderr, QEMU's stderr). Root inside can write anything there, as
// fast as it likes and without a newline, so unlike node:readline this never
// holds more than one line's worth of bytes (longer lines are cut, the rest
// counted and skipped), and it reads at a bounded pace: past `bytesPerSecond`
// the stream is paused, so the pipe fills and the writer inside blocks, at
// its own expense, instead of the server's event loop spinning on its bytes.
import type { Readable } from 'node:stream';

export interface LineLimits {
  /** Bytes kept of one line; the rest of it is skipped (and its length reported). */
  maxLineBytes: number;
  /** Reading pace once the burst is spent. */
  bytesPerSecond: number;
  /** Bytes read at full speed before the pace applies. */
  burstBytes: number;
}

export const MACHINE_LINE_LIMITS: LineLimits = { maxLineBytes: 2048, bytesPerSecond: 256 * 1024, burstBytes: 1024 * 1024 };

/** One line, at most maxLineBytes of it; `cutBytes` > 0 when it was longer. */
export interface Line {
  text: string;
  cutBytes: number;
}

/** Cuts bytes into lines without ever keeping more than `maxLineBytes` of an unfinished one. */
export class LineSplitter {
  readonly #max: number;
  #kept: Buffer[] = [];
  #keptBytes = 0;
  #skipped = 0;

  constructor(maxLineBytes: number) {
    this.#max = maxLineBytes;
  }

  push(chunk: Buffer): Line[] {
    const lines: Line[] = [];
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      this.#keep(chunk.subarray(start, end));
      if (newline === -1) break;
      lines.push(this.#take());
      start = newline + 1;
    }
    return lines;
  }

  /** What is left once the stream ended (an unfinished last line), if anything. */
  end(): Line[] {
    return this.#keptBytes > 0 || this.#skipped > 0 ? [this.#take()] : [];
  }

  #keep(part: Buffer): void {
    const room = this.#max - this.#keptBytes;
    if (part.length <= room) {
      if (part.length > 0) this.#kept.push(Buffer.from(part));
      this.#keptBytes += part.length;
      return;
    }
    if (room > 0) this.#kept.push(Buffer.from(part.subarray(0, room)));
    this.#keptBytes += Math.max(room, 0);
    this.#skipped += part.length - Math.max(room, 0);
  }

  #take(): Line {
    let text = Buffer.concat(this.#kept).toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    const line = { text, cutBytes: this.#skipped };
    this.#kept = [];
    this.#keptBytes = 0;
    this.#skipped = 0;
    return line;
  }
}

export interface LineReader {
  /** Resolves once the stream ended or failed (never rejects); `error` says which. */
  readonly closed: Promise<{ error?: Error }>;
  /** Bytes read so far. */
  readonly bytesRead: number;
  stop(): void;
}

/** Calls `onLine` for each line of `stream`, within `limits`; a stream error ends the reading, never the server. */
export function readLines(stream: Readable, onLine: (line: Line) => void, limits: LineLimits = MACHINE_LINE_LIMITS): LineReader {
  const splitter = new LineSplitter(limits.maxLineBytes);
  let tokens = limits.burstBytes;
  let at = Date.now();
  let resumeTimer: NodeJS.Timeout | undefined;
  let bytesRead = 0;
  let settle!: (outcome: { error?: Error }) => void;
  const closed = new Promise<{ error?: Error }>((resolve) => (settle = resolve));
  let done = false;
  const finish = (error?: Error) => {
    if (done) return;
    done = true;
    clearTimeout(resumeTimer);
    for (const line of splitter.end()) safely(onLine, line);
    settle(error ? { error } : {});
  };
  stream.on('data', (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    bytesRead += bytes.length;
    for (const line of splitter.push(bytes)) safely(onLine, line);
    const now = Date.now();
    tokens = Math.min(limits.burstBytes, tokens + ((now - at) / 1000) * limits.bytesPerSecond) - bytes.length;
    at = now;
    if (tokens < 0 && !done) {
      // Over pace: stop reading until the debt is paid back.
      stream.pause();
      clearTimeout(resumeTimer);
      resumeTimer = setTimeout(() => stream.resume(), Math.ceil((-tokens / limits.bytesPerSecond) * 1000));
    }
  });
  stream.once('error', (error) => finish(error));
  stream.once('end', () => finish());
  stream.once('close', () => finish());
  return {
    closed,
    get bytesRead() {
      return bytesRead;
    },
    stop() {
      clearTimeout(resumeTimer);
      stream.destroy();
    },
  };
}

function safely(onLine: (line: Line) => void, line: Line): void {
  try {
    onLine(line);
  } catch {
    // A listener's failure must not stop the reading (nor reach the event loop).
  }
}
