// The host side of a sandbox's cgroups (cgroup v1, as on this host).
//
// crun applies the limits; we create the directories first so that they can
// be delegated — owned by the sandbox's root — before anything inside starts:
// dockerd and the agent make child groups of their own from the first second.
import { chown, mkdir, readdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeCgroupDir } from '../cgroup-dir.ts';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = '/sys/fs/cgroup';
/** Hierarchies the sandbox needs; the others found on the host are delegated too (dockerd looks at all). */
export const REQUIRED_CONTROLLERS = ['memory', 'pids', 'cpu', 'freezer'] as const;
/** Files of a group its owner must be able to write to move tasks in (v1). */
const DELEGATED_FILES = ['cgroup.procs', 'tasks'];

/** The v1 hierarchies mounted on this host, by directory name under /sys/fs/cgroup. */
export function v1Hierarchies(): string[] {
  const found: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after?.startsWith('cgroup ')) continue;
    const mountPoint = before.split(' ')[4] ?? '';
    if (mountPoint.startsWith(`${ROOT}/`)) found.push(mountPoint.slice(ROOT.length + 1));
  }
  return found.sort();
}

/** True when a cgroup2 tree is mounted beside the v1 hierarchies, which crun 1.8 refuses ("hybrid mode"). */
export function hybridCgroupMounts(): string[] {
  const found: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after?.startsWith('cgroup2 ')) continue;
    const mountPoint = before.split(' ')[4] ?? '';
    if (mountPoint.startsWith(`${ROOT}/`)) found.push(mountPoint);
  }
  return found;
}

export class SandboxCgroups {
  readonly path: string;
  #hierarchies: string[];

  /** `path` is relative to each hierarchy's root, e.g. "cours-linux/abc". */
  constructor(path: string, hierarchies = v1Hierarchies()) {
    this.path = path;
    this.#hierarchies = hierarchies;
  }

  dir(hierarchy: string, child = ''): string {
    return join(ROOT, hierarchy, this.path, child);
  }

  /** Creates the group in every hierarchy, owned by `uid` (the sandbox's root). */
  async createDelegated(uid: number): Promise<void> {
    for (const hierarchy of this.#hierarchies) {
      const dir = this.dir(hierarchy);
      await mkdir(dir, { recursive: true });
      // A new v1 cpuset group has no cpus nor memory nodes: no task could join it.
      if (hierarchy === 'cpuset') await inheritCpuset(dir);
      await chown(dir, uid, uid);
      for (const file of DELEGATED_FILES) await chown(join(dir, file), uid, uid);
    }
  }

  /** Task ids in the group and all its children (any hierarchy holds them all). */
  async tasks(): Promise<number[]> {
    const dir = this.dir('pids');
    if (!existsSync(dir)) return [];
    const tasks: number[] = [];
    for (const group of await walk(dir)) {
      const text = await readFile(join(group, 'cgroup.procs'), 'utf8').catch(() => '');
      for (const line of text.split('\n')) if (line) tasks.push(Number(line));
    }
    return tasks;
  }

  /**
   * SIGKILLs every task, frozen first so that nothing forks meanwhile, and
   * waits until the group is empty (or `timeoutMs` passed).
   */
  async killAll(timeoutMs = 5000): Promise<boolean> {
    const freezer = this.dir('freezer');
    const canFreeze = existsSync(join(freezer, 'freezer.state'));
    if (canFreeze) await writeFile(join(freezer, 'freezer.state'), 'FROZEN').catch(() => {});
    for (const pid of await this.tasks()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    if (canFreeze) await writeFile(join(freezer, 'freezer.state'), 'THAWED').catch(() => {});
    const deadline = Date.now() + timeoutMs;
    while ((await this.tasks()).length > 0) {
      if (Date.now() > deadline) return false;
      await sleep(10);
    }
    return true;
  }

  /**
   * Removes the group and every child group in every hierarchy; it must be
   * empty. Memory groups are emptied first (`memory.force_empty`): page cache
   * still charged to a removed v1 group keeps it "dying" in the kernel, and
   * the kernel has only 65 535 memory-cgroup ids — a reader reading files on
   * purpose could otherwise use them all up, and no machine would start.
   * Returns the bytes still charged to the top memory group just before its
   * removal (0 when all was released).
   */
  async remove(): Promise<{ memoryLeftBytes: number }> {
    const failures: string[] = [];
    let memoryLeftBytes = 0;
    for (const hierarchy of this.#hierarchies) {
      const dir = this.dir(hierarchy);
      if (!existsSync(dir)) continue;
      // Deepest first: a v1 group can only be removed once it has no children.
      for (const group of (await walk(dir)).reverse()) {
        if (hierarchy === 'memory') {
          await writeFile(join(group, 'memory.force_empty'), '0').catch(() => {});
          if (group === dir) memoryLeftBytes = Number((await readFile(join(group, 'memory.usage_in_bytes'), 'utf8').catch(() => '0')).trim()) || 0;
        }
        await removeCgroupDir(group).catch((error: Error) => failures.push(`${group}: ${error.message}`));
      }
    }
    if (failures.length > 0) throw new Error(`could not remove cgroups: ${failures.join('; ')}`);
    return { memoryLeftBytes };
  }

  async usage(): Promise<{ memoryBytes: number; cpuSeconds: number; pids: number }> {
    const read = async (hierarchy: string, file: string) => Number((await readFile(join(this.dir(hierarchy), file), 'utf8')).trim());
    const [memoryBytes, cpuNanoseconds, pids] = await Promise.all([
      read('memory', 'memory.usage_in_bytes'),
      read('cpuacct', 'cpuacct.usage').catch(() => 0),
      read('pids', 'pids.current'),
    ]);
    return { memoryBytes, cpuSeconds: cpuNanoseconds / 1e9, pids };
  }

  /** The same, read at once (one small kernel file): a death is told before anything else happens. */
  oomKillsNow(): number {
    let text = '';
    try {
      text = readFileSync(join(this.dir('memory'), 'memory.oom_control'), 'utf8');
    } catch {
      return 0;
    }
    return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);
  }

