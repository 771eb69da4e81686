// The host's side of the agent protocol: one session per sandbox, over any
// byte stream (a unix socket here; a VM driver can hand it a virtio-serial
// stream). Turns frames into the driver contract's TerminalStreams.
//
// The agent keeps its terminals when a session ends (see agent/agent.ts): a
// new session over a new connection is told in its Hello which are still
// open, gets their recent output, and carries on with them.
//
// Everything the agent sends is untrusted — root inside the sandbox can
// replace the agent — so a malformed or unexpected frame closes the session
// (and the sandbox's owner hears about it through onClose), never throws into
// the server. So does an agent that stops reading (its input would pile up in
// the server: input is refused past a small queue and the reader's socket is
// paused), one that ignores Pause (its output would pile up toward the
// reader), one that does not answer an open or an exec in time, and one that
// floods the log (it has a budget: machine-log.ts).
import type { Duplex } from 'node:stream';
import { MISBEHAVED, type Disposable, type TerminalSize, type TerminalStream } from './driver.ts';
import {
  FrameDecoder,
  FrameKind,
  PROTOCOL_VERSION,
  ProtocolError,
  decodeControl,
  encodeControl,
  encodeData,
  encodeFrame,
  frameKindName,
  type ExecDone,
  type Frame,
  type Hello,
  type OpenTerminal,
} from '../../../contracts/agent-protocol.ts';
import type { ProcessSnapshot } from '../../../contracts/process-snapshot.ts';
import { terminalNameProblem } from '../../../contracts/names.ts';
import { terminalSizeProblem } from '../../../contracts/sizes.ts';
import type { LogSink } from './namespace/options.ts';
import { MachineLog } from './machine-log.ts';

/** Output kept for a terminal nobody listens to yet (between open and the first onData). */
const UNHEARD_OUTPUT_LIMIT = 256 * 1024;
/** Bytes queued toward the agent past which reader input is refused (and the reader's socket paused) until it drains. */
export const INPUT_QUEUE_LIMIT = 256 * 1024;
/** How long the agent may leave that queue full before it is taken for stopped and its machine ended. */
export const AGENT_STALL_MS = 20_000;
/** How long an open may wait for Opened, and an exec for ExecDone past its own timeout. */
export const AGENT_ANSWER_MS = 20_000;
/**
 * Output an agent may still send on a channel after it was asked to pause:
 * what it had read from the pty and what sits in the socket's buffers (≈ 330
 * KiB at most seen), with room to spare. Past it, the agent ignores Pause.
 */
export const PAUSED_OVERRUN_LIMIT = 2 * 1024 * 1024;
/** Data for channels that are not open (an honest agent sends none). */
const STRAY_DATA_LIMIT = 1024 * 1024;
/** Log records an agent may have dropped (over its budget) before it is taken for a flood. */
const LOG_FLOOD_LIMIT = 5000;

export class AgentSession {
  readonly hello: Promise<Hello>;
  #stream: Duplex;
  #log: LogSink;
  #fields: Record<string, unknown>;
  #decoder = new FrameDecoder();
  #nextChannel = 1;
  #terminals = new Map<number, HostTerminal>();
  #opening = new Map<string, Promise<HostTerminal>>();
  #pendingOpens = new Map<number, { name: string; size: TerminalSize; resolve: (terminal: HostTerminal) => void; reject: (error: Error) => void }>();
  #pendingExecs = new Map<number, { resolve: (done: ExecDone) => void; reject: (error: Error) => void }>();
  #pendingSnapshots = new Map<number, { resolve: (snapshot: ProcessSnapshot) => void; reject: (error: Error) => void }>();
  #closeListeners = new Set<(reason: string) => void>();
  #closedReason: string | undefined;
  #helloSettle!: { resolve: (hello: Hello) => void; reject: (error: Error) => void };
  #machineLog: MachineLog;
  #strayDataBytes = 0;
  #stallTimer: NodeJS.Timeout | undefined;
  #writableListeners = new Set<() => void>();

