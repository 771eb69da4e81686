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
// Works on cgroup v1 (the namespace driver on this host: the sandbox sees its
// own hierarchies thanks to the cgroup namespace and owns them) and v2 (a VM
// guest, where the agent runs in the root cgroup).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Log } from './log.ts';

const ROOT = '/sys/fs/cgroup';

interface Layout {
  version: 1 | 2;
  /** A group shared by all terminals in other hierarchies (v1: cpu), or undefined. */
  sharedDir?: string;
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
  sharedDir: `${ROOT}/cpu/terminals`,
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
   * the terminals' pids limit since the previous check.
   */
  watchLimit(onLimit: (name: string) => Promise<void>, intervalMs?: number): void;
  stop(): void;
}

const PARENT = 'terminals';

export function openTerminalGroups(pidsMax: number, log: Log): TerminalGroups {
  const layout = detectLayout();
  if (!layout) {
    log('warn', 'no writable pids cgroup: terminals will not be grouped, fork bombs not stopped');
    return noGroups;
  }
  const shared = layout.sharedDir && existsSync(dirname(layout.sharedDir)) ? layout.sharedDir : undefined;
  try {
    if (layout.version === 2) writeFileSync(`${ROOT}/cgroup.subtree_control`, '+pids');
    for (const dir of layout.dirs(PARENT)) mkdirSync(dir, { recursive: true });
    if (shared) mkdirSync(shared, { recursive: true });
    layout.enableChildren?.(PARENT);
    writeFileSync(`${layout.pidsDir(PARENT)}/pids.max`, String(pidsMax));
  } catch (error) {
    log('warn', 'cannot set up terminal cgroups: fork bombs will not be stopped', { error: String(error) });
    return noGroups;
  }
  return new CgroupTerminalGroups(layout, shared);
}

function detectLayout(): Layout | undefined {
  if (existsSync(`${ROOT}/pids/cgroup.procs`) && existsSync(`${ROOT}/freezer/cgroup.procs`)) return v1;
  if (existsSync(`${ROOT}/cgroup.controllers`) && readFileSync(`${ROOT}/cgroup.controllers`, 'utf8').includes('pids')) return v2;
  return undefined;
}

class CgroupTerminalGroups implements TerminalGroups {
  #layout: Layout;
  #shared: string | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(layout: Layout, shared: string | undefined) {
    this.#layout = layout;
    this.#shared = shared;
  }

  create(name: string): string[] {
    const group = `${PARENT}/${name}`;
    for (const dir of this.#layout.dirs(group)) mkdirSync(dir, { recursive: true });
    const dirs = [...this.#layout.dirs(group), ...(this.#shared ? [this.#shared] : [])];
    return dirs.map((dir) => `${dir}/cgroup.procs`);
  }

  async killAll(name: string, keepPid?: number): Promise<number> {
    const group = `${PARENT}/${name}`;
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
    this.#timer = setInterval(() => {
      if (handling) return;
      const now = this.#limitHits();
      // cgroup v1 counts a failed fork in the group of the task that forked
      // (the terminal's); v2 in the group whose limit was hit (the parent).
      const culprit =
        [...now.children].find(([name, hits]) => hits > (seen.children.get(name) ?? 0))?.[0] ??
        (now.parent > seen.parent ? this.#heaviestTerminal() : undefined);
      seen = now;
      if (!culprit) return;
      handling = true;
      void onLimit(culprit).finally(() => {
        // Forks keep failing until the very end of the clean-up: those are not a new bomb.
        seen = this.#limitHits();
        handling = false;
      });
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
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
      parent: read(PARENT),
      children: new Map(this.#terminalNames().map((name) => [name, read(`${PARENT}/${name}`)])),
    };
  }

  #heaviestTerminal(): string | undefined {
    let best: { name: string; tasks: number } | undefined;
    for (const name of this.#terminalNames()) {
      const tasks = Number(readFileSync(`${this.#layout.pidsDir(`${PARENT}/${name}`)}/pids.current`, 'utf8'));
      if (!best || tasks > best.tasks) best = { name, tasks };
    }
    return best?.name;
  }

  #terminalNames(): string[] {
    try {
      return readdirSync(this.#layout.pidsDir(PARENT), { withFileTypes: true })
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
