// Telling a live process from a dead one whose pid was reused: a pid plus the
// process's start time (clock ticks since boot, /proc/<pid>/stat field 22)
// names one process for the life of the host.
import { existsSync, readFileSync } from 'node:fs';

/** Start time of process `pid` in clock ticks since boot, or undefined if there is no such process. */
export function processStartTime(pid: number): number | undefined {
  const path = `/proc/${pid}/stat`;
  if (!existsSync(path)) return undefined;
  try {
    // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

export function processIsAlive(pid: number, start: number): boolean {
  return processStartTime(pid) === start;
}
