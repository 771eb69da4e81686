// What changed between two snapshots of a machine's processes, by pid: the
// namespace view sends only that once a panel has a whole snapshot. A pid
// reused by a new process is simply a changed entry.
import type { SnapshotProcess } from '../../../contracts/process-snapshot.ts';

export interface ProcessDiff {
  upserted: SnapshotProcess[];
  removed: number[];
}

export function diffProcesses(previous: readonly SnapshotProcess[], next: readonly SnapshotProcess[]): ProcessDiff {
  const before = new Map(previous.map((process) => [process.pid, process]));
  const upserted: SnapshotProcess[] = [];
  for (const process of next) {
    const old = before.get(process.pid);
    before.delete(process.pid);
    if (old === undefined || !sameProcess(old, process)) upserted.push(process);
  }
  return { upserted, removed: [...before.keys()] };
}

function sameProcess(a: SnapshotProcess, b: SnapshotProcess): boolean {
  return (
    a.ppid === b.ppid &&
    a.nspid === b.nspid &&
    a.user === b.user &&
    a.command === b.command &&
    a.terminal === b.terminal &&
    a.shell === b.shell &&
    a.container === b.container &&
    a.ns.every((inode, index) => inode === b.ns[index])
  );
}
