// The agent's side of the protocol: owns the machine's terminals and serves
// them to one host connection at a time. Knows nothing about how a stream
// reaches the host, nor about sandboxes.
//
// The terminals belong to the agent, not to a connection: when the host goes
// away (a server restart, a crash), every shell keeps running and its output
// keeps feeding a replay ring; the next host connection takes over, is told
// which terminals are open (Hello) and gets their recent output. Like tmux
// with its clients, or Jupyter with its kernels.
import type { Duplex } from 'node:stream';
import type { IPty } from 'node-pty';
import {
  FrameDecoder,
  FrameKind,
  PROTOCOL_VERSION,
  ProtocolError,
  decodeControl,
  encodeControl,
  encodeData,
  frameKindName,
  type Frame,
  type LogRecord,
  type OpenTerminal,
  TERMINAL_REPLAY_BYTES,
} from '../../contracts/agent-protocol.ts';
import { ReplayBuffer } from '../../contracts/replay-buffer.ts';
import type { Log } from './log.ts';
import type { TerminalGroups } from './terminal-groups.ts';
import type { LoginShellOptions } from './login-shell.ts';
import { runExec } from './exec.ts';
import { PtyWriter } from './pty-writer.ts';
import { throttledSnapshots } from './process-snapshot.ts';

interface Terminal {
  name: string;
  channel: number;
  pty: IPty;
  /** Reader input into it, written on the spot (pty-writer.ts). */
  input: PtyWriter;
  /** The host asked for a pause (its client is behind). */
  pausedByHost: boolean;
  /** The line was hung up: the pty's master side is closed, its shell is on its way out. */
  hungUp: boolean;
  tty: string;
  cols: number;
  rows: number;
  /** Its recent output, for the next host that connects. */
  recent: ReplayBuffer;
}

// node-pty's destroy() (close the master side, then SIGHUP) is not in its typings.
type ClosablePty = IPty & { destroy(): void };

export interface AgentOptions {
  user: string;
  hostname: string;
  groups: TerminalGroups;
  spawnShell: (options: LoginShellOptions) => IPty;
  log: Log;
}

// Shown in the terminal when a fork bomb was stopped: the reader must know
// why their processes vanished. In French, like the course.
const forkBombNotice = (killed: number) => `\r\n\x1b[1;33m[bac à sable] Limite de processus atteinte (fork bomb ?) : ${killed} processus arrêtés.\x1b[0m\r\n`;

/** The « Vue des namespaces » asks after every command; more often than this it gets the previous answer. */
const SNAPSHOT_MIN_INTERVAL_MS = 200;

export class Agent {
  /** The host connection being served, if any. */
  #stream: Duplex | undefined;
  #options: AgentOptions;
  #decoder = new FrameDecoder();
  #terminals = new Map<number, Terminal>();
  /** The stream's buffer is full: every pty is paused until it drains. */
  #blocked = false;
  #stopped = false;
  #onHostGone: (() => void)[] = [];
  #snapshot = throttledSnapshots(SNAPSHOT_MIN_INTERVAL_MS);

  constructor(options: AgentOptions) {
    this.#options = options;
  }

  /** Starts watching the terminals' limits; connections come through serve(). */
  start(): void {
    this.#options.groups.watchLimit((name) => this.#stopForkBomb(name));
  }

