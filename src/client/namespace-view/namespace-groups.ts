// From a machine's processes to what the panel draws: for each kind of
// namespace (one band each), the namespaces that exist, labelled as
// `ls -l /proc/<pid>/ns` prints them, with their processes, the terminals
// whose shell is in them and the containers running there; and, between two
// pictures, the namespaces that appeared or disappeared, in words. Pure.
import { NAMESPACE_TYPES, namespaceLabel, type NamespaceType, type SnapshotProcess } from '../../../contracts/process-snapshot.ts';
import type { MachinePicture } from './machine-picture.ts';

export interface NamespaceGroup {
  type: NamespaceType;
  inode: number;
  /** `uts:[4026531838]` */
  label: string;
  /** The machine's own namespace of this kind (the one its PID 1 is in). */
  machine: boolean;
  /** Sorted by pid. */
  processes: SnapshotProcess[];
  /** Terminals whose login shell is in it (« terminal 1 »), in order. */
  terminals: string[];
  containers: string[];
  /** PID namespaces: the process that is PID 1 inside it. */
  init?: SnapshotProcess;
  /** The first process that entered it (its parent is elsewhere): who made it. */
  entry: SnapshotProcess;
}

export interface NamespaceBand {
  type: NamespaceType;
  /** The machine's namespace first, then by the pid of their first process. */
  groups: NamespaceGroup[];
  /** Processes whose link of this kind could not be read. */
  unknown: SnapshotProcess[];
}

export function namespaceBands(picture: MachinePicture): NamespaceBand[] {
  const processes = [...picture.processes.values()].sort((a, b) => a.pid - b.pid);
  const byPid = new Map(processes.map((process) => [process.pid, process]));
  const machineInit = processes.find((process) => process.ppid === 0) ?? processes[0];
  return NAMESPACE_TYPES.map((type, index) => {
    const members = new Map<number, SnapshotProcess[]>();
    const unknown: SnapshotProcess[] = [];
    for (const process of processes) {
      const inode = process.ns[index];
      if (inode === null || inode === undefined) unknown.push(process);
      else members.set(inode, [...(members.get(inode) ?? []), process]);
    }
    const machineInode = machineInit?.ns[index] ?? null;
    const groups = [...members].map(([inode, inside]): NamespaceGroup => {
      const inodes = new Set([inode]);
      const entry = inside.find((process) => !inodes.has(byPid.get(process.ppid)?.ns[index] ?? -1)) ?? inside[0]!;
      const init = type === 'pid' ? inside.find((process) => process.nspid === 1) : undefined;
      return {
        type,
        inode,
        label: namespaceLabel(type, inode),
        machine: inode === machineInode,
        processes: inside,
        terminals: inside
          .filter((process) => process.shell && process.terminal !== undefined)
          .map((process) => process.terminal!)
          .sort(compareNames),
        containers: [...new Set(inside.flatMap((process) => (process.container === undefined ? [] : [process.container])))].sort(),
        ...(init ? { init } : {}),
        entry,
      };
    });
    groups.sort((a, b) => Number(b.machine) - Number(a.machine) || a.entry.pid - b.entry.pid);
    return { type, groups, unknown };
  });
}

export interface NamespaceChange {
  kind: 'created' | 'gone';
  type: NamespaceType;
  label: string;
  /** In French, for the panel and its live region. */
  text: string;
}

/** What appeared and disappeared from `before` to `after`, namespace by namespace. */
export function namespaceChanges(before: NamespaceBand[], after: NamespaceBand[], picture: MachinePicture): NamespaceChange[] {
  const changes: NamespaceChange[] = [];
  after.forEach((band, index) => {
    const old = new Set(before[index]?.groups.map((group) => group.inode));
    for (const group of band.groups) {
      if (old.has(group.inode)) continue;
      changes.push({ kind: 'created', type: band.type, label: group.label, text: createdText(group, picture) });
    }
    const now = new Set(band.groups.map((group) => group.inode));
    for (const group of before[index]?.groups ?? []) {
      if (now.has(group.inode)) continue;
      changes.push({
        kind: 'gone',
        type: band.type,
        label: group.label,
        text: `namespace ${group.type} ${group.label} disparu : plus aucun processus ne s'y trouve`,
      });
    }
  });
  return changes;
}

function createdText(group: NamespaceGroup, picture: MachinePicture): string {
  const parent = picture.processes.get(group.entry.ppid);
  const where = group.entry.terminal !== undefined ? ` (terminal ${group.entry.terminal})` : '';
  const extra = group.init ? `, dont le PID 1 est ${commandName(group.init.command)}` : '';
  return `nouveau namespace ${group.type} ${group.label} créé par ${creator(group, parent)}${where}${extra}`;
}

/** Who made a namespace, as the reader would say it: unshare, Docker (container), or the parent's command. */
function creator(group: NamespaceGroup, parent: SnapshotProcess | undefined): string {
  const mentions = (process: SnapshotProcess | undefined) => process !== undefined && /(^|[\s/])unshare(\s|$)/.test(process.command);
  if (mentions(group.entry) || mentions(parent)) return 'unshare';
  if (group.entry.container !== undefined) return `Docker (conteneur ${group.entry.container})`;
  return parent !== undefined ? commandName(parent.command) : commandName(group.entry.command);
}

/** `/bin/bash --login` → `bash`; `[kthreadd]` stays. */
export function commandName(command: string): string {
  const first = command.split(' ')[0] ?? command;
  return first.startsWith('[') ? first : (first.split('/').pop() ?? first);
}

export function compareNames(a: string, b: string): number {
  return Number(a) - Number(b) || a.localeCompare(b);
}
