// The real Docker daemon, so that `pidof dockerd` and /proc/$(pidof dockerd)/ns
// show what the lesson talks about, and so that the reader runs real
// containers: its bridge, iptables rules and IP forwarding live in the
// machine's own network namespace, its images on the machine's own disk, its
// Docker Hub mirror is the class store (rootfs files/etc/docker/daemon.json,
// registry-forwarder.ts). Started in the background: the first prompt never
// waits for it.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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

const DAEMON_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const CONTAINERD_LOG = '/var/log/containerd.log';
/** Where containerd listens (rootfs files/etc/containerd/config.toml keeps containerd's default). */
const CONTAINERD_SOCKET = '/run/containerd/containerd.sock';
/** How long containerd may take to open its socket: minutes in a VM under TCG on a loaded host (dockerd's own wait is too short). */
const CONTAINERD_WAIT_MS = 5 * 60_000;
/** containerd is started again after it exits, as dockerd did for its own and systemd does on Debian: */
const CONTAINERD_RESTART_DELAY_MS = 1000;
/** … unless it keeps exiting within CONTAINERD_QUICK_EXIT_MS of its start (a config it refuses): then it is left down. */
const CONTAINERD_QUICK_EXITS = 5;
const CONTAINERD_QUICK_EXIT_MS = 60_000;

// Joins the cgroup.procs file given first, then becomes the daemon: everything
// it starts (containerd's shims) is in that group from its first fork.
// A failed join is said in the daemon's log, and it starts all the same.
const JOIN_THEN_EXEC = 'echo $$ > "$1" || echo "sandbox: could not join $1" >&2; shift; exec "$@"';

/** Starts `command` with its output appended to `logFile`, in Docker's cpu group first when there is one. */
function spawnDaemon(command: string, args: string[], cpuGroup: string | undefined, logFile: string): ChildProcess {
  const output = openSync(logFile, 'a');
  const [file, argv] = cpuGroup ? ['/bin/sh', ['-c', JOIN_THEN_EXEC, `sandbox-${command}`, cpuGroup, command, ...args]] : [command, args];
  try {
    return spawn(file, argv, { stdio: ['ignore', output, output], env: { PATH: DAEMON_PATH } });
  } finally {
    closeSync(output);
  }
}

/**
 * containerd as its own service, with the course's configuration (rootfs
 * files/etc/containerd/config.toml): dockerd's own containerd runs with a
 * configuration dockerd writes and lets no one change, whose garbage
 * collector's scheduler woke an idle machine ≈ 30 times a second. Started
 * again when it exits (dockerd reconnects; running containers keep their
 * shims).
 */
function runContainerd(log: Log, cpuGroup: string | undefined, quickExits = 0): ChildProcess {
  const started = Date.now();
  const containerd = spawnDaemon('containerd', [], cpuGroup, CONTAINERD_LOG);
  containerd.once('error', (error) => log('error', 'containerd could not start', { error: error.message }));
  containerd.once('exit', (code, signal) => {
    const uptimeMs = Date.now() - started;
    const quick = uptimeMs < CONTAINERD_QUICK_EXIT_MS ? quickExits + 1 : 0;
    if (quick >= CONTAINERD_QUICK_EXITS) {
      log('error', `containerd exited ${quick} times in a row soon after its start; left down: see ${CONTAINERD_LOG} inside the machine`, {
        code,
        signal,
        uptimeMs,
      });
      return;
    }
    log('warn', `containerd exited; started again: see ${CONTAINERD_LOG} inside the machine`, { code, signal, uptimeMs });
    setTimeout(() => runContainerd(log, cpuGroup, quick), CONTAINERD_RESTART_DELAY_MS);
  });
  return containerd;
}

/** Whether a process of that name runs in this machine (its pid namespace: /proc shows only the machine's). */
export function processRuns(name: string): boolean {
  return readdirSync('/proc').some((entry) => {
    try {
      return /^\d+$/.test(entry) && readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name;
    } catch {
      return false; // ended meanwhile
    }
  });
}

/**
 * Starts containerd and waits for its socket (dockerd gives up on a containerd
 * that answers late). One that runs already (a restarted agent's predecessor
 * started it) is kept: a second would take its socket from it.
 */
async function startContainerd(log: Log, cpuGroup: string | undefined): Promise<void> {
  if (processRuns('containerd')) {
    log('info', 'containerd runs already: kept (nothing starts it again if it exits)');
    return;
  }
  const containerd = runContainerd(log, cpuGroup);
  const deadline = Date.now() + CONTAINERD_WAIT_MS;
  while (!existsSync(CONTAINERD_SOCKET) && Date.now() < deadline && containerd.exitCode === null) await sleep(50);
  if (!existsSync(CONTAINERD_SOCKET)) log('warn', 'containerd did not open its socket; dockerd starts anyway');
}

/**
 * containerd first, then dockerd pointed at it. In a VM guest (vm driver)
 * dockerd makes its bridge and iptables-nft rules as on any Debian machine:
 * the guest's disk carries its kernel's netfilter, bridge and veth modules,
 * which kmod's modprobe loads on demand (src/drivers/vm/kernel-modules.ts).
 */
export function startDocker(log: Log, containersPidsMax: number): void {
  void (async () => {
    const vm = inVirtualMachine();
    const cgroupArgs = vm ? [] : containersGroup(containersPidsMax, log);
    const cpuGroup = vm ? undefined : dockerCpuGroup(log);
    // In a VM under emulation containerd may take minutes to open its socket, longer than dockerd waits for
    // one: dockerd starts once it is open. In a namespace machine it opens within a second or two and dockerd
    // waits for it itself (3 s checked), so dockerd starts at once, as before containerd was ours: `pidof
    // dockerd` (the lesson's first snippet) and the `docker` wrapper (rootfs /usr/local/bin/docker, which
    // waits only for a dockerd that runs) find it from the first prompt.
    const containerdUp = startContainerd(log, cpuGroup);
    if (vm) await containerdUp;
    const started = Date.now();
    const daemon = spawnDaemon('dockerd', [...cgroupArgs, '--containerd', CONTAINERD_SOCKET], cpuGroup, LOG_FILE);
    daemon.once('spawn', () => log('info', 'dockerd started', { pid: daemon.pid }));
    daemon.once('error', (error) => log('error', 'dockerd could not start', { error: error.message }));
    daemon.once('exit', (code, signal) => log('warn', `dockerd exited; see ${LOG_FILE} inside the sandbox`, { code, signal, uptimeMs: Date.now() - started }));
  })().catch((error: Error) => log('error', 'Docker could not start', { error: error.message }));
}
