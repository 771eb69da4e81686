// The machine's processes and their namespaces, read from /proc by the agent
// (root of the machine, in the machine's own PID namespace: what it sees is
// what `sudo ps` and `sudo ls -l /proc/*/ns` in a terminal would show, never
// the host's view). For the « Vue des namespaces » panel; the shape is in
// contracts/process-snapshot.ts.
//
// Two passes, so that a fork bomb costs little: first /proc/<pid>/stat of
// every process (one small read each: parent, name, kernel-thread flag),
// then the expensive part — eight namespace links, status, command line,
// cgroup — only for the processes kept (at most `maxProcesses`); the others
// are counted by name.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { MAX_COMMAND_CHARS, MAX_OMITTED_COMMANDS, NAMESPACE_TYPES, type ProcessSnapshot, type SnapshotProcess } from '../../contracts/process-snapshot.ts';

export interface SnapshotOptions {
  maxProcesses: number;
  /** The terminals' login shells (their pids in the machine). */
  terminals: readonly { name: string; pid: number }[];
  /** Where /proc is (tests may point elsewhere; the agent uses the machine's own). */
  proc?: string;
  /** Where Docker keeps its containers' configuration (their names). */
  dockerContainers?: string;
}

interface Brief {
  pid: number;
  ppid: number;
  name: string;
}

/** PF_KTHREAD in /proc/<pid>/stat's flags: a kernel thread (a VM guest has them; they are not the reader's). */
const PF_KTHREAD = 0x00200000;
/**
 * A container's cgroup ends with its 64-hex-digit id: `pids:/docker/<id>`
 * (cgroupfs), `…/docker-<id>.scope` (systemd), `/containers/<id>` (the
 * course's dockerd runs with --cgroup-parent /containers).
 */
const DOCKER_CGROUP = /[/-]([0-9a-f]{64})(?:\.scope)?$/m;
/** The terminals' cgroups (agent/terminal-groups.ts): a process that left its shell's tree (nohup, setsid) is still theirs. */
const TERMINAL_CGROUP = /(?:^|:)\/terminals\/([A-Za-z0-9_-]{1,32})(?:\/|$)/m;

export function takeProcessSnapshot(options: SnapshotOptions): ProcessSnapshot {
  const started = performance.now();
  const proc = options.proc ?? '/proc';
  const briefs = new Map<number, Brief>();
  for (const entry of listPids(proc)) {
    const brief = readBrief(proc, entry);
    if (brief) briefs.set(brief.pid, brief);
  }

  const shells = new Map(options.terminals.map((terminal) => [terminal.pid, terminal.name]));
  const terminalOf = new Map<number, string>();
  const findTerminal = (pid: number): string | undefined => {
    const path: number[] = [];
    let current: number | undefined = pid;
    let found: string | undefined;
    // Bounded walk: a parent loop cannot happen in /proc, but a snapshot is not the place to find out.
    for (let steps = 0; current !== undefined && current > 0 && steps < 4096; steps++) {
      if (terminalOf.has(current)) {
        found = terminalOf.get(current);
        break;
      }
      const shell = shells.get(current);
      if (shell !== undefined) {
        found = shell;
        break;
      }
      path.push(current);
      current = briefs.get(current)?.ppid;
    }
    for (const step of path) terminalOf.set(step, found as string);
    return found;
  };

  const kept = chooseKept([...briefs.values()], options.maxProcesses, shells, (pid) => findTerminal(pid) !== undefined);
  const names = userNames();
  const containerNames = new Map<string, string | undefined>();
  const processes: SnapshotProcess[] = [];
  for (const brief of kept) {
    const described = describe(proc, brief, names);
    if (!described) continue; // it ended between the two passes
    const { process, cgroups } = described;
    const terminal = findTerminal(brief.pid) ?? TERMINAL_CGROUP.exec(cgroups)?.[1];
    if (terminal !== undefined) process.terminal = terminal;
    if (shells.has(brief.pid)) process.shell = true;
    const containerId = DOCKER_CGROUP.exec(cgroups)?.[1];
    if (containerId !== undefined) {
      if (!containerNames.has(containerId)) containerNames.set(containerId, containerName(containerId, options.dockerContainers));
      process.container = containerNames.get(containerId);
    }
    processes.push(process);
  }
  const keptPids = new Set(processes.map((process) => process.pid));
  const omittedCounts = new Map<string, number>();
  let omitted = 0;
  for (const brief of briefs.values()) {
    if (keptPids.has(brief.pid)) continue;
    omitted++;
    omittedCounts.set(brief.name, (omittedCounts.get(brief.name) ?? 0) + 1);
  }
  return {
    processes,
    total: processes.length + omitted,
    omitted: {
      count: omitted,
      commands: [...omittedCounts]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .slice(0, MAX_OMITTED_COMMANDS)
        .map(([command, count]) => ({ command: clip(command), count })),
    },
    terminals: options.terminals.filter((terminal) => briefs.has(terminal.pid)).map(({ name, pid }) => ({ name, pid })),
    costMs: Math.round((performance.now() - started) * 100) / 100,
  };
}

/**
 * Which processes to describe when there are too many, each with its
 * ancestors so that the tree never has holes: the terminals' shells first
 * (the picture is about them); then what the terminals started, up to half
 * the room (the lowest pids: the first `sudo unshare` rather than the
 * thousandth copy of a fork bomb); then the machine's own, lowest pids
 * first (init, the agent, dockerd); then more of the terminals'.
 */
