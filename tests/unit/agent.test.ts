// The agent as a machine runs it: the real terminal keeper
// (sandbox-server/agent/terminal-keeper.c) in front of the real Agent, serving
// real ptys (a plain /bin/sh on this host: no sandbox, no login); the test is
// the host. Every verb of the protocol, and how it ends.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameKind, PROTOCOL_VERSION, decodeControl, encodeControl, encodeFrame } from '../../contracts/agent-protocol.ts';
import { type AgentHarness, answerOn, openOn, processGone, startAgentHarness, until } from '../support/agent-harness.ts';

const running: AgentHarness[] = [];

afterEach(() => {
  for (const harness of running.splice(0)) harness.end();
});

const childrenOf = (pid: number): number[] => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
const commandOf = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

/** The keeper's Node agent: its one child that is not a shell. */
function agentOf(harness: AgentHarness, shells: number[]): number {
  const agents = childrenOf(harness.keeperPid).filter((pid) => !shells.includes(pid));
  if (agents.length !== 1) throw new Error(`expected one agent beside the shells, found ${agents.length}`);
  return agents[0]!;
}

/** Waits for the keeper to have started an agent other than `dead`; returns its pid. */
async function nextAgent(harness: AgentHarness, shells: number[], dead: number): Promise<number> {
  let next: number | undefined;
  await until(() => {
    const children = childrenOf(harness.keeperPid).filter((pid) => !shells.includes(pid) && pid !== dead);
    next = children.length === 1 ? children[0] : undefined;
    return next !== undefined;
  }, 'the keeper to start its agent again');
  return next!;
}

/** Asks `agent` to run `sleep 30` on `channel` (an Exec it will not answer soon); returns the sleep's pid once it runs. */
async function execSleep(harness: AgentHarness, agent: number, channel: number): Promise<number> {
  harness.send(encodeControl(FrameKind.Exec, channel, { argv: ['/bin/sleep', '30'], timeoutMs: 60_000 }));
  let sleeper: number | undefined;
  await until(() => {
    sleeper = childrenOf(agent).find((pid) => commandOf(pid) === 'sleep');
    return sleeper !== undefined;
  }, 'the command to run');
  return sleeper!;
}

/** `keep`: the agent outlives its host, as with a "listen:" transport. */
function startAgent(options: { keep?: boolean } = {}): AgentHarness {
  const harness = startAgentHarness({ hostname: 'unit', ...options });
  running.push(harness);
  return harness;
}

