// The real Docker daemon, so that `pidof dockerd` and /proc/$(pidof dockerd)/ns
// show what the lesson talks about, and so that the reader runs real
// containers: its bridge, iptables rules and IP forwarding live in the
// machine's own network namespace, its images on the machine's own disk, its
// Docker Hub mirror is the class store (rootfs files/etc/docker/daemon.json,
// registry-forwarder.ts). Started in the background: the first prompt never
// waits for it.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import type { Log } from './log.ts';

const LOG_FILE = '/var/log/dockerd.log';
const CONTAINERS_GROUP = 'containers';
/** Memory kept out of the containers' reach for dockerd, containerd, the agent and the shells. */
const RESERVED_MEMORY = 96 * 1024 * 1024;

/**
 * All containers in one cgroup under the machine's own, with limits below the
 * machine's (cgroup v1, the namespace driver): a container's fork bomb or
 * memory hog hits the containers' limit first, so dockerd and the reader's
 * shells keep room to stop it. Returns dockerd's --cgroup-parent, or nothing
 * where the machine's cgroups are not ours to divide (a VM: Docker's defaults).
 */
function containersGroup(pidsMax: number, log: Log): string[] {
  const pids = '/sys/fs/cgroup/pids';
  const memory = '/sys/fs/cgroup/memory';
  if (!existsSync(`${pids}/pids.max`) || !existsSync(`${memory}/memory.limit_in_bytes`)) return [];
  try {
    mkdirSync(`${pids}/${CONTAINERS_GROUP}`, { recursive: true });
    writeFileSync(`${pids}/${CONTAINERS_GROUP}/pids.max`, String(pidsMax));
    const machineMemory = Number(readFileSync(`${memory}/memory.limit_in_bytes`, 'utf8'));
    mkdirSync(`${memory}/${CONTAINERS_GROUP}`, { recursive: true });
    if (machineMemory > 2 * RESERVED_MEMORY) {
      writeFileSync(`${memory}/${CONTAINERS_GROUP}/memory.limit_in_bytes`, String(machineMemory - RESERVED_MEMORY));
    }
    return ['--cgroup-parent', `/${CONTAINERS_GROUP}`];
  } catch (error) {
    log('warn', 'containers cgroup not made: containers share the machine\'s limits with dockerd', { error: (error as Error).message });
    return [];
  }
}

export function startDocker(log: Log, containersPidsMax: number): void {
  const output = openSync(LOG_FILE, 'a');
  const started = Date.now();
  const daemon = spawn('dockerd', containersGroup(containersPidsMax, log), {
    stdio: ['ignore', output, output],
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  closeSync(output);
  daemon.once('spawn', () => log('info', 'dockerd started', { pid: daemon.pid }));
  daemon.once('error', (error) => log('error', 'dockerd could not start', { error: error.message }));
  daemon.once('exit', (code, signal) =>
    log('warn', `dockerd exited; see ${LOG_FILE} inside the sandbox`, { code, signal, uptimeMs: Date.now() - started }),
  );
}
