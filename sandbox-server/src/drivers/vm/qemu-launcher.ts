// Starting and stopping one QEMU process: in its cgroup from its first
// instruction, with the disk's copy-on-write layer in the VM's own
// directory, its complaints kept in a file there for error messages, and a
// kill that waits until it is really gone.
//
// QEMU does not depend on the server that starts it: it runs in a session of
// its own (no signal meant for the server's process group reaches it), holds
// no pipe to the server (its stderr is a file), and the server does not wait
// for it at exit. So a restarted server takes it over (QemuProcess.running)
// with its guest, its shells and its files, as the namespace driver does.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { processIsAlive, processStartTime } from '../../process-start.ts';
import type { QemuCgroup } from './qemu-cgroup.ts';
import { killAndWait } from './qemu-processes.ts';

/** A shell writes its own pid into each cgroup.procs file given before "--", then becomes the command after it. */
const JOIN_CGROUP_THEN_EXEC = 'for f do [ "$f" = -- ] && break; echo $$ > "$f" || exit 125; shift; done; shift; exec "$@"';
/** How often a QEMU this server did not start is looked at, to learn that it ended (its agent's socket closing tells sooner). */
const ADOPTED_POLL_MS = 1000;
/** At most this much of QEMU's stderr file is read back for an error message. */
const STDERR_TAIL_BYTES = 8 * 1024;

export interface QemuLaunchOptions {
  qemu: string;
  args: string[];
  cgroup: QemuCgroup | undefined;
  /** QEMU's $TMPDIR: where snapshot=on puts the disk's copy-on-write layer. */
  tmpDir: string;
  /** Where QEMU's stderr goes (a file in the VM's directory). */
  stderrFile: string;
  /** A named network namespace (/run/netns/<name>) to start QEMU in: a lab's, where its tap is. */
  netns?: string;
}

export class QemuProcess {
  /** QEMU's pid on the host, and its start time (together they name it across a server restart). */
  readonly pid: number;
  readonly start: number;
  /** Resolves (never rejects) with why QEMU ended: "QEMU exited (SIGKILL)"… */
  readonly exit: Promise<string>;
  readonly #stderrFile: string;
  #ended = false;

  private constructor(pid: number, start: number, exit: Promise<string>, stderrFile: string) {
    this.pid = pid;
    this.start = start;
    this.#stderrFile = stderrFile;
    this.exit = exit.finally(() => (this.#ended = true));
  }

  /** Starts QEMU; resolves once it runs (its pid known), or rejects when it could not be started at all. */
  static async launch(options: QemuLaunchOptions): Promise<QemuProcess> {
    const [qemu, qemuArgs] = options.cgroup
      ? ['/bin/sh', ['-c', JOIN_CGROUP_THEN_EXEC, 'qemu-launch', ...options.cgroup.procsFiles(), '--', options.qemu, ...options.args]]
      : [options.qemu, options.args];
    // nsenter execs what follows: QEMU keeps the pid spawn() saw.
    const [command, args] = options.netns ? ['nsenter', [`--net=/run/netns/${options.netns}`, '--', qemu, ...qemuArgs]] : [qemu, qemuArgs];
    const stderr = openSync(options.stderrFile, 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        // setsid(): a session and process group of its own, so the server's signals stay the server's.
        detached: true,
        stdio: ['ignore', 'ignore', stderr],
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', TMPDIR: options.tmpDir, LANG: 'C' },
      });
    } finally {
      closeSync(stderr); // the child has its own copy
    }
    const exit = new Promise<string>((resolve) => {
      child.once('error', (error) => resolve(`QEMU could not start: ${error.message}`));
      child.once('exit', (code, signal) => resolve(`QEMU exited (${signal ?? `code ${code}`})`));
    });
    // The server's exit does not wait for its VMs.
    child.unref();
    if (child.pid === undefined) throw new Error(await exit);
    return new QemuProcess(child.pid, processStartTime(child.pid) ?? 0, exit, options.stderrFile);
  }

  /** The QEMU of an earlier server process, still running as `pid` since `start`; undefined when it is not. */
  static running(pid: number, start: number, stderrFile: string): QemuProcess | undefined {
    if (!processIsAlive(pid, start)) return undefined;
    const exit = (async () => {
      while (processIsAlive(pid, start) && !isZombie(pid)) await sleep(ADOPTED_POLL_MS);
      return 'QEMU exited';
    })();
    return new QemuProcess(pid, start, exit, stderrFile);
  }

  /** Whether it still runs, as far as this process knows. */
  get running(): boolean {
    return !this.#ended && processIsAlive(this.pid, this.start);
  }

  /** QEMU's first lines on stderr (why it refused to start, typically). */
  get stderr(): string[] {
    try {
      return readFileSync(this.#stderrFile, 'utf8').slice(0, STDERR_TAIL_BYTES).split('\n').filter(Boolean).slice(0, 20);
    } catch {
      return [];
    }
  }

  /** SIGKILL (the guest holds nothing worth a clean shutdown: its disk is thrown away); false if it survived. */
  async kill(): Promise<boolean> {
    if (!this.running) return true;
    return killAndWait(this.pid);
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] === 'Z';
  } catch {
    return false;
  }
}
