// The agent's side of the protocol, behind its terminal keeper
// (terminal-keeper.c). The keeper owns the machine's terminals and the host
// connection, and carries every byte a terminal reads or prints; what it
// does not carry itself comes here over the link (keeper-link.ts), as the
// host sent it: opening a terminal (which shell, in which cgroups), window
// sizes, exercise commands, process descriptions. Answers go back the same
// way, to the host.
//
// The terminals belong to the keeper, not to a connection: when the host goes
// away, every shell keeps running and its output feeds the keeper's replay
// ring; the next host connection is told which terminals are open and gets
// their recent output, from the keeper. Like tmux with its clients.
import type { Duplex } from 'node:stream';
import {
  FrameDecoder,
  FrameKind,
  ProtocolError,
  decodeControl,
  encodeControl,
  encodeData,
  frameKindName,
  type Frame,
  type LogRecord,
} from '../../contracts/agent-protocol.ts';
import type { Log } from './log.ts';
import type { TerminalGroups } from './terminal-groups.ts';
import type { LoginShellOptions } from './login-shell.ts';
import { runExec } from './exec.ts';
import { LINK_FRAME_KINDS, LinkKind, decodeAdopt, decodeSpawned, readyFrame, setSizeFrame, spawnFrame, type ShellCommand } from './keeper-link.ts';
import { throttledSnapshots } from './process-snapshot.ts';

interface Terminal {
  name: string;
  channel: number;
  /** Its shell's pid, once the keeper started it. */
  pid: number | undefined;
}

export interface AgentOptions {
  user: string;
  groups: TerminalGroups;
  /** What a terminal runs: the login shell (login-shell.ts), or a plain shell in tests. */
  shellCommand: (options: LoginShellOptions) => ShellCommand;
  log: Log;
}

// Shown in the terminal when a fork bomb was stopped: the reader must know
// why their processes vanished. In French, like the course.
const forkBombNotice = (killed: number) => `\r\n\x1b[1;33m[bac à sable] Limite de processus atteinte (fork bomb ?) : ${killed} processus arrêtés.\x1b[0m\r\n`;

/** The « Vue des namespaces » asks after every command; more often than this it gets the previous answer. */
const SNAPSHOT_MIN_INTERVAL_MS = 200;

export class Agent {
  #link: Duplex | undefined;
  #options: AgentOptions;
  #decoder = new FrameDecoder(LINK_FRAME_KINDS);
  #terminals = new Map<number, Terminal>();
  #snapshot = throttledSnapshots(SNAPSHOT_MIN_INTERVAL_MS);

  constructor(options: AgentOptions) {
    this.#options = options;
  }

