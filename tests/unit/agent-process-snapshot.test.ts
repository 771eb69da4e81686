// The agent's snapshot of processes and namespaces, against this machine's
// real /proc: processes started here in namespaces of their own (an
// unprivileged user namespace makes that possible without root) must show
// up with the inodes `ls -l /proc/<pid>/ns` prints, their PID in their own
// namespace, the terminal they descend from, and a fork of many must be
// counted rather than listed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { takeProcessSnapshot, throttledSnapshots } from '../../sandbox-server/agent/process-snapshot.ts';
import { MAX_SNAPSHOT_PROCESSES, NAMESPACE_TYPES, checkProcessSnapshot, type ProcessSnapshot, type SnapshotProcess } from '../../contracts/process-snapshot.ts';
import { FrameDecoder, FrameKind, ProtocolError, decodeControl, encodeControl } from '../../contracts/agent-protocol.ts';

const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    // The whole group: the children's own children (sleep, unshare's fork) go too.
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await sleep(50);
});

/** Starts `command` in a process group of its own, as a terminal's shell would be. */
function start(command: string): ChildProcess {
  const child = spawn('/bin/sh', ['-c', command], { detached: true, stdio: 'ignore' });
  children.push(child);
  return child;
}

/**
 * Waits until the processes below `pid` (its children, grand-children…) number `count`, counting only those
 * running `command` when it is given (a fork shows its parent's command until it has exec'd its own).
 */
async function descendants(pid: number, count: number, command?: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const snapshot = takeProcessSnapshot({ maxProcesses: 300, terminals: [{ name: 'probe', pid }] });
    const below = snapshot.processes.filter((p) => p.terminal === 'probe' && p.pid !== pid && (command === undefined || p.command === command));
    if (below.length >= count) return;
    await sleep(25);
  }
  throw new Error(`process ${pid} never had ${count} descendants`);
}

function linkInode(pid: number, type: string): number {
  const target = readlinkSync(`/proc/${pid}/ns/${type}`);
  return Number(/\[(\d+)\]/.exec(target)![1]);
}

function find(processes: SnapshotProcess[], predicate: (p: SnapshotProcess) => boolean, what: string): SnapshotProcess {
  const found = processes.find(predicate);
  if (!found) throw new Error(`no ${what} among ${processes.map((p) => `${p.pid} ${p.command}`).join('; ')}`);
  return found;
}