  /**
   * Serves the host over `stream`. A host already connected is dropped: the
   * newest connection wins, as the old one is a server that died or is being
   * replaced (its socket may not even have noticed yet).
   */
  serve(stream: Duplex): void {
    if (this.#stopped) {
      stream.destroy();
      return;
    }
    const previous = this.#stream;
    if (previous) {
      this.#options.log('warn', 'a new host connection takes over from the current one');
      this.#hostGone(previous, false);
      previous.destroy();
    }
    this.#stream = stream;
    this.#decoder = new FrameDecoder();
    this.#blocked = false;
    stream.on('data', (chunk: Buffer) => {
      if (this.#stream === stream) this.#receive(chunk);
    });
    stream.on('drain', () => {
      if (this.#stream === stream) this.#unblock();
    });
    stream.on('error', (error) => this.#options.log('warn', 'host stream error', { error: error.message }));
    stream.on('close', () => this.#hostGone(stream, true));
    stream.on('end', () => this.#hostGone(stream, true));
    const terminals: OpenTerminal[] = [...this.#terminals.values()]
      .filter((terminal) => !terminal.hungUp)
      .map(({ channel, name, pty, tty, cols, rows }) => ({ channel, name, pid: pty.pid, tty, cols, rows }));
    this.#send(encodeControl(FrameKind.Hello, 0, { protocol: PROTOCOL_VERSION, pid: process.pid, hostname: this.#options.hostname, terminals }));
    // What each shell printed lately, so the host can show it again.
    for (const terminal of this.#terminals.values()) {
      if (terminal.hungUp) continue;
      const snapshot = terminal.recent.snapshot();
      const recent = Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
      if (recent.length > 0) this.#send(...encodeData(terminal.channel, recent));
    }
    if (terminals.length > 0) this.#options.log('info', 'host reconnected: terminals handed over', { terminals: terminals.map(({ name }) => name) });
  }

  /** The host connection ended; the terminals live on (what to do is the caller's choice). */
  onHostGone(listener: () => void): void {
    this.#onHostGone.push(listener);
  }

  get connected(): boolean {
    return this.#stream !== undefined;
  }

  /** Sends a log record to the host (see log.ts); false when no host is connected. */
  sendLog(record: LogRecord): boolean {
    if (!this.#stream) return false;
    this.#send(encodeControl(FrameKind.Log, 0, record));
    return true;
  }

  #receive(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (error) {
      this.#options.log('error', 'unreadable stream from the host, closing', { error: String(error) });
      this.#stream?.destroy();
      return;
    }
    for (const frame of frames) {
      try {
        this.#handle(frame);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.#send(encodeControl(FrameKind.Error, frame.channel, { message }));
      }
    }
  }

  #handle(frame: Frame): void {
    if (frame.kind === FrameKind.Open) return this.#open(frame);
    if (frame.kind === FrameKind.Exec) return this.#exec(frame);
    if (frame.kind === FrameKind.Snapshot) return this.#describeProcesses(frame);
    const terminal = this.#terminals.get(frame.channel);
    if (!terminal) {
      // Frames may cross an Exit on the wire: input for a shell that just ended is dropped.
      if (frame.kind === FrameKind.Data || frame.kind === FrameKind.Close) return;
      throw new ProtocolError(`${frameKindName(frame.kind)} for channel ${frame.channel}, which has no terminal`);
    }
    // Hung up, not yet exited: its fd is closed (and its number may already
    // belong to another terminal's pty), so nothing more may reach it.
    if (terminal.hungUp) return;
    switch (frame.kind) {
      case FrameKind.Data:
        terminal.input.write(frame.payload);
        return;
      case FrameKind.Resize: {
        const { cols, rows } = decodeControl(FrameKind.Resize, frame);
        terminal.pty.resize(cols, rows);
        terminal.cols = cols;
        terminal.rows = rows;
        return;
      }
      case FrameKind.Pause:
        terminal.pausedByHost = true;
        terminal.pty.pause();
        return;
      case FrameKind.Resume:
        terminal.pausedByHost = false;
        if (!this.#blocked) terminal.pty.resume();
        return;
      case FrameKind.Close:
        this.#hangUp(terminal);
        return;
      default:
        throw new ProtocolError(`the agent does not accept ${frameKindName(frame.kind)} frames`);
    }
  }

  #open(frame: Frame): void {
    const { name, cols, rows } = decodeControl(FrameKind.Open, frame);
    const { channel } = frame;
    if (channel === 0 || this.#terminals.has(channel)) throw new ProtocolError(`channel ${channel} is not free`);
    for (const other of this.#terminals.values()) {
      if (other.name === name) throw new ProtocolError(`terminal "${name}" is already open on channel ${other.channel}`);
    }
    const groupProcsFiles = this.#options.groups.create(name);
    const pty = this.#options.spawnShell({ user: this.#options.user, cols, rows, groupProcsFiles });
    // node-pty's pty path (e.g. /dev/pts/0) is not in its typings.
    const tty = (pty as IPty & { ptsName?: string }).ptsName ?? '';
    const terminal: Terminal = {
      name,
      channel,
      pty,
      input: new PtyWriter(pty),
      pausedByHost: false,
      hungUp: false,
      tty,
      cols,
      rows,
      recent: new ReplayBuffer(TERMINAL_REPLAY_BYTES),
    };
    this.#terminals.set(channel, terminal);
    if (this.#blocked) pty.pause();

    // With `encoding: null` node-pty hands out Buffers, though its typings say string.
    pty.onData((chunk: string | Buffer) => {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      terminal.recent.append(bytes);
      this.#send(...encodeData(channel, bytes));
    });
    pty.onExit(({ exitCode, signal }) => {
      this.#terminals.delete(channel);
      this.#send(encodeControl(FrameKind.Exit, channel, { code: signal ? null : exitCode, signal: signal || null }));
      this.#options.log('info', 'terminal exited', { terminal: name, code: exitCode, signal });
    });
    this.#send(encodeControl(FrameKind.Opened, channel, { pid: pty.pid, tty }));
    this.#options.log('info', 'terminal opened', { terminal: name, pid: pty.pid, tty });
  }

  #exec(frame: Frame): void {
    const request = decodeControl(FrameKind.Exec, frame);
    if (frame.channel === 0 || this.#terminals.has(frame.channel)) throw new ProtocolError(`channel ${frame.channel} is not free`);
    void runExec(request).then((done) => {
      let frameOut: Buffer;
      try {
        frameOut = encodeControl(FrameKind.ExecDone, frame.channel, done);
      } catch (error) {
        frameOut = encodeControl(FrameKind.Error, frame.channel, { message: `the command's result could not be sent: ${String(error)}` });
      }
      this.#send(frameOut);
    });
  }

  #describeProcesses(frame: Frame): void {
    const { maxProcesses } = decodeControl(FrameKind.Snapshot, frame);
    if (frame.channel === 0 || this.#terminals.has(frame.channel)) throw new ProtocolError(`channel ${frame.channel} is not free`);
    const terminals = [...this.#terminals.values()].filter((terminal) => !terminal.hungUp).map((terminal) => ({ name: terminal.name, pid: terminal.pty.pid }));
    this.#send(encodeControl(FrameKind.SnapshotDone, frame.channel, this.#snapshot({ maxProcesses, terminals })));
  }

  async #stopForkBomb(name: string): Promise<void> {
    const terminal = [...this.#terminals.values()].find((candidate) => candidate.name === name);
    let killed: number;
    try {
      killed = await this.#options.groups.killAll(name, terminal?.pty.pid);
    } catch (error) {
      this.#options.log('error', 'pids limit reached but the terminal could not be cleaned up', { terminal: name, error: String(error) });
      return;
    }
    this.#options.log('warn', 'pids limit reached: stopped every process of the terminal but its shell', { terminal: name, killed });
    if (terminal && this.#terminals.has(terminal.channel)) {
      this.#send(...encodeData(terminal.channel, Buffer.from(forkBombNotice(killed))));
    }
  }

  #send(...frames: Buffer[]): void {
    const stream = this.#stream;
    if (!stream) return; // no host: the output is in the terminal's replay ring
    let full = false;
    for (const frame of frames) full = !stream.write(frame) || full;
    if (full && !this.#blocked) {
      // The host reads slower than the shells write: hold every pty back
      // rather than buffer without bound.
      this.#blocked = true;
      for (const terminal of this.#terminals.values()) terminal.pty.pause();
    }
  }

  #unblock(): void {
    if (!this.#blocked) return;
    this.#blocked = false;
    for (const terminal of this.#terminals.values()) if (!terminal.pausedByHost) terminal.pty.resume();
  }

  /**
   * Hangs the terminal's line up, as closing a terminal emulator's window
   * does: the pty's master side is closed, so the kernel sends SIGHUP to the
   * shell and every later read of the terminal fails. A SIGHUP alone is not
   * enough: when it reaches bash while readline is not blocked in read()
   * (still drawing the prompt, say), readline hands it to bash, which notes
   * it and goes back to reading, to act on it only after the next command
   * line: the shell lived on, and the host waited for its exit forever. On a
   * hung-up line that read fails at once, and bash dies of the SIGHUP.
   * (A shell closed before it even started exits with status 1 instead:
   * forkpty's child cannot make a hung-up pty its terminal.)
   */
  #hangUp(terminal: Terminal): void {
    if (terminal.hungUp) return;
    terminal.hungUp = true;
    terminal.input.close();
    (terminal.pty as ClosablePty).destroy();
  }

  /**
   * `stream` is no longer the host. Nothing holds the shells back any more:
   * what they print goes to their replay rings until the next host connects.
   */
  #hostGone(stream: Duplex, notify: boolean): void {
    if (this.#stream !== stream) return;
    this.#stream = undefined;
    this.#blocked = false;
    for (const terminal of this.#terminals.values()) {
      terminal.pausedByHost = false;
      if (!terminal.hungUp) terminal.pty.resume();
    }
    if (notify) for (const listener of this.#onHostGone) listener();
  }

  /** Hangs every terminal up and serves no host any more (the machine is stopping). */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#options.groups.stop();
    for (const terminal of this.#terminals.values()) this.#hangUp(terminal);
    this.#terminals.clear();
    this.#stream?.destroy();
    this.#stream = undefined;
  }
}
