// The agent (sandbox-server/agent/agent.ts) in-process, for the unit and fuzz
// tests: one end of a pipe is the host (the test), the agent serves real ptys
// on the other (a plain /bin/sh on this host: no sandbox, no login).
import { duplexPair } from 'node:stream';
import { spawn } from 'node-pty';
import { FrameDecoder, FrameKind, decodeControl, encodeControl, encodeFrame, type Frame } from '../../contracts/agent-protocol.ts';
import { Agent } from '../../sandbox-server/agent/agent.ts';
import type { TerminalGroups } from '../../sandbox-server/agent/terminal-groups.ts';

/** No cgroups for the shells: this agent runs on the host. */
const noGroups: TerminalGroups = { create: () => [], killAll: async () => 0, watchLimit: () => {}, stop: () => {} };

export interface AgentHarnessOptions {
  /** The hostname the agent says in Hello. */
  hostname: string;
  /** The agent outlives its host, as with a "listen:" transport (main.ts does not stop it then). */
  keep?: boolean;
}

export type AgentHarness = ReturnType<typeof startAgentHarness>;

export function startAgentHarness({ hostname, keep = false }: AgentHarnessOptions) {
  const [host, agentEnd] = duplexPair();
  const logs: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const shells: number[] = [];
  const agent = new Agent({
    user: 'nobody',
    hostname,
    groups: noGroups,
    spawnShell: ({ cols, rows }) => {
      const pty = spawn('/bin/sh', [], { name: 'xterm', cols, rows, cwd: '/tmp', env: { PATH: '/usr/bin:/bin', PS1: '$ ' }, encoding: null });
      shells.push(pty.pid);
      return pty;
    },
    log: (level, msg, fields) => logs.push({ level, msg, fields }),
  });
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  host.on('data', (chunk: Buffer) => frames.push(...decoder.push(chunk)));
  let closed = false;
  // As main.ts does with a one-shot transport (stdio, unix:): the host gone, the terminals are hung up.
  agent.onHostGone(() => {
    closed = true;
    if (!keep) agent.stop();
  });
  agent.start();
  agent.serve(agentEnd);
  return {
    host,
    agentEnd,
    frames,
    logs,
    /** The pids of the shells the agent spawned, in order. */
    shells,
    isClosed: () => closed,
    send: (frame: Buffer) => host.write(frame),
    /** The terminal output of a channel so far. */
    output: (channel: number) => Buffer.concat(frames.filter((f) => f.kind === FrameKind.Data && f.channel === channel).map((f) => f.payload)).toString('utf8'),
    /** The first frame of this kind on this channel, once it comes. */
    next: async (kind: number, channel: number) => {
      await until(() => frames.some((f) => f.kind === kind && f.channel === channel), `${kind} on channel ${channel}`);
      return frames.find((f) => f.kind === kind && f.channel === channel)!;
    },
    /** A new host connection, as a restarted server makes: its own frames. */
    reconnect: () => {
      const [nextHost, nextAgentEnd] = duplexPair();
      const nextDecoder = new FrameDecoder();
      const nextFrames: Frame[] = [];
      nextHost.on('data', (chunk: Buffer) => nextFrames.push(...nextDecoder.push(chunk)));
      agent.serve(nextAgentEnd);
      return { host: nextHost, frames: nextFrames };
    },
    /** Abrupt end (test teardown): the pipe destroyed, the agent stopped. */
    end: () => {
      host.destroy();
      agent.stop();
    },
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