describe('takeProcessSnapshot on the real /proc', () => {
  it('describes this process with the namespace inodes /proc/<pid>/ns links to, and passes its own contract', () => {
    // This process is named as a terminal's shell so that it is always kept: the
    // host's /proc is read here, and on a busy host (other files' machines) more
    // than 300 processes can push an unnamed one out of the description.
    const snapshot = takeProcessSnapshot({ maxProcesses: 300, terminals: [{ name: '1', pid: process.pid }] });
    expect(checkProcessSnapshot(snapshot)).toBeUndefined();
    const me = find(snapshot.processes, (p) => p.pid === process.pid, 'test process');
    expect(me.ppid).toBe(process.ppid);
    expect(me.command).toContain('node');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
    if (uid === 0) expect(me.user).toBe('root');
    for (const [index, type] of NAMESPACE_TYPES.entries()) expect(me.ns[index], type).toBe(linkInode(process.pid, type));
    expect(snapshot.total).toBeGreaterThanOrEqual(snapshot.processes.length);
    expect(snapshot.costMs).toBeGreaterThan(0);
  });

  it('sees a new UTS and PID namespace, PID 1 inside it, and the terminal it comes from', async () => {
    // The "terminal's shell" runs unshare, whose fork (sleep) is PID 1 of a new PID namespace.
    const shell = start('unshare --user --map-root-user --uts --pid --fork sleep 30; true');
    // unshare's fork has become sleep (under load, CI once looked while it was still a copy of unshare).
    await descendants(shell.pid!, 1, 'sleep 30');
    const snapshot = takeProcessSnapshot({ maxProcesses: 300, terminals: [{ name: '1', pid: shell.pid! }] });
    const uts = NAMESPACE_TYPES.indexOf('uts');
    const pid = NAMESPACE_TYPES.indexOf('pid');
    const sh = find(snapshot.processes, (p) => p.pid === shell.pid, 'shell');
    const unshare = find(snapshot.processes, (p) => p.ppid === shell.pid && p.command.startsWith('unshare'), 'unshare');
    const inside = find(snapshot.processes, (p) => p.ppid === unshare.pid, 'sleep');
    expect(sh).toMatchObject({ terminal: '1', shell: true });
    expect(inside).toMatchObject({ terminal: '1', nspid: 1, command: 'sleep 30' });
    expect(inside.shell).toBeUndefined();
    // unshare itself moved to the new UTS namespace, but not to the new PID namespace (only its children do).
    expect(unshare.ns[uts]).not.toBe(sh.ns[uts]);
    expect(inside.ns[uts]).toBe(unshare.ns[uts]);
    expect(unshare.ns[pid]).toBe(sh.ns[pid]);
    expect(inside.ns[pid]).not.toBe(sh.ns[pid]);
    expect(inside.ns[pid]).toBe(linkInode(inside.pid, 'pid'));
    expect(snapshot.terminals).toEqual([{ name: '1', pid: shell.pid }]);
  });

  it("describes at most maxProcesses, keeps the terminal's shell and its ancestors, and counts the rest by name", async () => {
    const shell = start('for i in $(seq 40); do sleep 30 & done; wait');
    await descendants(shell.pid!, 40);
    const snapshot = takeProcessSnapshot({ maxProcesses: 20, terminals: [{ name: '1', pid: shell.pid! }] });
    expect(checkProcessSnapshot(snapshot)).toBeUndefined();
    expect(snapshot.processes).toHaveLength(20);
    expect(snapshot.omitted.count).toBe(snapshot.total - 20);
    expect(snapshot.omitted.commands.length).toBeLessThanOrEqual(5);
    expect(snapshot.omitted.commands.find((c) => c.command === 'sleep')?.count).toBeGreaterThanOrEqual(30);
    const pids = new Set(snapshot.processes.map((p) => p.pid));
    expect(pids.has(shell.pid!)).toBe(true);
    // No holes in the tree: every kept process's parent is kept too (or is the top).
    for (const p of snapshot.processes) if (p.ppid !== 0) expect(pids.has(p.ppid), `parent of ${p.pid} ${p.command}`).toBe(true);
    // Half the room at most went to the terminal's processes: the machine's own still show.
    expect(snapshot.processes.filter((p) => p.terminal === '1').length).toBeLessThanOrEqual(10);
  });

  it('ignores a terminal whose shell is gone, and processes that end between its two passes', () => {
    const snapshot = takeProcessSnapshot({ maxProcesses: 300, terminals: [{ name: 'gone', pid: 4_000_000 }] });
    expect(snapshot.terminals).toEqual([]);
    expect(snapshot.processes.some((p) => p.terminal === 'gone')).toBe(false);
  });
});

