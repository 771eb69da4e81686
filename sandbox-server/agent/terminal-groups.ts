// One cgroup per terminal, so that everything a terminal started — through
// sudo, unshare, nohup, background jobs — can be found and stopped together.
//
//   terminals/           pids.max = what all terminals may hold together,
//   terminals/<name>/    kept below the sandbox's own limit, so a fork bomb
//                        leaves room for the agent and dockerd to work.
//
// CPU (cgroup v1): all terminals share one cpu group, which weighs as much
// as one task of the sandbox's root group. However many busy loops the reader
// starts, the agent (a task of the root group) keeps its share: a fork bomb
// cannot starve the one process that is to stop it.
//
// Fork bombs: orphaned copies survive Ctrl-C, and the shell cannot even fork
// `kill`. So the agent watches the terminals' pids limit; when forks fail on
// it, the culprit terminal (where they failed, or the one holding the most
// tasks) is frozen, every task in it but its login shell is killed, and it is
// thawed. The shell survives and the reader
// gets a prompt back (plus a notice saying what happened).
//
// Watching costs nothing while the machine is idle (a host holds up to ≈ 200
// machines; a timer every 500 ms in each was 400 wake-ups a second):
// - pids.events files are watched with inotify (the parent's and each
//   terminal's). Where the kernel notifies them, that says at once that a
//   fork failed: seen in the VM guests (6.1, v2: the forking task's group);
//   by the kernel's source, later v2 kernels notify the group whose limit
//   was hit and its parents. The host's kernel here (6.18) notifies nothing
//   on v1, the namespace machines' case — hence the rest.
// - The counters are read every 500 ms only while a terminal is in use (for
//   ACTIVE_WINDOW_MS after its last read or write, terminal-activity.ts): a
//   bomb starts from a command its shell read, and the shell echoed it.
// - Otherwise once every SAFETY_CHECK_MS, for what neither sees: a bomb
//   started in the background that writes nothing to its terminal, after
//   ACTIVE_WINDOW_MS of silence, on a kernel that does not notify (it stays
//   held at the limit meanwhile; typing in its terminal brings the check
//   back to 500 ms at once).
//
// Works on cgroup v1 (the namespace driver on this host: the sandbox sees its
// own hierarchies thanks to the cgroup namespace and owns them) and v2 (a VM
// guest, where the agent runs in the root cgroup).
import { existsSync, type FSWatcher, mkdirSync, readdirSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Log } from './log.ts';
import { type TerminalActivity, watchTerminalActivity } from './terminal-activity.ts';

const ROOT = '/sys/fs/cgroup';

interface Layout {
  version: 1 | 2;
  /** A group shared by all terminals in other hierarchies (v1: cpu), or undefined. */
  sharedDir?(parent: string): string;
  /** Directories of a group, one per hierarchy involved (v1: pids and freezer). */
  dirs(group: string): string[];
  pidsDir(group: string): string;
  freeze(group: string, frozen: boolean): void;
  isFrozen(group: string): boolean;
  /** Extra set-up of a new directory (v2: let its children use the pids controller). */
  enableChildren?(group: string): void;
}

const v1: Layout = {
  version: 1,
  sharedDir: (parent) => `${ROOT}/cpu/${parent}`,
  dirs: (group) => [`${ROOT}/pids/${group}`, `${ROOT}/freezer/${group}`],
  pidsDir: (group) => `${ROOT}/pids/${group}`,
  freeze: (group, frozen) => writeFileSync(`${ROOT}/freezer/${group}/freezer.state`, frozen ? 'FROZEN' : 'THAWED'),
  isFrozen: (group) => readFileSync(`${ROOT}/freezer/${group}/freezer.state`, 'utf8').trim() === 'FROZEN',
};

const v2: Layout = {
  version: 2,
  dirs: (group) => [`${ROOT}/${group}`],
  pidsDir: (group) => `${ROOT}/${group}`,
  freeze: (group, frozen) => writeFileSync(`${ROOT}/${group}/cgroup.freeze`, frozen ? '1' : '0'),
  isFrozen: (group) => /^frozen 1$/m.test(readFileSync(`${ROOT}/${group}/cgroup.events`, 'utf8')),
  enableChildren: (group) => writeFileSync(`${ROOT}/${group}/cgroup.subtree_control`, '+pids'),
};

export interface TerminalGroups {
  /** Creates terminal `name`'s group; returns the files its shell must write its pid into. */
  create(name: string): string[];
  /** Kills every task of the group except `keepPid`; returns how many it killed. */
  killAll(name: string, keepPid?: number): Promise<number>;
  /**
   * Calls `onLimit(name)` with the culprit terminal each time forks failed on
   * the terminals' pids limit since the previous check. `intervalMs`: how
   * often the counters are read while a terminal is in use.
   */
  watchLimit(onLimit: (name: string) => Promise<void>, intervalMs?: number): void;
  stop(): void;
}

