// The namespace view between the agent and the page: the server's watch
// (when it asks, what it sends: a whole snapshot, then only differences),
// the panel's picture (diffs applied in order), and the grouping and words
// the panel shows (« nouveau namespace uts créé par unshare »).
import { describe, expect, it } from 'vitest';
import type { Disposable, TerminalStream } from '../../sandbox-server/src/drivers/driver.ts';
import { ShellActivity } from '../../sandbox-server/src/manager/shell-activity.ts';
import { NamespaceWatch, type NamespacePanel } from '../../sandbox-server/src/namespaces/namespace-watch.ts';
import { diffProcesses } from '../../sandbox-server/src/namespaces/snapshot-diff.ts';
import { createLogger } from '../../sandbox-server/src/log.ts';
import { parseNamespaceMessage, type NamespaceServerMessage } from '../../contracts/protocol.ts';
import type { ProcessSnapshot, SnapshotProcess } from '../../contracts/process-snapshot.ts';
import { PictureOutOfStepError, applyNamespaceMessage, type MachinePicture } from '../../src/client/namespace-view/machine-picture.ts';
import { namespaceBands, namespaceChanges } from '../../src/client/namespace-view/namespace-groups.ts';

const ROOT = [10, 20, 30, 40, 50, 60, 70, 80];
/** A process in the machine's namespaces, but for `own` (kind index → inode). */
function proc(pid: number, ppid: number, command: string, extra: Partial<SnapshotProcess> = {}, own: Record<number, number> = {}): SnapshotProcess {
  return { pid, ppid, nspid: pid, user: 'root', command, ns: ROOT.map((inode, index) => own[index] ?? inode), ...extra };
}

const machine = [
  proc(1, 0, '/.sandbox/bin/sandbox-init'),
  proc(102, 1, 'sandbox-agent'),
  proc(110, 102, '/bin/bash --login', { user: 'student', terminal: '1', shell: true }),
  proc(120, 102, '/bin/bash --login', { user: 'student', terminal: '2', shell: true }),
];
const UTS = 3;
const PID = 0;
const afterUnshare = [
  ...machine,
  proc(130, 110, 'sudo unshare --uts /bin/bash', { terminal: '1' }),
  proc(131, 130, '/bin/bash', { terminal: '1' }, { [UTS]: 99 }),
];

function snapshot(processes: SnapshotProcess[], extra: Partial<ProcessSnapshot> = {}): ProcessSnapshot {
  return {
    processes,
    total: processes.length,
    omitted: { count: 0, commands: [] },
    terminals: [
      { name: '1', pid: 110 },
      { name: '2', pid: 120 },
    ],
    costMs: 1,
    ...extra,
  };
}

function picture(processes: SnapshotProcess[]): MachinePicture {
  return applyNamespaceMessage(undefined, {
    type: 'snapshot',
    machine: 'm',
    seq: 1,
    at: new Date().toISOString(),
    total: processes.length,
    omitted: { count: 0, commands: [] },
    terminals: [],
    processes,
  });
}

class FakeTerminal implements Pick<TerminalStream, 'onData' | 'onExit'> {
  data = new Set<(chunk: Buffer) => void>();
  onData(listener: (chunk: Buffer) => void): Disposable {
    this.data.add(listener);
    return { dispose: () => this.data.delete(listener) };
  }
  onExit(): Disposable {
    return { dispose() {} };
  }
  print(text: string): void {
    for (const listener of this.data) listener(Buffer.from(text));
  }
}

const fast = { minIntervalMs: 20, settleMs: 5, busyIntervalMs: 60_000, idleIntervalMs: 60_000 };
const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function panel(): NamespacePanel & { messages: NamespaceServerMessage[] } {
  const messages: NamespaceServerMessage[] = [];
  return {
    messages,
    send: (message) => {
      // What goes on the wire must parse as the panel parses it.
      const parsed = parseNamespaceMessage(JSON.stringify(message));
      if (!parsed.ok) throw new Error(parsed.error.message);
      messages.push(parsed.value);
    },
    congested: () => false,
  };
}