  /**
   * Serves the keeper over `link`, then tells it to serve the host over
   * `transport` (contracts' AgentConfig.transport) as `hostname`.
   */
  serve(link: Duplex, transport: string, hostname: string): void {
    this.#link = link;
    link.on('data', (chunk: Buffer) => this.#receive(chunk));
    link.on('error', (error) => this.#options.log('warn', 'link to the terminal keeper failed', { error: error.message }));
    this.#options.groups.watchLimit((name) => this.#stopForkBomb(name));
    link.write(readyFrame(transport, hostname));
  }

  /** Sends a log record to the host through the keeper (which writes it to stderr while no host is connected). */
  sendLog(record: LogRecord): boolean {
    if (!this.#link || this.#link.destroyed) return false;
    this.#link.write(encodeControl(FrameKind.Log, 0, record));
    return true;
  }

  #receive(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (error) {
      // The keeper is ours: an unreadable link is a bug, and nothing can be served without it.
      this.#options.log('error', 'unreadable link from the terminal keeper', { error: String(error) });
      this.#link?.destroy();
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
    const kind = frame.kind as number;
    if (kind === LinkKind.Spawned) return this.#spawned(frame);
    if (kind === LinkKind.SpawnFailed) {
      this.#terminals.delete(frame.channel);
      return;
    }
    if (kind === LinkKind.Exited) return this.#exited(frame);
    if (kind === LinkKind.Adopt) {
      // This agent is a restarted one: the keeper kept the terminals the previous one opened.
      const { pid, name, tty } = decodeAdopt(frame.payload);
      this.#terminals.set(frame.channel, { name, channel: frame.channel, pid });
      this.#options.log('info', 'terminal adopted from the previous agent', { terminal: name, pid, tty });
      return;
    }
    if (kind === LinkKind.Host) {
      if (frame.payload[0] === 1 && this.#terminals.size > 0) {
        this.#options.log('info', 'host connected: terminals handed over', { terminals: [...this.#terminals.values()].map(({ name }) => name) });
      } else if (frame.payload[0] === 0) {
        this.#options.log('info', 'host gone: terminals kept until a host connects again');
      }
      return;
    }
    if (kind === FrameKind.Open) return this.#open(frame);
    if (kind === FrameKind.Exec) return this.#exec(frame);
    if (kind === FrameKind.Snapshot) return this.#describeProcesses(frame);
    if (kind === FrameKind.Resize) {
      const terminal = this.#terminals.get(frame.channel);
      if (!terminal || terminal.pid === undefined) throw new ProtocolError(`Resize for channel ${frame.channel}, which has no terminal`);
      const { cols, rows } = decodeControl(FrameKind.Resize, frame);
      this.#send(setSizeFrame(frame.channel, cols, rows));
      return;
    }
    throw new ProtocolError(`the agent does not accept ${frameKindName(frame.kind)} frames`);
  }

  #open(frame: Frame): void {
    const { name, cols, rows } = decodeControl(FrameKind.Open, frame);
    const { channel } = frame;
    if (channel === 0 || this.#terminals.has(channel)) throw new ProtocolError(`channel ${channel} is not free`);
    for (const other of this.#terminals.values()) {
      if (other.name === name) throw new ProtocolError(`terminal "${name}" is already open on channel ${other.channel}`);
    }
    const groupProcsFiles = this.#options.groups.create(name);
    const command = this.#options.shellCommand({ user: this.#options.user, groupProcsFiles });
    this.#terminals.set(channel, { name, channel, pid: undefined });
    // The keeper answers the host (Opened, or an Error) and us (Spawned or SpawnFailed).
    this.#send(spawnFrame(channel, name, cols, rows, command));
  }

  #spawned(frame: Frame): void {
    const terminal = this.#terminals.get(frame.channel);
    if (!terminal) return;
    const { pid, tty } = decodeSpawned(frame.payload);
    terminal.pid = pid;
    this.#options.log('info', 'terminal opened', { terminal: terminal.name, pid, tty });
  }

  #exited(frame: Frame): void {
    const terminal = this.#terminals.get(frame.channel);
    if (!terminal) return;
    this.#terminals.delete(frame.channel);
    let status: unknown = {};
    try {
      status = JSON.parse(frame.payload.toString('utf8'));
    } catch {
      // Logged without its status.
    }
    this.#options.log('info', 'terminal exited', { terminal: terminal.name, ...(status as object) });
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
    const terminals = [...this.#terminals.values()].flatMap(({ name, pid }) => (pid === undefined ? [] : [{ name, pid }]));
    this.#send(encodeControl(FrameKind.SnapshotDone, frame.channel, this.#snapshot({ maxProcesses, terminals })));
  }

  async #stopForkBomb(name: string): Promise<void> {
    const terminal = [...this.#terminals.values()].find((candidate) => candidate.name === name);
    let killed: number;
    try {
      killed = await this.#options.groups.killAll(name, terminal?.pid);
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
    const link = this.#link;
    if (!link || link.destroyed) return;
    // The keeper reads the link as fast as the host reads it: Node's own buffer holds what it has not taken yet.
    for (const frame of frames) link.write(frame);
  }

  /** Watches no more limits (the machine is stopping; the keeper hangs the terminals up). */
  stop(): void {
    this.#options.groups.stop();
  }
}
