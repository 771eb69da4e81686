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
import { AGENT_ANSWER_MS, LOG_FLOOD_LIMIT, PAUSED_OVERRUN_LIMIT, STRAY_DATA_LIMIT } from './agent-limits.ts';
import { AgentOutbox } from './agent-outbox.ts';
import { PendingRequests, answerWithin } from './agent-requests.ts';
import { HostTerminal, type TerminalLink } from './host-terminal.ts';

export class AgentSession {
  readonly hello: Promise<Hello>;
  #stream: Duplex;
  #log: LogSink;
  #fields: Record<string, unknown>;
  #decoder = new FrameDecoder();
  #nextChannel = 1;
  #terminals = new Map<number, HostTerminal>();
  #opening = new Map<string, Promise<HostTerminal>>();
  #pending = new PendingRequests();
  #closeListeners = new Set<(reason: string) => void>();
  #closedReason: string | undefined;
  #helloSettle!: { resolve: (hello: Hello) => void; reject: (error: Error) => void };
  #machineLog: MachineLog;
  #strayDataBytes = 0;
  #outbox: AgentOutbox;
  readonly #answerMs: number;

  /**
   * `machineLog`: the machine's log budget, when the driver shares one between its output and its agent.
   * `answerMs`: how long an open or a snapshot may wait for the agent (an emulated VM on a loaded host needs more than AGENT_ANSWER_MS).
   */
  constructor(stream: Duplex, log: LogSink, fields: Record<string, unknown> = {}, machineLog?: MachineLog, answerMs = AGENT_ANSWER_MS) {
    this.#answerMs = answerMs;
    this.#stream = stream;
    this.#log = log;
    this.#fields = fields;
    this.#machineLog = machineLog ?? new MachineLog(log, fields);
    this.hello = new Promise((resolve, reject) => (this.#helloSettle = { resolve, reject }));
    this.hello.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
    stream.on('data', (chunk: Buffer) => this.#receive(chunk));
    stream.on('error', (error) => this.#close(`agent connection error: ${error.message}`));
    stream.on('close', () => this.#close('agent connection closed'));
    this.#outbox = new AgentOutbox(stream, (reason) => this.#misbehaved(reason), log, fields);
  }

  /** False while the queue toward the agent is full: reader input is refused until onWritable. */
  get writable(): boolean {
    return this.#closedReason !== undefined || this.#outbox.writable;
  }

  onWritable(listener: () => void): Disposable {
    return this.#outbox.onWritable(listener);
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
    const done = new Promise<ExecDone>((resolve, reject) => this.#pending.execs.set(channel, { resolve, reject }));
    this.#send(encodeControl(FrameKind.Exec, channel, { argv: [...argv], timeoutMs }));
    return this.#answerWithin(done, timeoutMs + this.#answerMs, `an exec (${timeoutMs} ms of its own)`);
  }

  /** The machine's processes and their namespaces, as its root sees them; see agent/process-snapshot.ts. */
  snapshot(maxProcesses: number): Promise<ProcessSnapshot> {
    if (this.#closedReason !== undefined) return Promise.reject(new Error(`the sandbox is gone (${this.#closedReason})`));
    const channel = this.#nextChannel++;
    const done = new Promise<ProcessSnapshot>((resolve, reject) => this.#pending.snapshots.set(channel, { resolve, reject }));
    this.#send(encodeControl(FrameKind.Snapshot, channel, { maxProcesses }));
    return this.#answerWithin(done, this.#answerMs, 'a process snapshot');
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
    const opened = new Promise<HostTerminal>((resolve, reject) => this.#pending.opens.set(channel, { name, size, resolve, reject }));
    this.#send(encodeControl(FrameKind.Open, channel, { name, cols: size.cols, rows: size.rows }));
    return this.#answerWithin(opened, this.#answerMs, 'a terminal open');
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
    return answerWithin(answer, ms, `${MISBEHAVED}: its agent did not answer ${what} within ${ms} ms`, (reason) => this.#misbehaved(reason));
  }

  /** Frames toward the agent (agent-outbox.ts); nothing once the session ended. */
  #send(frame: Buffer, input = false): boolean {
    if (this.#closedReason !== undefined) return false;
    return this.#outbox.send(frame, input);
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
        if (this.#terminals.size > 0 || this.#pending.opens.size > 0) throw new ProtocolError('a second Hello on the same connection');
        // Terminals kept from an earlier host: their replay comes next, in Data frames.
        for (const open of hello.terminals ?? []) this.#restore(open);
        this.#helloSettle.resolve(hello);
        return;
      }
      case FrameKind.Opened: {
        const { pid, tty } = decodeControl(FrameKind.Opened, frame);
        const pending = this.#pending.opens.get(frame.channel);
        if (!pending) throw new ProtocolError(`Opened for channel ${frame.channel}, which nobody opened`);
        this.#pending.opens.delete(frame.channel);
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
        this.#pending.opens.get(frame.channel)?.reject(new Error('the shell exited before it was ready'));
        this.#pending.opens.delete(frame.channel);
        this.#terminals.get(frame.channel)?.finish(exit);
        this.#terminals.delete(frame.channel);
        return;
      }
      case FrameKind.ExecDone: {
        const done = decodeControl(FrameKind.ExecDone, frame);
        this.#pending.execs.get(frame.channel)?.resolve(done);
        this.#pending.execs.delete(frame.channel);
        return;
      }
      case FrameKind.SnapshotDone: {
        const snapshot = decodeControl(FrameKind.SnapshotDone, frame);
        this.#pending.snapshots.get(frame.channel)?.resolve(snapshot);
        this.#pending.snapshots.delete(frame.channel);
        return;
      }
      case FrameKind.Error: {
        const { message, hint } = decodeControl(FrameKind.Error, frame);
        const pending = this.#pending.takeAny(frame.channel);
        if (pending) {
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
    this.#machineLog.flush();
    const gone = new Error(`the sandbox is gone (${reason})`);
    this.#helloSettle.reject(gone);
    this.#pending.rejectAll(gone);
    // The owner hears first, so that it can tell the readers why (a machine ended for misbehaving) before their shells end.
    for (const listener of this.#closeListeners) this.#callCloseListener(listener, reason);
    this.#closeListeners.clear();
    // To this server the shells are gone (an agent that listens for hosts still has them).
    for (const terminal of this.#terminals.values()) terminal.finish({ code: null, signal: 9 });
    this.#terminals.clear();
    // Whoever waits to write again (a paused reader) is let go: writes are now dropped.
    this.#outbox.close();
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
