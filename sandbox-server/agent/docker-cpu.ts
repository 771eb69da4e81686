// Docker's share of the machine's CPU (cgroup v1, the namespace driver).
//
// The machine as a whole has a CFS quota (cpus × period, set by the host):
// when everything in it together has used that much in a period, every task
// of the machine waits for the next one — the agent and the reader's shells
// too, so a keystroke's echo can stall for up to a period (measured: a
// freshly started machine, whose dockerd and containerd were starting, was
// throttled 1–2 times for 43–107 ms while 600 keys were typed). So dockerd,
// containerd, their shims and every container live in one cpu group
// (`/containers`, the same path as dockerd's --cgroup-parent) whose quota is
// DOCKER_QUOTA_SHARE of the machine's: Docker alone can never use the whole
// quota up, and what it leaves is there for the agent and the shells. Its
// weight is DOCKER_SHARES (a quarter of one task's): when the reader types
// while Docker works, the shell and the agent run first. Neither setting
// gives anyone more than before: the group is inside the machine's quota.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Log } from './log.ts';

const CPU = '/sys/fs/cgroup/cpu';
export const DOCKER_CPU_GROUP = 'containers';
export const DOCKER_QUOTA_SHARE = 0.8;
export const DOCKER_SHARES = 256;

/** The quota of Docker's group for a machine quota of `machineQuotaUs` (-1: none), never below 1 ms (the kernel's minimum). */
export function dockerQuotaUs(machineQuotaUs: number): number {
  if (!(machineQuotaUs > 0)) return -1;
  return Math.max(1000, Math.floor(machineQuotaUs * DOCKER_QUOTA_SHARE));
}

/**
 * Makes Docker's cpu group under the machine's own; returns its cgroup.procs
 * file for dockerd to join before it starts, or undefined where there is no
 * v1 cpu hierarchy of the machine's own (a VM: Docker's defaults).
 */
export function dockerCpuGroup(log: Log, root = CPU): string | undefined {
  if (!existsSync(`${root}/cpu.cfs_quota_us`)) return undefined;
  const dir = `${root}/${DOCKER_CPU_GROUP}`;
  try {
    mkdirSync(dir, { recursive: true });
    const period = readFileSync(`${root}/cpu.cfs_period_us`, 'utf8').trim();
    writeFileSync(`${dir}/cpu.cfs_period_us`, period);
    writeFileSync(`${dir}/cpu.cfs_quota_us`, String(dockerQuotaUs(Number(readFileSync(`${root}/cpu.cfs_quota_us`, 'utf8')))));
    writeFileSync(`${dir}/cpu.shares`, String(DOCKER_SHARES));
    return `${dir}/cgroup.procs`;
  } catch (error) {
    log('warn', "Docker's cpu group not made: Docker may use the machine's whole CPU quota and stall its shells", { error: (error as Error).message });
    return undefined;
  }
}
