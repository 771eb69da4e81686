// What the machine's processes look like, namespace by namespace: made by the
// agent inside the machine (sandbox-server/agent/process-snapshot.ts, reading
// /proc as the machine's root), carried to the server in a SnapshotDone frame
// (agent-protocol.ts), and to the « Vue des namespaces » panel in the
// messages of protocol.ts. One shape for the three hops, checked by hand here
// because the agent cannot afford zod (see agent-protocol.ts).
//
// Bounded at every hop: at most MAX_SNAPSHOT_PROCESSES processes described,
// commands cut at MAX_COMMAND_CHARS, the rest only counted — a fork bomb
// shows up as « 412 autres processus (bash ×400, …) », not as 412 entries.

/** The kinds of namespace, in the order of every `ns` array (and of the panel's bands). */
export const NAMESPACE_TYPES = ['pid', 'net', 'mnt', 'uts', 'ipc', 'user', 'cgroup', 'time'] as const;
export type NamespaceType = (typeof NAMESPACE_TYPES)[number];

/** Most processes a snapshot describes one by one. */
export const MAX_SNAPSHOT_PROCESSES = 300;
/** Longest command line kept, in characters. */
export const MAX_COMMAND_CHARS = 120;
/** Most distinct commands listed among the omitted processes. */
export const MAX_OMITTED_COMMANDS = 5;
/** Most terminals a snapshot names (a machine has at most a handful). */
const MAX_TERMINALS = 64;
const MAX_NAME_CHARS = 64;
/** The kernel's pid_max ceiling. */
const MAX_PID = 2 ** 22;

export interface SnapshotProcess {
  /** In the machine's own PID namespace (what `ps` in a terminal shows). */
  pid: number;
  /** Parent, in the same numbering; 0 for the machine's PID 1. */
  ppid: number;
  /** Its number in its own PID namespace (1 for the bash of `unshare --pid --fork`). */
  nspid: number;
  /** User name, or the uid in digits when /etc/passwd does not know it. */
  user: string;
  /** Command line (arguments joined by spaces), or `[name]` when it has none. */
  command: string;
  /** Namespace inode per NAMESPACE_TYPES entry (`uts:[4026531838]` → 4026531838); null when unreadable. */
  ns: (number | null)[];
  /** Name of the terminal whose shell this is, or from which it descends. */
  terminal?: string;
  /** It is the login shell of `terminal`. */
  shell?: boolean;
  /** Name of the Docker container it runs in. */
  container?: string;
}

export interface OmittedProcesses {
  count: number;
  /** The most frequent commands among them, most frequent first. */
  commands: { command: string; count: number }[];
}

export interface ProcessSnapshot {
  processes: SnapshotProcess[];
  /** Processes in the machine, described or not. */
  total: number;
  omitted: OmittedProcesses;
  /** The terminals' login shells. */
  terminals: { name: string; pid: number }[];
  /** Time the agent spent making it, in milliseconds. */
  costMs: number;
}

/** `uts:[4026531838]`, as `ls -l /proc/<pid>/ns` prints it. */
export function namespaceLabel(type: NamespaceType, inode: number): string {
  return `${type}:[${inode}]`;
}

/** Why `value` is not a SnapshotProcess, or undefined when it is. */
export function checkSnapshotProcess(value: unknown): string | undefined {
  if (!isObject(value)) return 'a process must be a JSON object';
  const o = value;
  return !isIntegerIn(o.pid, 1, MAX_PID)
    ? 'pid must be a positive integer'
    : !isIntegerIn(o.ppid, 0, MAX_PID)
      ? 'ppid must be a non-negative integer'
      : !isIntegerIn(o.nspid, 1, MAX_PID)
        ? 'nspid must be a positive integer'
        : !isShortString(o.user, MAX_NAME_CHARS)
          ? `user must be a string of at most ${MAX_NAME_CHARS} characters`
          : !isShortString(o.command, MAX_COMMAND_CHARS)
            ? `command must be a string of at most ${MAX_COMMAND_CHARS} characters`
            : !Array.isArray(o.ns) ||
                o.ns.length !== NAMESPACE_TYPES.length ||
                !o.ns.every((inode) => inode === null || isIntegerIn(inode, 1, Number.MAX_SAFE_INTEGER))
              ? `ns must be ${NAMESPACE_TYPES.length} inode numbers or nulls (${NAMESPACE_TYPES.join(', ')})`
              : o.terminal !== undefined && !isShortString(o.terminal, MAX_NAME_CHARS)
                ? 'terminal must be a short string'
                : o.shell !== undefined && typeof o.shell !== 'boolean'
                  ? 'shell must be a boolean'
                  : o.container !== undefined && !isShortString(o.container, MAX_NAME_CHARS)
                    ? 'container must be a short string'
                    : undefined;
}

/** Why `value` is not a ProcessSnapshot within the limits, or undefined when it is. */
export function checkProcessSnapshot(value: unknown): string | undefined {
  if (!isObject(value)) return 'expected a JSON object';
  const o = value;
  if (!Array.isArray(o.processes) || o.processes.length > MAX_SNAPSHOT_PROCESSES) {
    return `processes must be an array of at most ${MAX_SNAPSHOT_PROCESSES} entries`;
  }
  for (const [index, process] of o.processes.entries()) {
    const problem = checkSnapshotProcess(process);
    if (problem) return `processes[${index}]: ${problem}`;
  }
  return !isIntegerIn(o.total, 0, MAX_PID)
    ? 'total must be a non-negative integer'
    : (checkOmitted(o.omitted) ??
        (!Array.isArray(o.terminals) ||
        o.terminals.length > MAX_TERMINALS ||
        !o.terminals.every((t) => isObject(t) && isShortString(t.name, MAX_NAME_CHARS) && isIntegerIn(t.pid, 1, MAX_PID))
          ? 'terminals must be a short array of {name, pid}'
          : typeof o.costMs !== 'number' || !Number.isFinite(o.costMs) || o.costMs < 0
            ? 'costMs must be a non-negative number'
            : undefined));
}

/** Why `value` is not an OmittedProcesses, or undefined when it is. */
export function checkOmitted(value: unknown): string | undefined {
  if (!isObject(value) || !isIntegerIn(value.count, 0, MAX_PID)) return 'omitted.count must be a non-negative integer';
  const { commands } = value;
  if (
    !Array.isArray(commands) ||
    commands.length > MAX_OMITTED_COMMANDS ||
    !commands.every((c) => isObject(c) && isShortString(c.command, MAX_COMMAND_CHARS) && isIntegerIn(c.count, 1, MAX_PID))
  ) {
    return `omitted.commands must be at most ${MAX_OMITTED_COMMANDS} {command, count}`;
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIntegerIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function isShortString(value: unknown, max: number): boolean {
  return typeof value === 'string' && value.length <= max;
}
