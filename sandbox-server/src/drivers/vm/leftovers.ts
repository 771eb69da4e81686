// A VM outlives its server (the next server process takes it over), so what
// a server that is gone for good left behind stays: QEMU, its directory, its
// cgroup. A later run finds all three by their prefix and removes those no
// live server runs; spared are a live server's VMs (another instance on the
// same host, a test run beside a dev server), VMs being made, and — while
// their server is down — running VMs that another server's records file
// lists, for that server to take over (unless `all`: stopping for good).
import { existsSync } from 'node:fs';
import type { LeftoverOptions } from '../driver.ts';
import { QemuCgroup, listQemuCgroups } from './qemu-cgroup.ts';
import { findQemuProcesses, killAndWait } from './qemu-processes.ts';
import { listVmDirs, ownerIsAlive, serverIsAlive, type VmRecord } from './vm-dirs.ts';
import type { LogSink } from './options.ts';

export async function removeLeftoverVms(stateDir: string, prefix: string, log: LogSink, leftovers: LeftoverOptions = {}): Promise<number> {
  const dirs = await listVmDirs(stateDir, prefix);
  const keptElsewhere = (record: VmRecord) =>
    !leftovers.all && record.recordedIn !== undefined && record.recordedIn !== leftovers.recordsPath && existsSync(record.recordedIn);
  const spared = (record: VmRecord) => serverIsAlive(record) || (ownerIsAlive(record) && keptElsewhere(record));
  const liveIds = new Set(dirs.filter((entry) => (entry.record ? spared(entry.record) : entry.dirs.isBeingCreated())).map((entry) => entry.id));
  const removed = new Set<string>();
  const problems: string[] = [];

  // QEMU processes whose VM has no live owner (or no directory at all).
  for (const qemu of findQemuProcesses(prefix)) {
    if (liveIds.has(qemu.id)) continue;
    if (await killAndWait(qemu.pid)) removed.add(qemu.id);
    else problems.push(`QEMU pid ${qemu.pid} (VM ${qemu.id}) survived SIGKILL`);
  }
  for (const entry of dirs) {
    if (liveIds.has(entry.id)) continue;
    await entry.dirs.remove();
    removed.add(entry.id);
  }
  // Their cgroups, once their QEMU is gone.
  for (const id of await listQemuCgroups(prefix)) {
    if (liveIds.has(id)) continue;
    try {
      await QemuCgroup.for(prefix, id)?.remove();
      removed.add(id);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (removed.size > 0) log({ level: 'info', msg: 'removed VMs left by an earlier run', count: removed.size, ids: [...removed] });
  if (problems.length > 0) throw new Error(`could not remove every leftover VM: ${problems.join('; ')}`);
  return removed.size;
}
