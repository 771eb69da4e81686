// Docker's cpu group inside a namespace machine (sandbox-server/agent/docker-cpu.ts),
// on a directory laid out like the machine's v1 cpu hierarchy: its quota is
// below the machine's, its weight below a task's, and a machine without a cpu
// hierarchy of its own (a VM) gets none.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DOCKER_CPU_GROUP, DOCKER_SHARES, dockerCpuGroup, dockerQuotaUs } from '../../sandbox-server/agent/docker-cpu.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function machineCpu(quota: string, period = '100000'): string {
  const root = mkdtempSync(join(tmpdir(), 'docker-cpu-'));
  dirs.push(root);
  writeFileSync(join(root, 'cpu.cfs_quota_us'), `${quota}\n`);
  writeFileSync(join(root, 'cpu.cfs_period_us'), `${period}\n`);
  // The kernel makes a new group's files itself; here the test does.
  mkdirSync(join(root, DOCKER_CPU_GROUP));
  return root;
}

const read = (root: string, file: string) => readFileSync(join(root, DOCKER_CPU_GROUP, file), 'utf8');

describe("Docker's cpu group", () => {
  it("gets a quota below the machine's, the machine's period and a small weight", () => {
    const root = machineCpu('50000');
    const procs = dockerCpuGroup(() => {}, root);
    expect(procs).toBe(join(root, DOCKER_CPU_GROUP, 'cgroup.procs'));
    expect(Number(read(root, 'cpu.cfs_quota_us'))).toBe(40000);
    expect(read(root, 'cpu.cfs_period_us')).toBe('100000');
    expect(Number(read(root, 'cpu.shares'))).toBe(DOCKER_SHARES);
    expect(DOCKER_SHARES).toBeLessThan(1024);
  });

  it('stays unlimited in a machine without a quota, and never goes below the 1 ms the kernel accepts', () => {
    expect(dockerQuotaUs(-1)).toBe(-1);
    expect(dockerQuotaUs(1000)).toBe(1000);
    expect(dockerQuotaUs(200000)).toBe(160000);
    const root = machineCpu('-1');
    dockerCpuGroup(() => {}, root);
    expect(read(root, 'cpu.cfs_quota_us')).toBe('-1');
  });

  it('is not made where the machine has no cpu hierarchy of its own, and a failure is logged, not thrown', () => {
    const empty = mkdtempSync(join(tmpdir(), 'docker-cpu-'));
    dirs.push(empty);
    expect(dockerCpuGroup(() => {}, empty)).toBeUndefined();
    const root = machineCpu('50000');
    rmSync(join(root, 'cpu.cfs_period_us'));
    const logs: string[] = [];
    expect(dockerCpuGroup((_level, msg) => logs.push(msg), root)).toBeUndefined();
    expect(logs).toHaveLength(1);
  });
});