  /** `machineLog`: the machine's log budget, when the driver shares one between its output and its agent. */
  constructor(stream: Duplex, log: LogSink, fields: Record<string, unknown> = {}, machineLog?: MachineLog) {
    this.#stream = stream;
    this.#log = log;
    this.#fields = fields;
    this.#machineLog = machineLog ?? new MachineLog(log, fields);
    this.hello = new Promise((resolve, reject) => (this.#helloSettle = { resolve, reject }));
    this.hello.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
    stream.on('data', (chunk: Buffer) => this.#receive(chunk));
    stream.on('error', (error) => this.#close(`agent connection error: ${error.message}`));
    stream.on('close', () => this.#close('agent connection closed'));
    stream.on('drain', () => this.#drained());
  }

  /** False while the queue toward the agent is full: reader input is refused until onWritable. */
  get writable(): boolean {
    return this.#closedReason !== undefined || this.#stream.writableLength < INPUT_QUEUE_LIMIT;
  }

  onWritable(listener: () => void): Disposable {
    this.#writableListeners.add(listener);
    return { dispose: () => this.#writableListeners.delete(listener) };
  }

  get closed(): boolean {
    return this.#closedReason !== undefined;
  }

  /** The session ended (agent gone, or protocol violation); `reason` says which. */
  onClose(listener: (reason: string) => void): Disposable {
    if (this.#closedReason !== undefined) {
      const reason = this.#closedReason;
      queueMicrotask(() => this.#callCloseListener(listener, reason));
      return { dispose() {} };
    }
    this.#closeListeners.add(listener);
    return { dispose: () => this.#closeListeners.delete(listener) };
  }

  async openTerminal(name: string, size: TerminalSize): Promise<TerminalStream> {
    const nameProblem = terminalNameProblem(name);
    if (nameProblem) throw new RangeError(`invalid terminal name: ${nameProblem}`);
    const sizeProblem = terminalSizeProblem(size.cols, size.rows);
    if (sizeProblem) throw new RangeError(`invalid terminal size: ${sizeProblem}`);
    if (this.#closedReason !== undefined) throw new Error(`the sandbox is gone (${this.#closedReason})`);

    const existing = [...this.#terminals.values()].find((terminal) => terminal.name === name) ?? (await this.#opening.get(name));
    if (existing && !existing.exited) {
      existing.resize(size);
      return existing;
    }
    const opening = this.#open(name, size);
    this.#opening.set(name, opening);
    try {
      return await opening;
    } finally {
      this.#opening.delete(name);
    }
  }

  /** Runs `argv` as root inside, without a terminal; see agent/exec.ts. */
  exec(argv: readonly string[], timeoutMs: number): Promise<ExecDone> {
    if (this.#closedReason !== undefined) return Promise.reject(new Error(`the sandbox is gone (${this.#closedReason})`));
    if (argv.length === 0) return Promise.reject(new RangeError('exec needs a command: argv is empty'));
    const channel = this.#nextChannel++;
    const done = new Promise<ExecDone>((resolve, reject) => this.#pendingExecs.set(channel, { resolve, reject }));
    this.#send(encodeControl(FrameKind.Exec, channel, { argv: [...argv], timeoutMs }));
    return this.#answerWithin(done, timeoutMs + AGENT_ANSWER_MS, `an exec (${timeoutMs} ms of its own)`);
  }

  /** The machine's processes and their namespaces, as its root sees them; see agent/process-snapshot.ts. */
  snapshot(maxProcesses: number): Promise<ProcessSnapshot> {
    if (this.#closedReason !== undefined) return Promise.reject(new Error(`the sandbox is gone (${this.#closedReason})`));
    const channel = this.#nextChannel++;
    const done = new Promise<ProcessSnapshot>((resolve, reject) => this.#pendingSnapshots.set(channel, { resolve, reject }));
    this.#send(encodeControl(FrameKind.Snapshot, channel, { maxProcesses }));
    return this.#answerWithin(done, AGENT_ANSWER_MS, 'a process snapshot');
  }

  /** Terminals the agent still had open from an earlier session, then any opened since. */
  get openTerminals(): (TerminalStream & { readonly size: TerminalSize })[] {
    return [...this.#terminals.values()].filter((terminal) => !terminal.exited);
  }

  /**
   * Ends the session. An agent that listens for hosts keeps its terminals for
   * the next one; an agent with a one-shot transport exits, and the sandbox with it.
   */
  close(reason = 'closed by the host'): void {
    this.#close(reason);
    this.#stream.destroy();
  }

  #open(name: string, size: TerminalSize): Promise<HostTerminal> {
    const channel = this.#nextChannel++;
    const opened = new Promise<HostTerminal>((resolve, reject) => this.#pendingOpens.set(channel, { name, size, resolve, reject }));
    this.#send(encodeControl(FrameKind.Open, channel, { name, cols: size.cols, rows: size.rows }));
    return this.#answerWithin(opened, AGENT_ANSWER_MS, 'a terminal open');
  }

  #restore({ channel, name, pid, tty, cols, rows }: OpenTerminal): void {
    if (this.#terminals.has(channel) || [...this.#terminals.values()].some((terminal) => terminal.name === name)) {
      throw new ProtocolError(`Hello lists channel ${channel} or terminal "${name}" twice`);
    }
    const terminal = new HostTerminal(name, channel, pid, tty, this.#terminalLink(), { cols, rows });
    this.#terminals.set(channel, terminal);
    // New channels must not collide with the ones the agent already uses.
    this.#nextChannel = Math.max(this.#nextChannel, channel + 1);
  }

  #terminalLink(): TerminalLink {
    return {
      send: (bytes, input) => this.#send(bytes, input),
      writable: () => this.writable,
      onWritable: (listener) => this.onWritable(listener),
      log: this.#log,
      fields: this.#fields,
    };
  }

  /** An agent that does not answer in time is stopped or broken: its machine is ended. */
  #answerWithin<T>(answer: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const reason = `${MISBEHAVED}: its agent did not answer ${what} within ${ms} ms`;
        this.#misbehaved(reason);
        reject(new Error(`the sandbox is gone (${reason})`));
      }, ms);
    });
    return Promise.race([answer, late]).finally(() => clearTimeout(timer));
  }

  /** Frames toward the agent; input (Data) is refused while the queue is full, so a stopped agent cannot grow it. */
  #send(frame: Buffer, input = false): boolean {
    if (this.#closedReason !== undefined) return false;
    if (input && this.#stream.writableLength >= INPUT_QUEUE_LIMIT) return false;
    this.#stream.write(frame);
    // Control frames are few and small, but a queue this deep means nobody reads it.
    if (this.#stream.writableLength >= 4 * INPUT_QUEUE_LIMIT) {
      this.#misbehaved(`${MISBEHAVED}: its agent stopped reading (${this.#stream.writableLength} bytes waiting)`);
      return false;
    }
    if (this.#stream.writableLength >= INPUT_QUEUE_LIMIT && !this.#stallTimer) {
      this.#stallTimer = setTimeout(() => this.#misbehaved(`${MISBEHAVED}: its agent stopped reading for ${AGENT_STALL_MS / 1000} s`), AGENT_STALL_MS);
    }
    return true;
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

  #misbehaved(reason: string): void {
    if (this.#closedReason !== undefined) return;
    this.#log({ level: 'warn', msg: 'machine misbehaved; ending it', reason, ...this.#fields });
    this.close(reason);
  }

  #receive(chunk: Buffer): void {
    try {
      for (const frame of this.#decoder.push(chunk)) {
        // Frames after the session ended (a chunk can hold thousands) are not the host's business any more.
        if (this.#closedReason !== undefined) return;
        this.#handle(frame);
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.#log({ level: 'error', msg: 'agent broke the protocol; closing its session', error: message, ...this.#fields });
      this.close(`agent broke the protocol: ${message}`);
    }
  }

  #handle(frame: Frame): void {
    switch (frame.kind) {
      case FrameKind.Hello: {
        const hello = decodeControl(FrameKind.Hello, frame);
        if (hello.protocol !== PROTOCOL_VERSION) {
          throw new ProtocolError(`agent speaks protocol ${hello.protocol}, the server ${PROTOCOL_VERSION}: the sandbox runs another version of the agent`);
        }
        if (this.#terminals.size > 0 || this.#pendingOpens.size > 0) throw new ProtocolError('a second Hello on the same connection');
        // Terminals kept from an earlier host: their replay comes next, in Data frames.
        for (const open of hello.terminals ?? []) this.#restore(open);
        this.#helloSettle.resolve(hello);
        return;
      }
      case FrameKind.Opened: {
        const { pid, tty } = decodeControl(FrameKind.Opened, frame);
        const pending = this.#pendingOpens.get(frame.channel);
        if (!pending) throw new ProtocolError(`Opened for channel ${frame.channel}, which nobody opened`);
        this.#pendingOpens.delete(frame.channel);
        // Created now, not when the opener resumes: the shell's first bytes may
        // be in the very chunk that carried this frame.
        const terminal = new HostTerminal(pending.name, frame.channel, pid, tty, this.#terminalLink(), pending.size);
        this.#terminals.set(frame.channel, terminal);
        pending.resolve(terminal);
        return;
      }
      case FrameKind.Data: {
        const terminal = this.#terminals.get(frame.channel);
        if (terminal) {
          if (!terminal.deliver(frame.payload)) {
            this.#misbehaved(`${MISBEHAVED}: its agent ignored Pause (more than ${PAUSED_OVERRUN_LIMIT} bytes after it)`);
          }
          return;
        }
        this.#strayDataBytes += frame.payload.length;
        if (this.#strayDataBytes > STRAY_DATA_LIMIT) {
          this.#misbehaved(`${MISBEHAVED}: its agent sent ${this.#strayDataBytes} bytes to terminals that are not open`);
        }
        return;
      }
      case FrameKind.Exit: {
        const exit = decodeControl(FrameKind.Exit, frame);
        this.#pendingOpens.get(frame.channel)?.reject(new Error('the shell exited before it was ready'));
        this.#pendingOpens.delete(frame.channel);
        this.#terminals.get(frame.channel)?.finish(exit);
        this.#terminals.delete(frame.channel);
        return;
      }
      case FrameKind.ExecDone: {
        const done = decodeControl(FrameKind.ExecDone, frame);
        this.#pendingExecs.get(frame.channel)?.resolve(done);
        this.#pendingExecs.delete(frame.channel);
        return;
      }
      case FrameKind.SnapshotDone: {
        const snapshot = decodeControl(FrameKind.SnapshotDone, frame);
        this.#pendingSnapshots.get(frame.channel)?.resolve(snapshot);
        this.#pendingSnapshots.delete(frame.channel);
        return;
      }
      case FrameKind.Error: {
        const { message, hint } = decodeControl(FrameKind.Error, frame);
        const pending = this.#pendingOpens.get(frame.channel) ?? this.#pendingExecs.get(frame.channel) ?? this.#pendingSnapshots.get(frame.channel);
        if (pending) {
          this.#pendingOpens.delete(frame.channel);
          this.#pendingExecs.delete(frame.channel);
          this.#pendingSnapshots.delete(frame.channel);
          pending.reject(new Error(`the sandbox refused the request: ${message}`));
        } else {
          this.#machineSays('warn', 'agent reported an error', { error: message, hint, channel: frame.channel });
        }
        return;
      }
      case FrameKind.Log: {
        // The agent's record becomes fields of ours: it cannot forge a record, a level above warn, nor our ids.
        const { level, msg, ...rest } = decodeControl(FrameKind.Log, frame);
        const ours = level === 'debug' ? 'debug' : level === 'info' ? 'info' : 'warn';
        this.#machineSays(ours, 'agent log', {
          source: 'agent',
          agentLevel: level,
          agentMsg: msg,
          ...(Object.keys(rest).length > 0 ? { agentFields: rest } : {}),
        });
        return;
      }
      default:
        throw new ProtocolError(`the agent may not send ${frameKindName(frame.kind)} frames`);
    }
  }

  #machineSays(level: 'debug' | 'info' | 'warn', msg: string, words: Record<string, unknown>): void {
    this.#machineLog.write(level, msg, words);
    if (this.#machineLog.droppedTotal > LOG_FLOOD_LIMIT) {
      this.#misbehaved(`${MISBEHAVED}: its agent flooded the log (${this.#machineLog.droppedTotal} records over its budget)`);
    }
  }

  #close(reason: string): void {
    if (this.#closedReason !== undefined) return;
    this.#closedReason = reason;
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    this.#machineLog.flush();
    const gone = new Error(`the sandbox is gone (${reason})`);
    this.#helloSettle.reject(gone);
    for (const pending of [...this.#pendingOpens.values(), ...this.#pendingExecs.values(), ...this.#pendingSnapshots.values()]) pending.reject(gone);
    this.#pendingOpens.clear();
    this.#pendingExecs.clear();
    this.#pendingSnapshots.clear();
    // The owner hears first, so that it can tell the readers why (a machine ended for misbehaving) before their shells end.
    for (const listener of this.#closeListeners) this.#callCloseListener(listener, reason);
    this.#closeListeners.clear();
    // To this server the shells are gone (an agent that listens for hosts still has them).
    for (const terminal of this.#terminals.values()) terminal.finish({ code: null, signal: 9 });
    this.#terminals.clear();
    // Whoever waits to write again (a paused reader) is let go: writes are now dropped.
    this.#drained();
    this.#writableListeners.clear();
  }

  /** A listener's failure is its own: logged, and the other listeners still hear the news. */
  #callCloseListener(listener: (reason: string) => void, reason: string): void {
    try {
      listener(reason);
    } catch (error) {
      this.#log({ level: 'error', msg: 'agent session close listener threw', error: String(error), ...this.#fields });
    }
  }
}

/** What a terminal needs of its session. */
interface TerminalLink {
  /** `input`: reader keystrokes, refused (false) while the agent's queue is full. */
  send(frame: Buffer, input?: boolean): boolean;
  writable(): boolean;
  onWritable(listener: () => void): Disposable;
  log: LogSink;
  fields: Record<string, unknown>;
}

type ExitInfo = { code: number | null; signal: number | null };

class HostTerminal implements TerminalStream {
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