describe('the agent', () => {
  it('says hello first: protocol version, pid, hostname', async () => {
    const harness = startAgent();
    const hello = decodeControl(FrameKind.Hello, await harness.next(FrameKind.Hello, 0));
    expect(hello).toEqual({ protocol: PROTOCOL_VERSION, pid: harness.keeperPid, hostname: 'unit', terminals: [] });
    expect(harness.frames[0]!.kind).toBe(FrameKind.Hello);
  });

  it('opens a shell on a pty at the asked size, carries bytes both ways, and resizes it', async () => {
    const harness = startAgent();
    const opened = await openOn(harness, 1, '1', 100, 30);
    // The shell is the keeper's child, on its own pty.
    expect(readFileSync(`/proc/${opened.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]).toBe(String(harness.keeperPid));
    expect(opened.tty).toMatch(/^\/dev\/pts\/\d+$/);
    await answerOn(harness, 1, 'SIZE', 'echo SIZE-$((1+1)) $(stty size)');
    expect(harness.output(1)).toMatch(/SIZE-2 30 100/);
    harness.send(encodeControl(FrameKind.Resize, 1, { cols: 120, rows: 40 }));
    await answerOn(harness, 1, 'RESIZED', 'echo RESIZED-$((1+1)) $(stty size)');
    expect(harness.output(1)).toMatch(/RESIZED-2 40 120/);
  });

  it('refuses a name or a channel already taken, with an Error on that channel, and goes on serving', async () => {
    const harness = startAgent();
    await openOn(harness, 1, 'main');
    harness.send(encodeControl(FrameKind.Open, 2, { name: 'main', cols: 80, rows: 24 }));
    expect(decodeControl(FrameKind.Error, await harness.next(FrameKind.Error, 2)).message).toMatchInlineSnapshot(
      `"terminal "main" is already open on channel 1"`,
    );
    harness.send(encodeControl(FrameKind.Open, 1, { name: 'other', cols: 80, rows: 24 }));
    expect(decodeControl(FrameKind.Error, await harness.next(FrameKind.Error, 1)).message).toMatchInlineSnapshot(`"channel 1 is not free"`);
    await answerOn(harness, 1, 'STILL');
    expect(harness.shells).toHaveLength(1);
  });

  it('drops input for a channel whose shell is gone, and says when a resize has no terminal', async () => {
    const harness = startAgent();
    harness.send(encodeFrame(FrameKind.Data, 7, 'lost\r'));
    harness.send(encodeControl(FrameKind.Resize, 7, { cols: 80, rows: 24 }));
    expect(decodeControl(FrameKind.Error, await harness.next(FrameKind.Error, 7)).message).toMatchInlineSnapshot(
      `"Resize for channel 7, which has no terminal"`,
    );
    expect(harness.frames.filter((f) => f.channel === 7)).toHaveLength(1);
  });

  it('holds a paused terminal back while the others run, and lets it through on resume', async () => {
    const harness = startAgent();
    await openOn(harness, 1);
    await openOn(harness, 2);
    harness.send(encodeFrame(FrameKind.Pause, 1));
    harness.send(encodeFrame(FrameKind.Data, 1, 'echo HELD-$((1+1))\r'));
    // Terminal 2 answering, after terminal 1 was sent its line, is the clock: no fixed wait.
    await answerOn(harness, 2, 'OTHER');
    await answerOn(harness, 2, 'OTHER-AGAIN');
    expect(harness.output(1)).not.toContain('HELD-2');
    harness.send(encodeFrame(FrameKind.Resume, 1));
    await until(() => harness.output(1).includes('HELD-2'), 'the held output');
  });

  it('hangs a closed terminal up: its shell exits and the host is told', async () => {
    const harness = startAgent();
    await openOn(harness, 1);
    await answerOn(harness, 1, 'READY');
    harness.send(encodeFrame(FrameKind.Close, 1));
    const exit = decodeControl(FrameKind.Exit, await harness.next(FrameKind.Exit, 1));
    expect(exit.code !== 0 || exit.signal !== null).toBe(true);
    // The Node agent logs it once the keeper tells it, after the host's Exit (CI once read the logs before).
    await until(() => harness.logs.some((line) => line.msg === 'terminal exited'), "the agent's log of the exit");
  });

  it('delivers input far larger than the pty buffer, whole and in order, to a shell that reads slowly', async () => {
    const harness = startAgent();
    await openOn(harness, 1);
    const total = 400_000;
    const pieces: Buffer[] = [];
    for (let offset = 0; offset < total; offset += 10_000) pieces.push(Buffer.alloc(10_000, String.fromCharCode(97 + ((offset / 10_000) % 26))));
    const expected = createHash('sha256').update(Buffer.concat(pieces)).digest('hex');
    // Raw, no echo: every byte reaches the reader as typed (a canonical line would keep 4 KiB of it);
    // input starts once the line is raw, and the reader waits a moment before it reads anything.
    harness.send(encodeFrame(FrameKind.Data, 1, `stty raw -echo; echo RAW-$((1+1)); sleep 0.3; head -c ${total} | sha256sum; stty sane\r`));
    await until(() => harness.output(1).includes('RAW-2'), 'the raw line');
    for (const piece of pieces) harness.send(encodeFrame(FrameKind.Data, 1, piece));
    await until(() => harness.output(1).includes(expected), 'the checksum of every byte typed', 30_000);
  });

  it("sends a shell's last output before its Exit, with its status", async () => {
    const harness = startAgent();
    await openOn(harness, 1);
    harness.send(encodeFrame(FrameKind.Data, 1, 'echo LAST-$((40+2)); exit 3\r'));
    const exit = decodeControl(FrameKind.Exit, await harness.next(FrameKind.Exit, 1));
    expect(exit).toEqual({ code: 3, signal: null });
    const exitAt = harness.frames.findIndex((f) => f.kind === FrameKind.Exit);
    const before = Buffer.concat(
      harness.frames
        .slice(0, exitAt)
        .filter((f) => f.kind === FrameKind.Data)
        .map((f) => f.payload),
    ).toString();
    expect(before).toContain('LAST-42');
    expect(harness.frames.slice(exitAt + 1).some((f) => f.kind === FrameKind.Data && f.channel === 1)).toBe(false);
    // The channel is free again, for a new shell.
    harness.send(encodeControl(FrameKind.Open, 1, { name: '1', cols: 80, rows: 24 }));
    await until(() => harness.frames.filter((f) => f.kind === FrameKind.Opened && f.channel === 1).length === 2, 'a second shell on channel 1');
    await answerOn(harness, 1, 'AGAIN');
    expect(harness.logs.find((line) => line.msg === 'terminal exited')?.fields).toMatchObject({ terminal: '1', code: 3, signal: null });
  });

  it('starts its Node agent again when it dies: the shell and the host connection stay, and the new agent serves', async () => {
    const harness = startAgent();
    const { pid: shell } = await openOn(harness, 1, 'main');
    await answerOn(harness, 1, 'BEFORE');
    const first = agentOf(harness, [shell]);
    process.kill(first, 'SIGKILL');
    const second = await nextAgent(harness, [shell], first);
    // The same shell, on the same connection.
    await answerOn(harness, 1, 'AFTER');
    expect(processGone(shell)).toBe(false);
    expect(harness.isClosed()).toBe(false);
    // The new agent knows the terminal it did not open: its name is taken.
    harness.send(encodeControl(FrameKind.Open, 2, { name: 'main', cols: 80, rows: 24 }));
    expect(decodeControl(FrameKind.Error, await harness.next(FrameKind.Error, 2)).message).toBe('terminal "main" is already open on channel 1');
    // It opens terminals and runs commands as the first one did.
    await openOn(harness, 3, 'second');
    await answerOn(harness, 3, 'SECOND');
    harness.send(encodeControl(FrameKind.Exec, 5, { argv: ['/bin/sh', '-c', 'echo out'], timeoutMs: 10_000 }));
    expect(decodeControl(FrameKind.ExecDone, await harness.next(FrameKind.ExecDone, 5))).toMatchObject({ code: 0, stdout: 'out\n' });
    expect(harness.logs.find((line) => line.msg === 'the agent exited: started again, the terminals stay')?.level).toBe('warn');
    expect(agentOf(harness, harness.shells)).toBe(second);
  });

  it('answers with an Error what the dead agent had been asked and not answered, so that the host asks again', async () => {
    const harness = startAgent();
    const { pid: shell } = await openOn(harness, 1);
    const agent = agentOf(harness, [shell]);
    const sleeper = await execSleep(harness, agent, 5);
    process.kill(agent, 'SIGKILL');
    try {
      const error = decodeControl(FrameKind.Error, await harness.next(FrameKind.Error, 5));
      expect(error.message).toBe("the machine's agent restarted while it ran this command: ask again");
      await nextAgent(harness, [shell], agent);
      harness.send(encodeControl(FrameKind.Exec, 6, { argv: ['/bin/sh', '-c', 'echo again'], timeoutMs: 10_000 }));
      expect(decodeControl(FrameKind.ExecDone, await harness.next(FrameKind.ExecDone, 6))).toMatchObject({ code: 0, stdout: 'again\n' });
    } finally {
      // The dead agent's command outlives it (as a machine's would, until its machine ends).
      process.kill(sleeper, 'SIGKILL');
    }
  });

  it('answers no Error to the next host for what a previous host asked before it went', async () => {
    const harness = startAgent({ keep: true });
    const { pid: shell } = await openOn(harness, 1);
    const agent = agentOf(harness, [shell]);
    const sleeper = await execSleep(harness, agent, 5);
    try {
      const next = harness.reconnect();
      await until(() => next.frames.some((frame) => frame.kind === FrameKind.Hello), 'Hello on the new connection');
      process.kill(agent, 'SIGKILL');
      await nextAgent(harness, [shell], agent);
      // The keeper says its Errors before it starts the new agent: once that one answers, none came.
      next.host.write(encodeControl(FrameKind.Exec, 6, { argv: ['/bin/sh', '-c', 'echo here'], timeoutMs: 10_000 }));
      await until(() => next.frames.some((frame) => frame.kind === FrameKind.ExecDone && frame.channel === 6), 'the new agent to answer');
      expect(next.frames.filter((frame) => frame.kind === FrameKind.Error)).toEqual([]);
    } finally {
      process.kill(sleeper, 'SIGKILL');
    }
  });

  it('ends the machine when its agent keeps dying (a fourth death within a minute): every shell hung up', async () => {
    const harness = startAgent({ keep: true });
    const { pid: shell } = await openOn(harness, 1);
    let agent = agentOf(harness, [shell]);
    for (let death = 1; death <= 3; death++) {
      process.kill(agent, 'SIGKILL');
      agent = await nextAgent(harness, [shell], agent);
    }
    process.kill(agent, 'SIGKILL');
    await harness.exited();
    await until(() => processGone(shell), 'the shell to end with its machine');
    expect(harness.logs.filter((line) => line.msg === 'the agent exited: started again, the terminals stay')).toHaveLength(3);
    expect(harness.logs.find((line) => line.msg === 'the agent keeps dying: the machine stops')?.level).toBe('error');
  });

  it('stops reading its ptys while the host reads nothing, so its memory stays bounded, and goes on once it reads', async () => {
    const harness = startAgent();
    await openOn(harness, 1);
    await answerOn(harness, 1, 'READY');
    const rssKiB = () => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${harness.keeperPid}/status`, 'utf8'))![1]);
    const before = rssKiB();
    harness.pauseHost();
    harness.send(encodeFrame(FrameKind.Data, 1, 'yes FLOOD-LINE-OF-SOME-LENGTH\r'));
    // `yes` writes as fast as the pty takes it: gigabytes a minute if nothing held it back.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(rssKiB() - before).toBeLessThan(8 * 1024);
    harness.resumeHost();
    harness.send(encodeFrame(FrameKind.Data, 1, '\x03'));
    await answerOn(harness, 1, 'AFTER');
  });

  it('runs a command without a terminal and answers with its output and status', async () => {
    const harness = startAgent();
    harness.send(encodeControl(FrameKind.Exec, 5, { argv: ['/bin/sh', '-c', 'echo out; echo err >&2; exit 3'], timeoutMs: 10_000 }));
    const done = decodeControl(FrameKind.ExecDone, await harness.next(FrameKind.ExecDone, 5));
    expect(done).toMatchObject({ code: 3, signal: null, stdout: 'out\n', stderr: 'err\n', truncated: false });
  });

  it('closes the stream it cannot read, and ends every terminal when the host goes', async () => {
    const harness = startAgent();
    await openOn(harness, 1);
    harness.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0]));
    await until(() => harness.isClosed(), 'the agent to close');
    expect(harness.logs.find((line) => line.level === 'error')?.msg).toBe('unreadable stream from the host, closing');
    const shell = harness.shells[0]!;
    await until(() => processGone(shell), 'the shell to end with its agent');
  });

  it('keeps its terminals for the next host, which is told of them in Hello and gets their recent output', async () => {
    const harness = startAgent({ keep: true });
    const { pid } = await openOn(harness, 3, 'kept', 100, 30);
    await answerOn(harness, 3, 'before');
    harness.host.destroy(); // the server goes away
    await until(() => harness.isClosed(), 'the agent to notice');
    const next = harness.reconnect();
    await until(() => next.frames.some((f) => f.kind === FrameKind.Hello), 'a Hello on the new connection');
    expect(next.frames[0]!.kind).toBe(FrameKind.Hello);
    const hello = decodeControl(FrameKind.Hello, next.frames[0]!);
    expect(hello.terminals).toEqual([{ channel: 3, name: 'kept', pid, tty: expect.stringMatching(/^\/dev\/pts\//), cols: 100, rows: 30 }]);
    const replay = () => Buffer.concat(next.frames.filter((f) => f.kind === FrameKind.Data && f.channel === 3).map((f) => f.payload)).toString();
    await until(() => replay().includes('before-2'), 'the replay of what the shell printed');
    // Same shell, still answering on its channel.
    next.host.write(encodeFrame(FrameKind.Data, 3, 'echo after-$((2+2))\r'));
    await until(() => replay().includes('after-4'), 'the shell to answer the new host');
    next.host.destroy();
  });

  it('lets a second host take over from the first one still connected', async () => {
    const harness = startAgent({ keep: true });
    await openOn(harness, 1);
    const next = harness.reconnect();
    await until(() => next.frames.some((f) => f.kind === FrameKind.Hello), 'a Hello on the new connection');
    expect(harness.logs.some((line) => line.msg === 'a new host connection takes over from the current one')).toBe(true);
    expect(decodeControl(FrameKind.Hello, next.frames[0]!).terminals.map(({ name }) => name)).toEqual(['1']);
    next.host.destroy();
  });
});