  /** OOM kills so far, from the memory group's oom_control (for death reports). */
  async oomKills(): Promise<number> {
    const text = await readFile(join(this.dir('memory'), 'memory.oom_control'), 'utf8').catch(() => '');
    return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);
  }
}

/**
 * Memory cgroups the kernel holds, and how many of them are "dying" (removed
 * but still pinned by charged pages): /proc/cgroups counts both, the
 * hierarchy's directories only the live ones.
 */
export async function memoryCgroupCensus(): Promise<{ total: number; live: number; dying: number } | undefined> {
  const total = await memoryCgroupCount();
  if (!(total > 0) || !existsSync(join(ROOT, 'memory'))) return undefined;
  const live = (await walk(join(ROOT, 'memory'))).length;
  return { total, live, dying: Math.max(0, total - live) };
}

/** Memory cgroups the kernel holds, live and dying (0 when unknown). */
export async function memoryCgroupCount(): Promise<number> {
  const table = await readFile('/proc/cgroups', 'utf8').catch(() => '');
  return Number(/^memory\s+\d+\s+(\d+)/m.exec(table)?.[1]) || 0;
}

/** The kernel's limit on memory cgroups (their ids are 16 bits). */
export const MEMORY_CGROUP_IDS = 65_535;

/** Names of the groups directly under `parent` in the pids hierarchy (e.g. the sandboxes under "cours-linux"). */
export async function childGroups(parent: string): Promise<string[]> {
  const dir = join(ROOT, 'pids', parent);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
}

/** Removes `parent` from every hierarchy if no sandbox uses it any more (another process may). */
export async function removeParentIfEmpty(parent: string, hierarchies = v1Hierarchies()): Promise<void> {
  for (const hierarchy of hierarchies) await rmdir(join(ROOT, hierarchy, parent)).catch(() => {});
}

async function walk(dir: string): Promise<string[]> {
  const groups = [dir];
  for (let i = 0; i < groups.length; i++) {
    const entries = await readdir(groups[i]!, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) if (entry.isDirectory()) groups.push(join(groups[i]!, entry.name));
  }
  return groups;
}

async function inheritCpuset(dir: string): Promise<void> {
  // Walk up to the nearest ancestor with values and copy them down, top first.
  const chain: string[] = [];
  for (let current = dir; current.startsWith(`${ROOT}/cpuset/`); current = join(current, '..')) chain.unshift(current);
  let cpus = (await readFile(join(ROOT, 'cpuset', 'cpuset.cpus'), 'utf8')).trim();
  let mems = (await readFile(join(ROOT, 'cpuset', 'cpuset.mems'), 'utf8')).trim();
  for (const group of chain) {
    if (!(await stat(group).catch(() => undefined))) continue;
    const ownCpus = (await readFile(join(group, 'cpuset.cpus'), 'utf8')).trim();
    const ownMems = (await readFile(join(group, 'cpuset.mems'), 'utf8')).trim();
    if (ownCpus) cpus = ownCpus;
    else await writeFile(join(group, 'cpuset.cpus'), cpus);
    if (ownMems) mems = ownMems;
    else await writeFile(join(group, 'cpuset.mems'), mems);
  }
}