describe('NamespaceWatch', () => {
  it("sends a whole snapshot first, then after a command's end only what changed, and nothing when nothing did", async () => {
    const activity = new ShellActivity();
    const terminal = new FakeTerminal();
    activity.follow('1', terminal as unknown as TerminalStream);
    const answers = [snapshot(machine), snapshot(afterUnshare), snapshot(afterUnshare)];
    let asked = 0;
    const watch = new NamespaceWatch({
      machine: 'm',
      take: async () => answers[Math.min(asked++, answers.length - 1)]!,
      activity,
      log: createLogger('error'),
      timing: fast,
    });
    const one = panel();
    const subscription = watch.add(one);
    await tick(30);
    expect(one.messages).toMatchObject([{ type: 'snapshot', seq: 1, machine: 'm', processes: machine }]);

    terminal.print('\x1b]133;C\x07');
    expect(activity.busy).toBe(true);
    // The nested bash's first prompt (A) is reason enough: its own command (unshare) has no D yet.
    terminal.print('\x1b]133;A\x07root@tp-docker# ');
    expect(activity.busy).toBe(false);
    await tick(60);
    expect(one.messages[1]).toMatchObject({ type: 'diff', seq: 2, removed: [], upserted: afterUnshare.slice(4) });

    terminal.print('\x1b]133;D;0\x07');
    await tick(60);
    expect(asked).toBe(3);
    expect(one.messages).toHaveLength(2);

    subscription.dispose();
    terminal.print('\x1b]133;D;0\x07');
    await tick(60);
    expect(asked).toBe(3); // nobody looks: nobody asks
    watch.stop();
  });

  it('gives a backed-up panel a whole snapshot once it has caught up', async () => {
    const activity = new ShellActivity();
    const answers = [snapshot(machine), snapshot(afterUnshare)];
    let asked = 0;
    const watch = new NamespaceWatch({ machine: 'm', take: async () => answers[Math.min(asked++, 1)]!, activity, log: createLogger('error'), timing: fast });
    let congested = false;
    const slow = { ...panel(), congested: () => congested };
    watch.add(slow);
    await tick(30);
    congested = true;
    watch.add(panel()); // a second panel makes the watch look again
    await tick(30);
    congested = false;
    watch.add(panel());
    await tick(30);
    expect(slow.messages.map((message) => message.type)).toEqual(['snapshot', 'snapshot']);
    watch.stop();
  });
});

describe('diffProcesses and applyNamespaceMessage', () => {
  it('rebuild the same picture from a snapshot and a diff', () => {
    const before = machine;
    const after = afterUnshare
      .filter((process) => process.pid !== 120)
      .map((process) => (process.pid === 102 ? { ...process, command: 'sandbox-agent --renamed' } : process));
    const { upserted, removed } = diffProcesses(before, after);
    expect(removed).toEqual([120]);
    expect(upserted.map((process) => process.pid).sort()).toEqual([102, 130, 131]);
    const first = picture(before);
    const next = applyNamespaceMessage(first, {
      type: 'diff',
      machine: 'm',
      seq: 2,
      at: first.at,
      total: 5,
      omitted: first.omitted,
      terminals: [],
      upserted,
      removed,
    });
    expect([...next.processes.values()].sort((a, b) => a.pid - b.pid)).toEqual([...after].sort((a, b) => a.pid - b.pid));
  });

  it('refuses a diff that does not follow (a lost message)', () => {
    const first = picture(machine);
    expect(() =>
      applyNamespaceMessage(first, {
        type: 'diff',
        machine: 'm',
        seq: 3,
        at: first.at,
        total: 4,
        omitted: first.omitted,
        terminals: [],
        upserted: [],
        removed: [],
      }),
    ).toThrow(PictureOutOfStepError);
  });
});

describe('namespaceBands and namespaceChanges', () => {
  it("groups by namespace, the machine's first, with the terminals whose shell is in each", () => {
    const bands = namespaceBands(picture(afterUnshare));
    expect(bands.map((band) => band.type)).toEqual(['pid', 'net', 'mnt', 'uts', 'ipc', 'user', 'cgroup', 'time']);
    const uts = bands[UTS]!;
    expect(uts.groups.map((group) => group.label)).toEqual(['uts:[40]', 'uts:[99]']);
    expect(uts.groups[0]).toMatchObject({ machine: true, terminals: ['1', '2'] });
    expect(uts.groups[1]).toMatchObject({ machine: false, terminals: [], entry: { pid: 131 } });
    expect(bands[PID]!.groups).toHaveLength(1);
  });

  it('says which namespace appeared, who made it and where, and which one disappeared', () => {
    const before = namespaceBands(picture(afterUnshare));
    const withPid = [
      ...afterUnshare,
      proc(140, 131, 'unshare --pid --fork --mount-proc /bin/bash', { terminal: '1' }, { [UTS]: 99, 2: 77 }),
      proc(141, 140, '/bin/bash', { terminal: '1', nspid: 1 }, { [UTS]: 99, 2: 77, [PID]: 66 }),
    ];
    const next = picture(withPid);
    const changes = namespaceChanges(before, namespaceBands(next), next);
    expect(changes.map((change) => change.text)).toEqual([
      'nouveau namespace pid pid:[66] créé par unshare (terminal 1), dont le PID 1 est bash',
      'nouveau namespace mnt mnt:[77] créé par unshare (terminal 1)',
    ]);
    const back = namespaceChanges(namespaceBands(next), namespaceBands(picture(machine)), picture(machine));
    expect(back.map((change) => `${change.kind} ${change.label}`)).toEqual(['gone pid:[66]', 'gone mnt:[77]', 'gone uts:[99]']);
  });

  it("names Docker as the maker of a container's namespaces", () => {
    const before = namespaceBands(picture(machine));
    const after = picture([...machine, proc(200, 1, 'nginx: master process', { container: 'web' }, { 1: 55 })]);
    expect(namespaceChanges(before, namespaceBands(after), after)[0]!.text).toBe('nouveau namespace net net:[55] créé par Docker (conteneur web)');
  });
});
