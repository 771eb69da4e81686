// The fork-bomb watch of the agent (sandbox-server/agent/terminal-groups.ts,
// terminal-activity.ts) on this host's own kernel, cgroup v1 as inside a
// namespace machine: a read or write on a pty is heard through inotify, once
// per arming; and a fork bomb typed in a real bash on a real pty, joined to
// a real pids group with a small limit, is found by the check its typing
// brings forward — not by the slow safety check — and stopped, the shell kept.
// Everything runs in a cgroup of this test's own, removed at the end.
import { existsSync, rmdirSync } from 'node:fs';
import { spawn, type IPty } from 'node-pty';
import { afterAll, describe, expect, it } from 'vitest';
import type { Log } from '../../sandbox-server/agent/log.ts';
import { watchTerminalActivity } from '../../sandbox-server/agent/terminal-activity.ts';
import { openTerminalGroups, type TerminalGroups } from '../../sandbox-server/agent/terminal-groups.ts';

const base = `idle-test-groups-${process.pid}`;
const parent = `${base}/terminals`;
const shells: IPty[] = [];
let groups: TerminalGroups | undefined;

afterAll(async () => {
  groups?.stop();
  for (const shell of shells) shell.kill('SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (const hierarchy of ['pids', 'freezer']) {
    for (const dir of [`${parent}/1`, parent, base]) {
      const path = `/sys/fs/cgroup/${hierarchy}/${dir}`;
      if (existsSync(path)) rmdirSync(path);
    }
  }
});

/** A bash on a pty of its own, in the groups whose cgroup.procs files are given (as login-shell.ts does). */
function shell(procsFiles: string[] = []): { pty: IPty; output: () => string; waitFor: (text: string) => Promise<void> } {
  const pty = spawn(
    '/bin/sh',
    [
      '-c',
      'for f do [ "$f" = -- ] && break; echo $$ > "$f"; shift; done; shift; exec "$@"',
      'shell',
      ...procsFiles,
      '--',
      '/bin/bash',
      '--norc',
      '--noprofile',
    ],
    {
      cols: 80,
      rows: 24,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', TERM: 'dumb', PS1: 'prompt$ ' },
    },
  );
  shells.push(pty);
  let text = '';
  pty.onData((data) => (text += data));
  const waitFor = async (wanted: string) => {
    for (const deadline = Date.now() + 60_000; !text.includes(wanted); ) {
      if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(wanted)} in ${JSON.stringify(text.slice(-500))}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { pty, output: () => text, waitFor };
}

describe("the agent's fork-bomb watch, on this host's kernel", () => {
  it('hears the first read or write on a terminal, once, until armed again', async () => {
    const { pty, waitFor } = shell();
    await waitFor('prompt$ ');
    const activity = watchTerminalActivity();
    let heard = 0;
    activity.arm(() => heard++);
    pty.write('echo one-$((1+1))\r');
    await waitFor('one-2');
    expect(heard).toBe(1);
    // Not armed again: the shell's next read and writes are not heard.
    pty.write('echo two-$((1+1))\r');
    await waitFor('two-2');
    expect(heard).toBe(1);
    activity.arm(() => heard++);
    pty.write('echo three-$((1+1))\r');
    await waitFor('three-2');
    expect(heard).toBe(2);
    activity.disarm();
  });

  it('finds a fork bomb typed in an idle terminal at the check its typing brings forward, and keeps the shell', async () => {
    const logs: { msg: string; via?: unknown; terminal?: unknown }[] = [];
    const log: Log = (_level, msg, fields) => logs.push({ msg, ...fields });
    const opened = openTerminalGroups(40, log, parent);
    groups = opened;
    const { pty, output, waitFor } = shell(opened.create('1'));
    await waitFor('prompt$ ');
    let stopped!: (killed: number) => void;
    const stoppedBomb = new Promise<number>((resolve) => (stopped = resolve));
    // The agent does this (agent.ts): stop every task of the terminal but its shell.
    opened.watchLimit(async (name) => {
      expect(name).toBe('1');
      stopped(await opened.killAll(name, pty.pid));
    });
    pty.write(':(){ :|:& };:\r');
    expect(await stoppedBomb).toBeGreaterThan(0);
    // Found by the check after the terminal's use (or by pids.events on a kernel that notifies it), not the slow one.
    const found = logs.find((line) => line.msg === 'pids limit hit in a terminal');
    expect(found?.terminal).toBe('1');
    expect(['terminal in use', 'pids.events']).toContain(found?.via);
    pty.write('wait; echo alive-$((20+1))\r');
    await waitFor('alive-21');
    expect(output()).toContain('alive-21');
  });
});
