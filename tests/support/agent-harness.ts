// The agent as it runs in a machine, on this host, for the unit and fuzz
// tests: the real terminal keeper (terminal-keeper.c, compiled here) in front
// of the real Agent (agent-child.ts: a plain /bin/sh for every terminal, no
// cgroups). The test is the host: the keeper's stdin/stdout, or (`keep`)
// connections to the socket it listens on, as a server's.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { FrameDecoder, FrameKind, decodeControl, encodeControl, encodeFrame, type Frame } from '../../contracts/agent-protocol.ts';
import { KEEPER_SOURCE } from '../../sandbox-server/src/rootfs/agent-build.ts';
import { CFLAGS } from '../../sandbox-server/src/rootfs/compile-c.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHILD = join(ROOT, 'tests/support/agent-child.ts');

/** The keeper, compiled once per source (as the agent build does, but here, synchronously). */
export function keeperBinary(): string {
  const source = join(ROOT, KEEPER_SOURCE);
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 16);
  const binary = join(tmpdir(), `cours-linux-terminal-keeper-${hash}`);
  if (!existsSync(binary)) {
    const temporary = `${binary}.tmp-${process.pid}`;
    execFileSync('gcc', [...CFLAGS, '-o', temporary, source]);
    execFileSync('mv', [temporary, binary]);
  }
  return binary;
}

export interface AgentHarnessOptions {
  /** The hostname the agent says in Hello. */
  hostname: string;
  /** The agent outlives its host, as with a "listen:" transport (the keeper listens on a socket). */
  keep?: boolean;
}

export type AgentHarness = ReturnType<typeof startAgentHarness>;

interface HostLine {
  host: Duplex;
  frames: Frame[];
}

/** A connection to the keeper's socket, usable at once: what is written before it connects waits. */
function connectWhenListening(path: string, onClose: () => void): Duplex {
  const pending: Buffer[] = [];
  let socket: net.Socket | undefined;
  let ended = false;
  const host = new Duplex({
    // Backpressure as a socket's: a host that stops reading stops reading the keeper's socket.
    read() {
      socket?.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      if (socket) socket.write(chunk, callback);
      else {
        pending.push(chunk);
        callback();
      }
    },
    final(callback) {
      ended = true;
      socket?.end();
      callback();
    },
    destroy(error, callback) {
      socket?.destroy();
      callback(error);
    },
  });
  const attempt = () => {
    if (host.destroyed) return;
    if (!existsSync(path)) {
      setTimeout(attempt, 5);
      return;
    }
    const next = net.connect(path);
    next.once('error', () => setTimeout(attempt, 5));
    next.once('connect', () => {
      next.removeAllListeners('error');
      next.on('error', () => {});
      socket = next;
      for (const chunk of pending.splice(0)) next.write(chunk);
      if (ended) next.end();
      next.on('data', (chunk: Buffer) => {
        if (!host.push(chunk)) next.pause();
      });
      next.on('close', () => {
        onClose();
        host.push(null);
      });
    });
  };
  attempt();
  return host;
}