/** The terminals' parent group, in each hierarchy (below the machine's own root, thanks to the cgroup namespace). */
const PARENT = 'terminals';
/** How long after a terminal's last read or write its counters are still read every `intervalMs`. */
export const ACTIVE_WINDOW_MS = 10_000;
/** How often they are read otherwise (see the top of this file for what only this catches). */
export const SAFETY_CHECK_MS = 15_000;

/** What made a check find the limit hit (logged; the tests see which path worked). */
export type Detection = 'pids.events' | 'terminal in use' | 'safety check';

/** `parent`: where the groups go in each hierarchy (tests on the host use a group of their own). */
export function openTerminalGroups(pidsMax: number, log: Log, parent = PARENT): TerminalGroups {
  const layout = detectLayout();
  if (!layout) {
    log('warn', 'no writable pids cgroup: terminals will not be grouped, fork bombs not stopped');
    return noGroups;
  }
  const sharedDir = layout.sharedDir?.(parent);
  const shared = sharedDir && existsSync(dirname(sharedDir)) ? sharedDir : undefined;
  try {
    if (layout.version === 2) writeFileSync(`${ROOT}/cgroup.subtree_control`, '+pids');
    for (const dir of layout.dirs(parent)) mkdirSync(dir, { recursive: true });
    if (shared) mkdirSync(shared, { recursive: true });
    layout.enableChildren?.(parent);
    writeFileSync(`${layout.pidsDir(parent)}/pids.max`, String(pidsMax));
  } catch (error) {
    log('warn', 'cannot set up terminal cgroups: fork bombs will not be stopped', { error: String(error) });
    return noGroups;
  }
  return new CgroupTerminalGroups(layout, parent, shared, log, activityWatch(log));
}

function activityWatch(log: Log): TerminalActivity | undefined {
  try {
    const activity = watchTerminalActivity();
    activity.arm(() => {}); // Tried once here, so that a machine where it cannot work says so at start.
    activity.disarm();
    return activity;
  } catch (error) {
    log('warn', 'cannot watch the terminals for activity: the fork-bomb check runs every 500 ms', { error: String(error) });
    return undefined;
  }
}

function detectLayout(): Layout | undefined {
  if (existsSync(`${ROOT}/pids/cgroup.procs`) && existsSync(`${ROOT}/freezer/cgroup.procs`)) return v1;
  if (existsSync(`${ROOT}/cgroup.controllers`) && readFileSync(`${ROOT}/cgroup.controllers`, 'utf8').includes('pids')) return v2;
  return undefined;
}

class CgroupTerminalGroups implements TerminalGroups {
  #layout: Layout;
  #parent: string;
  #shared: string | undefined;
  #log: Log;
  #activity: TerminalActivity | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pidsWatchers = new Map<string, FSWatcher>();
  /** Set by watchLimit: reads the counters now (`via` says why) unless a stop is under way. */
  #check: ((via: Detection) => void) | undefined;
  #stopped = false;

  constructor(layout: Layout, parent: string, shared: string | undefined, log: Log, activity: TerminalActivity | undefined) {
    this.#layout = layout;
    this.#parent = parent;
    this.#shared = shared;
    this.#log = log;
    this.#activity = activity;
  }

