// The host's end of one terminal of an agent session: turns the session's
// Data frames for its channel into the driver contract's TerminalStream, and
// its calls (write, resize, pause…) into frames. Output printed before anyone
// listens is kept (bounded) for the first listener; output past what a paused
// terminal may still receive tells the session its agent ignores Pause.
import { FrameKind, encodeControl, encodeData, encodeFrame } from '../../../contracts/agent-protocol.ts';
import { terminalSizeProblem } from '../../../contracts/sizes.ts';
import type { Disposable, TerminalSize, TerminalStream } from './driver.ts';
import { PAUSED_OVERRUN_LIMIT, UNHEARD_OUTPUT_LIMIT } from './agent-limits.ts';
import type { LogSink } from './namespace/options.ts';

/** What a terminal needs of its session. */
export interface TerminalLink {
  /** `input`: reader keystrokes, refused (false) while the agent's queue is full. */
  send(frame: Buffer, input?: boolean): boolean;
  writable(): boolean;
  onWritable(listener: () => void): Disposable;
  log: LogSink;
  fields: Record<string, unknown>;
}

export type ExitInfo = { code: number | null; signal: number | null };

export class HostTerminal implements TerminalStream {
  readonly name: string;
  /** Its size as last set (restored terminals: as the agent reported it). */
  size: TerminalSize;
  /** The shell's pid and pty inside the sandbox. */
  readonly pid: number;
  readonly tty: string;
  exited = false;
  #channel: number;
  #link: TerminalLink;
  #log: LogSink;
  #fields: Record<string, unknown>;
  /** Bytes received since the last Pause, while paused (undefined when not paused). */
  #sincePause: number | undefined;
  #dataListeners = new Set<(chunk: Buffer) => void>();
  #exitListeners = new Set<(exit: ExitInfo) => void>();
  #unheard: Buffer[] = [];
  #unheardBytes = 0;
  #exit: ExitInfo | undefined;

  constructor(name: string, channel: number, pid: number, tty: string, link: TerminalLink, size: TerminalSize) {
    this.name = name;
    this.size = { cols: size.cols, rows: size.rows };
    this.pid = pid;
    this.tty = tty;
    this.#channel = channel;
    this.#link = link;
    this.#log = link.log;
    this.#fields = { ...link.fields, terminal: name };
  }

  /** False while input would pile up in the server (the agent does not read): wait for onWritable. */
  get writable(): boolean {
    return this.#link.writable();
  }

  onWritable(listener: () => void): Disposable {
    return this.#link.onWritable(listener);
  }

  onData(listener: (chunk: Buffer) => void): Disposable {
    this.#dataListeners.add(listener);
    if (this.#unheard.length > 0) {
      // What the shell said before anybody listened (its first prompt, typically).
      const unheard = Buffer.concat(this.#unheard);
      this.#unheard = [];
      this.#unheardBytes = 0;
      queueMicrotask(() => this.#call(listener, unheard));
    }
    return { dispose: () => this.#dataListeners.delete(listener) };
  }

  onExit(listener: (exit: ExitInfo) => void): Disposable {
    if (this.#exit) {
      const exit = this.#exit;
      queueMicrotask(() => this.#call(listener, exit));
      return { dispose() {} };
    }
    this.#exitListeners.add(listener);
    return { dispose: () => this.#exitListeners.delete(listener) };
  }

  /** Returns false when (part of) the input was refused: the agent's queue is full. */
  write(data: Buffer | string): boolean {
    if (this.exited) return false;
    let all = true;
    for (const frame of encodeData(this.#channel, typeof data === 'string' ? Buffer.from(data, 'utf8') : data)) {
      all = this.#link.send(frame, true) && all;
    }
    return all;
  }

  resize(size: TerminalSize): void {
    // Callers check sizes with the same rule (contracts/sizes.ts) at their
    // edge; one that slips through is a bug to log, never a reason to throw
    // into whatever event delivered it (a WebSocket listener, once: the
    // whole server went down).
    const problem = terminalSizeProblem(size.cols, size.rows);
    if (problem) {
      this.#log({ level: 'error', msg: 'resize refused: invalid size', error: problem, ...this.#fields });
      return;
    }
    this.size = { cols: size.cols, rows: size.rows };
    if (!this.exited) this.#link.send(encodeControl(FrameKind.Resize, this.#channel, { cols: size.cols, rows: size.rows }));
  }

  pause(): void {
    if (this.exited) return;
    this.#sincePause ??= 0;
    this.#link.send(encodeFrame(FrameKind.Pause, this.#channel));
  }

  resume(): void {
    if (this.exited) return;
    this.#sincePause = undefined;
    this.#link.send(encodeFrame(FrameKind.Resume, this.#channel));
  }

  close(): void {
    if (!this.exited) this.#link.send(encodeFrame(FrameKind.Close, this.#channel));
  }

  /** Output from the agent; false when it came past what a paused terminal may still receive (the agent ignores Pause). */
  deliver(chunk: Buffer): boolean {
    if (this.#sincePause !== undefined) {
      this.#sincePause += chunk.length;
      if (this.#sincePause > PAUSED_OVERRUN_LIMIT) return false;
    }
    if (this.#dataListeners.size === 0) {
      this.#unheard.push(chunk);
      this.#unheardBytes += chunk.length;
      while (this.#unheardBytes > UNHEARD_OUTPUT_LIMIT && this.#unheard.length > 1) {
        this.#unheardBytes -= this.#unheard.shift()!.length;
      }
      return true;
    }
    for (const listener of this.#dataListeners) this.#call(listener, chunk);
    return true;
  }

  finish(exit: ExitInfo): void {
    if (this.exited) return;
    this.exited = true;
    this.#exit = exit;
    for (const listener of this.#exitListeners) this.#call(listener, exit);
    this.#exitListeners.clear();
  }

  #call<T>(listener: (value: T) => void, value: T): void {
    try {
      listener(value);
    } catch (error) {
      this.#log({ level: 'error', msg: 'terminal listener threw', error: String(error), ...this.#fields });
    }
  }
}
