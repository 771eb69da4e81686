// Finding and stopping QEMU processes of ours on the host, by the guest name
// they carry on their command line (`-name guest=<prefix>-<id>,…`): what
// survives a crash of the server is found again this way.
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface QemuProcess {
  pid: number;
  id: string;
}

export function findQemuProcesses(prefix: string): QemuProcess[] {
  const found: QemuProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    const name = args[args.indexOf('-name') + 1];
    if (args.indexOf('-name') < 0 || !name?.startsWith(`guest=${prefix}-`)) continue;
    const id = name.slice(`guest=${prefix}-`.length).split(',')[0]!;
    found.push({ pid: Number(entry), id });
  }
  return found;
}

/** SIGKILL, then wait until the process is really gone (its memory freed). */
export async function killAndWait(pid: number, timeoutMs = 10_000): Promise<boolean> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return true; // already gone
  }
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (!isRunning(pid)) return true;
    await sleep(20);
  }
  return !isRunning(pid);
}

/** Alive and not a zombie. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