function chooseKept(all: Brief[], max: number, shells: Map<number, string>, inTerminal: (pid: number) => boolean): Brief[] {
  const sorted = all.sort((a, b) => a.pid - b.pid);
  if (sorted.length <= max) return sorted;
  const byPid = new Map(sorted.map((brief) => [brief.pid, brief]));
  const kept = new Set<number>();
  const keepWithAncestors = (pid: number, limit: number): void => {
    const chain: number[] = [];
    for (let current: number | undefined = pid; current !== undefined && byPid.has(current) && !kept.has(current); current = byPid.get(current)?.ppid) {
      chain.push(current);
    }
    if (kept.size + chain.length <= limit) for (const step of chain) kept.add(step);
  };
  const terminals = sorted.filter((brief) => inTerminal(brief.pid));
  const machine = sorted.filter((brief) => !inTerminal(brief.pid));
  for (const pid of shells.keys()) keepWithAncestors(pid, max);
  for (const brief of terminals) {
    if (kept.size >= max / 2) break;
    keepWithAncestors(brief.pid, Math.floor(max / 2));
  }
  for (const brief of [...machine, ...terminals]) {
    if (kept.size >= max) break;
    keepWithAncestors(brief.pid, max);
  }
  return [...kept].sort((a, b) => a - b).map((pid) => byPid.get(pid)!);
}

function listPids(proc: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync(proc)) {
    if (name.charCodeAt(0) >= 48 && name.charCodeAt(0) <= 57) pids.push(Number(name));
  }
  return pids;
}

/** Parent, name and kind from /proc/<pid>/stat; undefined for a kernel thread or a process already gone. */
function readBrief(proc: string, pid: number): Brief | undefined {
  const stat = readOrUndefined(`${proc}/${pid}/stat`);
  if (stat === undefined) return undefined;
  // "pid (name) state ppid …": the name may hold spaces and parentheses, so cut at the last ")".
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const fields = stat.slice(close + 2).split(' ');
  const ppid = Number(fields[1]);
  const flags = Number(fields[6]);
  if (!Number.isInteger(ppid) || (flags & PF_KTHREAD) !== 0) return undefined;
  return { pid, ppid, name: stat.slice(open + 1, close) };
}

function describe(proc: string, brief: Brief, names: Map<number, string>): { process: SnapshotProcess; cgroups: string } | undefined {
  const dir = `${proc}/${brief.pid}`;
  const status = readOrUndefined(`${dir}/status`);
  if (status === undefined) return undefined;
  // The effective uid, as `ps aux` shows it (sudo is root there, though student started it).
  const uid = Number(/^Uid:\s+\d+\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN);
  // NSpid lists its number in each PID namespace from the machine's down to its own: the last is its own.
  const nspids = /^NSpid:\s+([\d\s]+)$/m.exec(status)?.[1]?.trim().split(/\s+/).map(Number) ?? [brief.pid];
  const cmdline = readOrUndefined(`${dir}/cmdline`) ?? '';
  const args = cmdline
    .split('\0')
    .filter((arg) => arg.length > 0)
    .join(' ');
  const ns = NAMESPACE_TYPES.map((type) => namespaceInode(`${dir}/ns/${type}`));
  return {
    process: {
      pid: brief.pid,
      ppid: brief.ppid,
      nspid: nspids[nspids.length - 1] ?? brief.pid,
      user: Number.isInteger(uid) ? (names.get(uid) ?? String(uid)) : '?',
      command: clip(args.length > 0 ? args : `[${brief.name}]`),
      ns,
    },
    cgroups: readOrUndefined(`${dir}/cgroup`) ?? '',
  };
}

/** 4026531838 from the link `uts:[4026531838]`; null when it cannot be read (gone, or a kernel without that kind). */
function namespaceInode(link: string): number | null {
  try {
    const target = readlinkSync(link);
    const inode = Number(target.slice(target.indexOf('[') + 1, -1));
    return Number.isSafeInteger(inode) && inode > 0 ? inode : null;
  } catch {
    return null;
  }
}

/** uid → name, from the machine's /etc/passwd (read each time: it is small, and useradd may change it). */
function userNames(): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of (readOrUndefined('/etc/passwd') ?? '').split('\n')) {
    const [name, , uid] = line.split(':');
    if (name && uid && /^\d+$/.test(uid) && !names.has(Number(uid))) names.set(Number(uid), name.slice(0, 32));
  }
  return names;
}

/** The container's name as `docker ps` shows it, from its config.v2.json ("Name":"/web"). */
function containerName(id: string, dir = '/var/lib/docker/containers'): string {
  let name: unknown;
  try {
    name = (JSON.parse(readFileSync(`${dir}/${id}/config.v2.json`, 'utf8')) as { Name?: unknown }).Name;
  } catch {
    // Not there yet (the container is being created), or not Docker's.
  }
  return typeof name === 'string' && name.length > 1 ? name.replace(/^\//, '').slice(0, 64) : id.slice(0, 12);
}

function clip(text: string): string {
  return text.length > MAX_COMMAND_CHARS ? `${text.slice(0, MAX_COMMAND_CHARS - 1)}…` : text;
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Snapshots no more often than every `minIntervalMs`: a request that comes
 * sooner gets the previous one. The host rate-limits too; this keeps a
 * misbehaving host from making the agent spend its CPU share on /proc.
 */
export function throttledSnapshots(minIntervalMs: number, take = takeProcessSnapshot): (options: SnapshotOptions) => ProcessSnapshot {
  let last: { at: number; snapshot: ProcessSnapshot } | undefined;
  return (options) => {
    const now = performance.now();
    if (last && now - last.at < minIntervalMs) return last.snapshot;
    const snapshot = take(options);
    last = { at: performance.now(), snapshot };
    return snapshot;
  };
}
