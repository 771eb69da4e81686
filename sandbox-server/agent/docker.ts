// The real Docker daemon, so that `pidof dockerd` and /proc/$(pidof dockerd)/ns
// show what the lesson talks about, and so that the reader runs real
// containers: its bridge, iptables rules and IP forwarding live in the
// machine's own network namespace, its images on the machine's own disk, its
// Docker Hub mirror is the class store (rootfs files/etc/docker/daemon.json,
// registry-forwarder.ts). Started in the background: the first prompt never
// waits for it.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Log } from './log.ts';
import { dockerCpuGroup } from './docker-cpu.ts';

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
    log('warn', "containers cgroup not made: containers share the machine's limits with dockerd", { error: (error as Error).message });
    return [];
  }
}

/**
 * True in a VM guest (the agent runs in the initial user namespace, whose map
 * is the identity over every id), false in a namespace machine.
 */
function inVirtualMachine(): boolean {
  try {
    return readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ') === '0 0 4294967295';
  } catch {
    return false;
  }
}

const CONTAINERD_SOCKET = '/run/containerd/containerd.sock';
/** How long a VM's containerd may take to answer: minutes under TCG on a loaded host (dockerd's own wait is too short). */
const CONTAINERD_WAIT_MS = 5 * 60_000;

/**
 * A VM guest (vm driver): containerd as its own service first, waited for as
 * long as an emulated CPU needs, then dockerd pointed at it. dockerd makes its
 * bridge and iptables-nft rules as on any Debian machine: the guest's disk
 * carries its kernel's netfilter, bridge and veth modules, which kmod's
 * modprobe loads on demand (src/drivers/vm/kernel-modules.ts).
 */
async function startInVirtualMachine(log: Log): Promise<string[]> {
  const output = openSync('/var/log/containerd.log', 'a');
  const containerd = spawn('containerd', [], { stdio: ['ignore', output, output], env: { PATH: DAEMON_PATH } });
  closeSync(output);
  containerd.once('error', (error) => log('error', 'containerd could not start', { error: error.message }));
  containerd.once('exit', (code, signal) => log('warn', 'containerd exited; see /var/log/containerd.log inside the machine', { code, signal }));
  const deadline = Date.now() + CONTAINERD_WAIT_MS;
  while (!existsSync(CONTAINERD_SOCKET) && Date.now() < deadline && containerd.exitCode === null) await sleep(200);
  if (!existsSync(CONTAINERD_SOCKET)) log('warn', 'containerd did not open its socket; dockerd starts anyway');
  return ['--containerd', CONTAINERD_SOCKET];
}

const DAEMON_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// Joins the cgroup.procs file given first, then becomes dockerd: everything
// dockerd starts (containerd, shims) is in that group from its first fork.
// A failed join is said in dockerd's log, and dockerd starts all the same.
const JOIN_THEN_EXEC = 'echo $$ > "$1" || echo "sandbox: could not join $1" >&2; shift; exec "$@"';

export function startDocker(log: Log, containersPidsMax: number): void {
  void (async () => {
    const vm = inVirtualMachine();
    const args = vm ? await startInVirtualMachine(log) : containersGroup(containersPidsMax, log);
    const cpuGroup = vm ? undefined : dockerCpuGroup(log);
    const output = openSync(LOG_FILE, 'a');
    const started = Date.now();
    const [command, argv] = cpuGroup ? ['/bin/sh', ['-c', JOIN_THEN_EXEC, 'sandbox-dockerd', cpuGroup, 'dockerd', ...args]] : ['dockerd', args];
    const daemon = spawn(command, argv, { stdio: ['ignore', output, output], env: { PATH: DAEMON_PATH } });
    closeSync(output);
    daemon.once('spawn', () => log('info', 'dockerd started', { pid: daemon.pid }));
    daemon.once('error', (error) => log('error', 'dockerd could not start', { error: error.message }));
    daemon.once('exit', (code, signal) => log('warn', `dockerd exited; see ${LOG_FILE} inside the sandbox`, { code, signal, uptimeMs: Date.now() - started }));
  })().catch((error: Error) => log('error', 'Docker could not start', { error: error.message }));
}