describe('takeProcessSnapshot on a /proc laid out by hand', () => {
  // Docker cannot run containers in the course's machines yet (see sandbox-notes), so the
  // container case is checked on a copy of what /proc and /var/lib/docker would hold.
  it("names the Docker container a process runs in, from its cgroup path and the container's config", () => {
    const root = mkdtempSync(join(tmpdir(), 'snapshot-'));
    try {
      const id = 'a'.repeat(64);
      const fake = (pid: number, ppid: number, name: string, cgroup: string, uts: number) => {
        const dir = join(root, 'proc', String(pid));
        mkdirSync(join(dir, 'ns'), { recursive: true });
        writeFileSync(join(dir, 'stat'), `${pid} (${name}) S ${ppid} ${pid} ${pid} 0 -1 4194560 0 0`);
        writeFileSync(join(dir, 'status'), `Name:\t${name}\nUid:\t0\t0\t0\t0\nNSpid:\t${pid}\t1\n`);
        writeFileSync(join(dir, 'cmdline'), `${name}\0-g\0daemon off;\0`);
        writeFileSync(join(dir, 'cgroup'), cgroup);
        for (const type of NAMESPACE_TYPES) symlinkSync(`${type}:[${type === 'uts' ? uts : 4026531830}]`, join(dir, 'ns', type));
      };
      fake(1, 0, 'init', '0::/\n', 4026531838);
      fake(2, 1, 'nginx', `12:pids:/docker/${id}\n0::/docker/${id}\n`, 4026532999);
      mkdirSync(join(root, 'containers', id), { recursive: true });
      writeFileSync(join(root, 'containers', id, 'config.v2.json'), JSON.stringify({ ID: id, Config: { Hostname: 'x' }, Name: '/web' }));
      const snapshot = takeProcessSnapshot({ maxProcesses: 10, terminals: [], proc: join(root, 'proc'), dockerContainers: join(root, 'containers') });
      expect(snapshot.processes).toEqual([
        {
          pid: 1,
          ppid: 0,
          nspid: 1,
          user: 'root',
          command: 'init -g daemon off;',
          ns: NAMESPACE_TYPES.map((type) => (type === 'uts' ? 4026531838 : 4026531830)),
        },
        {
          pid: 2,
          ppid: 1,
          nspid: 1,
          user: 'root',
          command: 'nginx -g daemon off;',
          ns: NAMESPACE_TYPES.map((type) => (type === 'uts' ? 4026532999 : 4026531830)),
          container: 'web',
        },
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('throttledSnapshots', () => {
  it('answers a request that comes too soon with the previous snapshot', () => {
    let taken = 0;
    const take = throttledSnapshots(60_000, (options) => {
      taken++;
      return takeProcessSnapshot(options);
    });
    const first = take({ maxProcesses: 5, terminals: [] });
    expect(take({ maxProcesses: 5, terminals: [] })).toBe(first);
    expect(taken).toBe(1);
  });
});

describe('the SnapshotDone frame (what an untrusted agent may send)', () => {
  const good = () => takeProcessSnapshot({ maxProcesses: 3, terminals: [] });

  it('round-trips a real snapshot', () => {
    const snapshot = good();
    const [frame] = new FrameDecoder().push(encodeControl(FrameKind.SnapshotDone, 5, snapshot));
    expect(decodeControl(FrameKind.SnapshotDone, frame!)).toEqual(snapshot);
  });

  it.each([
    [
      'too many processes',
      (s: ProcessSnapshot) => ({ ...s, processes: Array.from({ length: MAX_SNAPSHOT_PROCESSES + 1 }, () => s.processes[0]) }),
      /at most 300/,
    ],
    ['a command too long', (s: ProcessSnapshot) => ({ ...s, processes: [{ ...s.processes[0]!, command: 'x'.repeat(500) }] }), /command must be/],
    [
      'a namespace that is not an inode',
      (s: ProcessSnapshot) => ({ ...s, processes: [{ ...s.processes[0]!, ns: ['uts:[1]', ...s.processes[0]!.ns.slice(1)] }] }),
      /ns must be 8/,
    ],
    ['omitted commands without a count', (s: ProcessSnapshot) => ({ ...s, omitted: { count: 1, commands: [{ command: 'x' }] } }), /omitted.commands/],
  ])('refuses %s', (_what, spoil, message) => {
    const [frame] = new FrameDecoder().push(encodeControl(FrameKind.SnapshotDone, 5, spoil(good()) as ProcessSnapshot));
    expect(() => decodeControl(FrameKind.SnapshotDone, frame!)).toThrow(ProtocolError);
    expect(() => decodeControl(FrameKind.SnapshotDone, frame!)).toThrow(message);
  });

  it('refuses a request for more processes than the limit', () => {
    const [frame] = new FrameDecoder().push(encodeControl(FrameKind.Snapshot, 5, { maxProcesses: MAX_SNAPSHOT_PROCESSES + 1 }));
    expect(() => decodeControl(FrameKind.Snapshot, frame!)).toThrow(/maxProcesses must be an integer in 1..300/);
  });
});
