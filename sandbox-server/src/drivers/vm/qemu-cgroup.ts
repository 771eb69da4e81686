// A cgroup per VM for its QEMU process: the guest's RAM is fixed by -m, but
// QEMU itself (translation cache, device emulation, I/O threads) could grow
// past it, and -smp only counts whole cores. So:
// - memory: guest RAM + translation cache + a margin for QEMU itself, from the start;
// - cpu: limits.cpus, applied once the guest has booted (the boot runs at
//   full speed: under emulation it is the one moment the reader waits).
//
// cgroup v1 (separate `cpu` and `memory` hierarchies, as on this host) or v2
// (one unified tree, Debian 12's default). QEMU is started through
// `sh -c 'echo $$ > …/cgroup.procs; exec qemu …'`, so it is in its group
// before it allocates anything.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeCgroupDir } from '../cgroup-dir.ts';

const ROOT = '/sys/fs/cgroup';
/** What QEMU needs beyond guest RAM and translation cache (its own code, device state, buffers). */
export const QEMU_OVERHEAD_BYTES = 256 * 1024 * 1024;
const CPU_PERIOD_US = 100_000;

interface Layout {
  /** Group directories, one per hierarchy involved. */
  dirs(group: string): string[];
  setMemory(group: string, bytes: number): Promise<void>;
  setCpu(group: string, cpus: number): Promise<void>;
}

const v1: Layout = {
  dirs: (group) => [join(ROOT, 'cpu', group), join(ROOT, 'memory', group)],
  setMemory: (group, bytes) => writeFile(join(ROOT, 'memory', group, 'memory.limit_in_bytes'), String(bytes)),
  setCpu: async (group, cpus) => {
    await writeFile(join(ROOT, 'cpu', group, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
    await writeFile(join(ROOT, 'cpu', group, 'cpu.cfs_quota_us'), String(Math.round(cpus * CPU_PERIOD_US)));
  },
};

const v2: Layout = {
  dirs: (group) => [join(ROOT, group)],
  setMemory: (group, bytes) => writeFile(join(ROOT, group, 'memory.max'), String(bytes)),
  setCpu: (group, cpus) => writeFile(join(ROOT, group, 'cpu.max'), `${Math.round(cpus * CPU_PERIOD_US)} ${CPU_PERIOD_US}`),
};

function detectLayout(): { layout: Layout; version: 1 | 2 } | undefined {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  const v1Mounted = (controller: string) => new RegExp(` ${ROOT}/${controller} .* - cgroup cgroup \\S*\\b${controller}\\b`).test(mounts);
  if (v1Mounted('cpu') && v1Mounted('memory')) return { layout: v1, version: 1 };
  const controllers = existsSync(join(ROOT, 'cgroup.controllers')) ? readFileSync(join(ROOT, 'cgroup.controllers'), 'utf8') : '';
  if (/\bcpu\b/.test(controllers) && /\bmemory\b/.test(controllers)) return { layout: v2, version: 2 };
  return undefined;
}

export class QemuCgroup {
  readonly group: string;
  readonly version: 1 | 2;
  #layout: Layout;
  #prefix: string;

  private constructor(prefix: string, id: string, detected: { layout: Layout; version: 1 | 2 }) {
    this.#prefix = prefix;
    this.group = `${prefix}/${id}`;
    this.#layout = detected.layout;
    this.version = detected.version;
  }

  /** The VM's group, or undefined when this host has no cgroup with both cpu and memory controllers. */
  static for(prefix: string, id: string): QemuCgroup | undefined {
    const detected = detectLayout();
    return detected ? new QemuCgroup(prefix, id, detected) : undefined;
  }

  async create(memoryBytes: number): Promise<void> {
    if (this.version === 2) {
      // Let the parent's children use cpu and memory.
      await writeFile(join(ROOT, 'cgroup.subtree_control'), '+cpu +memory').catch(() => {});
      await mkdir(join(ROOT, this.#prefix), { recursive: true });
      await writeFile(join(ROOT, this.#prefix, 'cgroup.subtree_control'), '+cpu +memory');
    }
    for (const dir of this.#layout.dirs(this.group)) await mkdir(dir, { recursive: true });
    await this.#layout.setMemory(this.group, memoryBytes);
  }

  /** Files a process writes its pid into to join the group. */
  procsFiles(): string[] {
    return this.#layout.dirs(this.group).map((dir) => join(dir, 'cgroup.procs'));
  }

  limitCpu(cpus: number): Promise<void> {
    return this.#layout.setCpu(this.group, cpus);
  }

  /** Removes the group (its processes must be gone) and the prefix's group when it is empty. */
  async remove(): Promise<void> {
    for (const dir of this.#layout.dirs(this.group)) await removeCgroupDir(dir);
    for (const dir of this.#layout.dirs(this.#prefix)) {
      const children = await readdir(dir, { withFileTypes: true }).catch(() => []);
      if (!children.some((entry) => entry.isDirectory())) await rmdir(dir).catch(() => {}); // another VM's group may appear meanwhile
    }
  }
}

/** Every VM group under the prefix (for the leftovers of a crashed run). */
export async function listQemuCgroups(prefix: string): Promise<string[]> {
  const detected = detectLayout();
  if (!detected) return [];
  const ids = new Set<string>();
  for (const dir of detected.layout.dirs(prefix)) {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) if (entry.isDirectory()) ids.add(entry.name);
  }
  return [...ids];
}
