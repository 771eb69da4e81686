// After a crash of the server, its VMs power themselves off within seconds
// (the guest's agent sees the host go, see vm/boot.sh), but a hung guest's
// QEMU would live on, and directories and cgroups stay. A later run finds
// all three by their prefix and removes those whose owner is dead; a live
// server's VMs (another instance on the same host, a test run beside a dev
// server) are left alone.
import { QemuCgroup, listQemuCgroups } from './qemu-cgroup.ts';
import { findQemuProcesses, killAndWait } from './qemu-processes.ts';
import { listVmDirs, ownerIsAlive } from './vm-dirs.ts';
import type { LogSink } from './options.ts';

export async function removeLeftoverVms(stateDir: string, prefix: string, log: LogSink): Promise<number> {
  const dirs = await listVmDirs(stateDir, prefix);
  const liveIds = new Set(dirs.filter((entry) => (entry.record ? ownerIsAlive(entry.record) : entry.dirs.isBeingCreated())).map((entry) => entry.id));
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
