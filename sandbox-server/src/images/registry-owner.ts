// Which process a docker-registry of ours belongs to, and stopping the ones
// whose owner is gone. Every registry the project starts (registry-process.ts)
// carries its owner in its environment: the pid and start time of the process
// that started it (a server, `npm run images`, a test run). A registry whose
// owner is no longer that process is an orphan: nobody can reach it any more
// (its sockets' directory belongs to a dead server), yet it holds memory and
// file handles. It happens when the owner is SIGKILLed before the registry
// was told to end with it (registry-process.ts), or by servers older than
// this file. The next server start and `npm run sandbox:cleanup` stop them.
// A docker-registry without the mark (an administrator's own) is never touched.
import { readFileSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { processIsAlive, processStartTime } from '../process-start.ts';

export const REGISTRY_OWNER_VARIABLE = 'COURS_LINUX_REGISTRY_OWNER';
const REGISTRY_EXECUTABLE = '/usr/bin/docker-registry';

/** The mark for a registry this process starts. */
export function registryOwnerEnv(pid = process.pid): Record<string, string> {
  return { [REGISTRY_OWNER_VARIABLE]: `${pid}:${processStartTime(pid) ?? 0}` };
}

export interface MarkedRegistry {
  pid: number;
  /** Its own start time, so that a signal never reaches a process that reused its pid. */
  start: number;
  ownerPid: number;
  ownerStart: number;
}

/** Every docker-registry process on the host that carries our mark. */
export async function markedRegistries(): Promise<MarkedRegistry[]> {
  const found: MarkedRegistry[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    // A package upgrade under a running registry makes its exe read "… (deleted)".
    const exe = await readlink(`/proc/${pid}/exe`).catch(() => '');
    if (exe !== REGISTRY_EXECUTABLE && exe !== `${REGISTRY_EXECUTABLE} (deleted)`) continue;
    const environ = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
    const mark = environ
      .split('\0')
      .find((entry) => entry.startsWith(`${REGISTRY_OWNER_VARIABLE}=`))
      ?.slice(REGISTRY_OWNER_VARIABLE.length + 1);
    const owner = /^(\d+):(\d+)$/.exec(mark ?? '');
    const start = processStartTime(pid);
    if (!owner || start === undefined) continue;
    found.push({ pid, start, ownerPid: Number(owner[1]), ownerStart: Number(owner[2]) });
  }
  return found;
}

/** Our registries whose owner process is gone. */
export async function orphanedRegistries(): Promise<MarkedRegistry[]> {
  return (await markedRegistries()).filter((registry) => !registryRuns({ pid: registry.ownerPid, start: registry.ownerStart }));
}

/** Whether that process (a registry, an owner) still runs: a zombie waiting for its reaper does not. */
export function registryRuns(registry: Pick<MarkedRegistry, 'pid' | 'start'>): boolean {
  if (!processIsAlive(registry.pid, registry.start)) return false;
  try {
    const stat = readFileSync(`/proc/${registry.pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Stops every orphaned registry (SIGTERM, then SIGKILL after `graceMs`); resolves with the pids stopped. */
export async function stopOrphanedRegistries(options: { graceMs?: number; only?: (registry: MarkedRegistry) => boolean } = {}): Promise<number[]> {
  const { graceMs = 3000, only = () => true } = options;
  const orphans = (await orphanedRegistries()).filter(only);
  const signal = (registry: MarkedRegistry, name: NodeJS.Signals) => {
    if (!registryRuns(registry)) return;
    try {
      process.kill(registry.pid, name);
    } catch {
      // gone meanwhile
    }
  };
  for (const orphan of orphans) signal(orphan, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (orphans.some(registryRuns) && Date.now() < deadline) await sleep(50);
  for (const orphan of orphans) signal(orphan, 'SIGKILL');
  // An orphan's parent is init or a subreaper, which reaps it: wait until it is gone from the table.
  while (orphans.some(registryRuns) && Date.now() < deadline + graceMs) await sleep(50);
  return orphans.map((orphan) => orphan.pid);
}
