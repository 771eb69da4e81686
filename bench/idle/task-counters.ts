// How often processes wake up and how much CPU they use, from the kernel's own
// per-thread counters: /proc/PID/task/TID/status (voluntary_ctxt_switches:
// each time a thread went to sleep, which a wake-up ends) and schedstat (CPU
// time on the processor, ns). Read before and after a window; the difference
// is what the processes did meanwhile. Threads that appear or go during the
// window count from zero or are left out.
import { readFileSync, readdirSync } from 'node:fs';

export interface TaskCounters {
  /** Process (thread group) id. */
  pid: number;
  /** The process's name (/proc/PID/comm). */
  name: string;
  /** Thread id → [sleeps, CPU ns]. */
  threads: Map<number, [number, number]>;
}

/** Counters of each process in `pids` that still exists. */
export function readCounters(pids: Iterable<number>): TaskCounters[] {
  const counters: TaskCounters[] = [];
  for (const pid of pids) {
    try {
      const name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      const threads = new Map<number, [number, number]>();
      for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
        try {
          const sleeps = Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))?.[1] ?? 0);
          const cpuNs = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
          threads.set(tid, [sleeps, cpuNs]);
        } catch {
          // The thread ended between the listing and the read.
        }
      }
      counters.push({ pid, name, threads });
    } catch {
      // The process ended.
    }
  }
  return counters;
}

export interface Activity {
  wakeUps: number;
  cpuSeconds: number;
}

/** What each process did between two readings, keyed by pid. */
export function activityBetween(before: TaskCounters[], after: TaskCounters[]): Map<number, Activity & { name: string }> {
  const earlier = new Map(before.map((process) => [process.pid, process]));
  const result = new Map<number, Activity & { name: string }>();
  for (const process of after) {
    const was = earlier.get(process.pid);
    let wakeUps = 0;
    let cpuNs = 0;
    for (const [tid, [sleeps, ns]] of process.threads) {
      const [sleepsBefore, nsBefore] = was?.threads.get(tid) ?? [0, 0];
      wakeUps += sleeps - sleepsBefore;
      cpuNs += ns - nsBefore;
    }
    result.set(process.pid, { name: process.name, wakeUps, cpuSeconds: cpuNs / 1e9 });
  }
  return result;
}

/** Every process in a cgroup v1 directory and the groups below it. */
export function processesInCgroup(dir: string): number[] {
  const pids: number[] = [];
  const walk = (path: string) => {
    try {
      pids.push(...readFileSync(`${path}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number));
      for (const entry of readdirSync(path, { withFileTypes: true })) if (entry.isDirectory()) walk(`${path}/${entry.name}`);
    } catch {
      // The group went away.
    }
  };
  walk(dir);
  return pids;
}

/** Busy and total jiffies of the whole host (/proc/stat's cpu line). */
export function hostCpu(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  const idle = fields[3]! + fields[4]!; // idle + iowait
  return { busy: total - idle, total };
}