export function startAgentHarness({ hostname, keep = false }: AgentHarnessOptions) {
  const dir = mkdtempSync(join(tmpdir(), 'agent-harness-'));
  const socketPath = join(dir, 'agent.sock');
  const logs: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  // Told to end with this test process (setpriv execs the keeper in place): a keeper listening for
  // hosts would otherwise outlive a test run killed midway, with its agent and shells.
  const keeper: ChildProcess = spawn('/usr/bin/setpriv', ['--pdeathsig', 'SIGTERM', '--', keeperBinary(), process.execPath, CHILD], {
    env: { PATH: '/usr/bin:/bin', TEST_AGENT_TRANSPORT: keep ? `listen:${socketPath}` : 'stdio', TEST_AGENT_HOSTNAME: hostname },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let closed = false;
  let exited = false;
  keeper.once('exit', () => {
    exited = true;
    closed = true;
    rmSync(dir, { recursive: true, force: true });
  });
  // Records written where no host hears them (JSON lines on stderr), and those sent to the host.
  let stderr = '';
  keeper.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    const lines = stderr.split('\n');
    stderr = lines.pop()!;
    for (const line of lines) {
      try {
        const { level, msg, ...fields } = JSON.parse(line) as { level: string; msg: string };
        logs.push({ level, msg, fields });
      } catch {
        logs.push({ level: 'stderr', msg: line });
      }
    }
  });
  const watch = (host: Duplex): HostLine => {
    const decoder = new FrameDecoder();
    const frames: Frame[] = [];
    host.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        frames.push(frame);
        if (frame.kind === FrameKind.Log) {
          const { level, msg, ...fields } = decodeControl(FrameKind.Log, frame);
          logs.push({ level, msg, fields });
        }
      }
    });
    host.on('error', () => {});
    return { host, frames };
  };
  const first = watch(keep ? connectWhenListening(socketPath, () => (closed = true)) : Duplex.from({ readable: keeper.stdout!, writable: keeper.stdin! }));
  if (!keep) keeper.stdin!.on('error', () => {});
  const { host, frames } = first;
  // Output of terminals, from every connection so far (a reconnect sees the replay again).
  const opened = () => frames.filter((f) => f.kind === FrameKind.Opened).map((f) => decodeControl(FrameKind.Opened, f).pid);
  return {
    host,
    frames,
    logs,
    /** The keeper's pid: what Hello says, and the parent of every shell. */
    keeperPid: keeper.pid!,
    /** The pids of the shells the agent said it opened, in order. */
    get shells() {
      return opened();
    },
    /** The test stops reading what the keeper sends (as a stalled server would), then reads again. */
    pauseHost: () => host.pause(),
    resumeHost: () => host.resume(),
    isClosed: () => closed,
    hasExited: () => exited,
    send: (frame: Buffer) => host.write(frame),
    /** The terminal output of a channel so far. */
    output: (channel: number) => Buffer.concat(frames.filter((f) => f.kind === FrameKind.Data && f.channel === channel).map((f) => f.payload)).toString('utf8'),
    /** The first frame of this kind on this channel, once it comes. */
    next: async (kind: number, channel: number) => {
      await until(() => frames.some((f) => f.kind === kind && f.channel === channel), `${kind} on channel ${channel}`);
      return frames.find((f) => f.kind === kind && f.channel === channel)!;
    },
    /** A new host connection, as a restarted server makes: its own frames (`keep` only). */
    reconnect: (): HostLine => {
      if (!keep) throw new Error('reconnect needs a harness started with keep: the keeper listens only then');
      return watch(connectWhenListening(socketPath, () => {}));
    },
    /** Abrupt end (test teardown): the host gone, the keeper stopped with its agent and shells. */
    end: () => {
      host.destroy();
      if (!exited) keeper.kill('SIGTERM');
    },
    /** Resolves once the keeper has exited. */
    exited: () => until(() => exited, 'the keeper to exit'),
  };
}

/** Polls `condition` every 5 ms; throws naming `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** True once process `pid` is gone. */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** Opens terminal `name` on `channel` and waits for its shell. */
export async function openOn(harness: AgentHarness, channel: number, name = String(channel), cols = 80, rows = 24) {
  harness.send(encodeControl(FrameKind.Open, channel, { name, cols, rows }));
  return decodeControl(FrameKind.Opened, await harness.next(FrameKind.Opened, channel));
}

/** Types a line whose answer is `${word}-2` and waits for that answer (the typed line itself says `$((1+1))`). */
export async function answerOn(harness: AgentHarness, channel: number, word: string, command = `echo ${word}-$((1+1))`) {
  harness.send(encodeFrame(FrameKind.Data, channel, `${command}\r`));
  await until(() => harness.output(channel).includes(`${word}-2`), `${word} on channel ${channel}`);
}
