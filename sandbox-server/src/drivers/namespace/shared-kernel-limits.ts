// Limits the kernel keeps per user of the host, or for the host as a whole,
// rather than per cgroup. The kernel charges what a user namespace's processes
// take (inotify instances and watches, fanotify groups, the namespaces root
// inside makes, message queue bytes) at the host's level to the namespace's
// owner. Made by crun as root, every machine's namespace was owned by host
// root: all of them and the host's own root processes shared one allowance.
// Each machine's namespace is now owned by its own base host uid (sandbox-launch
// makes it as that uid), so each has an allowance of its own; the ptys of every
// machine still count against one host-wide number.
//
// At Debian's defaults, root inside one machine took them all with a few lines
// of perl (measured on this host: 125 inotify instances, 3071 ptys): no other
// machine could open a terminal ("forkpty failed"), and no process of host
// root could watch a file (EMFILE). Each of these costs kernel memory that the
// machine's memory cgroup is charged for (≈ 4.6 KiB a pty, measured), so
// with the allowances raised far enough the machine's memory limit stops it
// long before the host runs out. The namespace driver raises them at prepare
// (never lowers one an administrator set higher) and says so in its log. The
// namespace counts (user/*) need CAP_SYS_RESOURCE, which some hosts' root
// lacks: left as they are, they are each machine's own (96 365 of each kind here).
import { readFile, writeFile } from 'node:fs/promises';

const INT_MAX = 2 ** 31 - 1;

/** /proc/sys path → the least value the host must allow (the kernel's own maximum where it has one). */
export const SHARED_KERNEL_LIMIT_FLOORS: Readonly<Record<string, number>> = {
  'fs/inotify/max_user_instances': INT_MAX,
  'fs/inotify/max_user_watches': INT_MAX,
  // fanotify without CAP_SYS_ADMIN over the host (FAN_REPORT_FID) is open to root inside, counted the same way.
  'fs/fanotify/max_user_groups': INT_MAX,
  'fs/fanotify/max_user_marks': INT_MAX,
  'user/max_user_namespaces': INT_MAX,
  'user/max_mnt_namespaces': INT_MAX,
  'user/max_pid_namespaces': INT_MAX,
  'user/max_net_namespaces': INT_MAX,
  'user/max_ipc_namespaces': INT_MAX,
  'user/max_uts_namespaces': INT_MAX,
  'user/max_cgroup_namespaces': INT_MAX,
  // NR_UNIX98_PTY_MAX: the most the kernel accepts. Machines share what is above kernel/pty/reserve.
  'kernel/pty/max': 1 << 20,
};

/** Counted per owner of a machine's user namespace, that is per machine: left low, they bound one machine, not all. */
export function isPerMachineLimit(name: string): boolean {
  return name.startsWith('user.') || name.startsWith('user/');
}

export interface RaisedLimit {
  name: string;
  from: number;
  to: number;
  /** Why it stays as it was (the user/ ones need CAP_SYS_RESOURCE, which some hosts' root lacks). */
  refused?: string;
}

/**
 * Raises every shared limit below its floor; returns what it changed, and what
 * it could not (`refused`). A limit this kernel lacks, or one set to 0 (turned
 * off on purpose), is left alone.
 */
export async function raiseSharedKernelLimits(procSys = '/proc/sys'): Promise<RaisedLimit[]> {
  const raised: RaisedLimit[] = [];
  for (const [name, floor] of Object.entries(SHARED_KERNEL_LIMIT_FLOORS)) {
    const path = `${procSys}/${name}`;
    const current = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (!Number.isFinite(current) || current === 0 || current >= floor) continue;
    const limit = { name: name.replaceAll('/', '.'), from: current, to: floor };
    try {
      await writeFile(path, String(floor));
      raised.push(limit);
    } catch (error) {
      raised.push({ ...limit, refused: (error as NodeJS.ErrnoException).code ?? (error as Error).message });
    }
  }
  return raised;
}