  create(name: string): string[] {
    const group = `${this.#parent}/${name}`;
    for (const dir of this.#layout.dirs(group)) mkdirSync(dir, { recursive: true });
    if (this.#check) this.#watchEvents(group);
    const dirs = [...this.#layout.dirs(group), ...(this.#shared ? [this.#shared] : [])];
    return dirs.map((dir) => `${dir}/cgroup.procs`);
  }

  async killAll(name: string, keepPid?: number): Promise<number> {
    const group = `${this.#parent}/${name}`;
    if (!existsSync(this.#layout.pidsDir(group))) return 0;
    // Frozen tasks cannot fork, so one pass of kill() gets them all; they
    // die as soon as they are thawed.
    this.#layout.freeze(group, true);
    for (let i = 0; i < 500 && !this.#layout.isFrozen(group); i++) await sleep(2);
    let killed = 0;
    for (const pid of this.#pids(group)) {
      if (pid === keepPid) continue;
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        // Already gone.
      }
    }
    this.#layout.freeze(group, false);
    for (let i = 0; i < 500 && this.#pids(group).some((pid) => pid !== keepPid); i++) await sleep(10);
    return killed;
  }

  watchLimit(onLimit: (name: string) => Promise<void>, intervalMs = 500): void {
    let seen = this.#limitHits();
    let handling = false;
    let lastActivity = Number.NEGATIVE_INFINITY;
    const check = (via: Detection) => {
      if (handling || this.#stopped) return;
      const now = this.#limitHits();
      // cgroup v1 counts a failed fork in the group of the task that forked
      // (the terminal's); v2 on newer kernels in the group whose limit was hit
      // (the parent), 6.1 in the forking task's as v1 does.
      const culprit =
        [...now.children].find(([name, hits]) => hits > (seen.children.get(name) ?? 0))?.[0] ??
        (now.parent > seen.parent ? this.#heaviestTerminal() : undefined);
      seen = now;
      if (!culprit) return;
      handling = true;
      this.#log('info', 'pids limit hit in a terminal', { terminal: culprit, via });
      void onLimit(culprit).finally(() => {
        // Forks keep failing until the very end of the clean-up: those are not a new bomb.
        seen = this.#limitHits();
        handling = false;
      });
    };
    this.#check = check;
    for (const group of [this.#parent, ...this.#terminalNames().map((name) => `${this.#parent}/${name}`)]) this.#watchEvents(group);
    if (!this.#activity) {
      // No way to hear of terminal activity: read the counters all the time, as a terminal in use.
      this.#timer = setInterval(() => check('terminal in use'), intervalMs);
      this.#timer.unref();
      return;
    }
    const activity = this.#activity;
    const schedule = (ms: number, via: Detection) => {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        check(via);
        tick();
      }, ms);
      this.#timer.unref();
    };
    // After each check: listen for the next use of a terminal, and check again soon while one was used lately.
    const tick = () => {
      if (this.#stopped) return;
      activity.arm(onActivity);
      const inUse = performance.now() - lastActivity < ACTIVE_WINDOW_MS;
      schedule(inUse ? intervalMs : SAFETY_CHECK_MS, inUse ? 'terminal in use' : 'safety check');
    };
    const onActivity = () => {
      const wasIdle = performance.now() - lastActivity >= ACTIVE_WINDOW_MS;
      lastActivity = performance.now();
      // Idle until now: the next check was the safety one; bring it forward. In use: a check is due within intervalMs.
      if (wasIdle) schedule(intervalMs, 'terminal in use');
    };
    tick();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#timer);
    this.#activity?.disarm();
    for (const watcher of this.#pidsWatchers.values()) watcher.close();
    this.#pidsWatchers.clear();
  }

  /** Watches a group's pids.events, on kernels that notify it (see the top of this file). */
  #watchEvents(group: string): void {
    const file = `${this.#layout.pidsDir(group)}/pids.events`;
    if (this.#pidsWatchers.has(file)) return;
    try {
      const watcher = watch(file, { persistent: false }, () => this.#check?.('pids.events'));
      watcher.on('error', () => {
        watcher.close();
        this.#pidsWatchers.delete(file);
      });
      this.#pidsWatchers.set(file, watcher);
    } catch {
      // Gone already, or no inotify watches left: the timed checks still read it.
    }
  }

  #limitHits(): { parent: number; children: Map<string, number> } {
    const read = (group: string) => {
      try {
        return Number(/^max (\d+)$/m.exec(readFileSync(`${this.#layout.pidsDir(group)}/pids.events`, 'utf8'))?.[1] ?? 0);
      } catch {
        return 0;
      }
    };
    return {
      parent: read(this.#parent),
      children: new Map(this.#terminalNames().map((name) => [name, read(`${this.#parent}/${name}`)])),
    };
  }

  #heaviestTerminal(): string | undefined {
    let best: { name: string; tasks: number } | undefined;
    for (const name of this.#terminalNames()) {
      const tasks = Number(readFileSync(`${this.#layout.pidsDir(`${this.#parent}/${name}`)}/pids.current`, 'utf8'));
      if (!best || tasks > best.tasks) best = { name, tasks };
    }
    return best?.name;
  }

  #terminalNames(): string[] {
    try {
      return readdirSync(this.#layout.pidsDir(this.#parent), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name);
    } catch {
      return []; // The parent vanished: nothing to watch.
    }
  }

  #pids(group: string): number[] {
    try {
      return readFileSync(`${this.#layout.pidsDir(group)}/cgroup.procs`, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map(Number);
    } catch {
      return [];
    }
  }
}

const noGroups: TerminalGroups = {
  create: () => [],
  killAll: async () => 0,
  watchLimit: () => {},
  stop: () => {},
};
