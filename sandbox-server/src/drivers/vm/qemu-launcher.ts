// Starting and stopping one QEMU process: in its cgroup from its first
// instruction, with the disk's copy-on-write layer in the VM's own
// directory, its complaints kept for error messages, and a kill that waits
// until it is really gone.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { QemuCgroup } from './qemu-cgroup.ts';
import { killAndWait } from './qemu-processes.ts';

/** A shell writes its own pid into each cgroup.procs file given before "--", then becomes the command after it. */
const JOIN_CGROUP_THEN_EXEC = 'for f do [ "$f" = -- ] && break; echo $$ > "$f" || exit 125; shift; done; shift; exec "$@"';

export interface QemuLaunchOptions {
  qemu: string;
  args: string[];
  cgroup: QemuCgroup | undefined;
  /** QEMU's $TMPDIR: where snapshot=on puts the disk's copy-on-write layer. */
  tmpDir: string;
  /** A named network namespace (/run/netns/<name>) to start QEMU in: a lab's, where its tap is. */
  netns?: string;
  onStderrLine: (line: string) => void;
}

export class QemuProcess {
  /** Resolves (never rejects) with why QEMU ended: "QEMU exited (SIGKILL)"… */
  readonly exit: Promise<string>;
  /** QEMU's first lines on stderr (why it refused to start, typically). */
  readonly stderr: string[] = [];
  #child: ChildProcess;

  constructor(options: QemuLaunchOptions) {
    const [qemu, qemuArgs] = options.cgroup
      ? ['/bin/sh', ['-c', JOIN_CGROUP_THEN_EXEC, 'qemu-launch', ...options.cgroup.procsFiles(), '--', options.qemu, ...options.args]]
      : [options.qemu, options.args];
    // nsenter execs what follows: QEMU keeps the pid spawn() saw.
    const [command, args] = options.netns ? ['nsenter', [`--net=/run/netns/${options.netns}`, '--', qemu, ...qemuArgs]] : [qemu, qemuArgs];
    const child = spawn(command, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', TMPDIR: options.tmpDir, LANG: 'C' },
    });
    this.#child = child;
    this.exit = new Promise((resolve) => {
      child.once('error', (error) => resolve(`QEMU could not start: ${error.message}`));
      child.once('exit', (code, signal) => resolve(`QEMU exited (${signal ?? `code ${code}`})`));
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (this.stderr.length < 20) this.stderr.push(line);
      options.onStderrLine(line);
    });
  }

  /** The pid on the host while QEMU runs. */
  get pid(): number | undefined {
    return this.#child.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  /** SIGKILL (the guest holds nothing worth a clean shutdown: its disk is thrown away); false if it survived. */
  async kill(): Promise<boolean> {
    const pid = this.pid;
    if (pid === undefined) return true;
    this.#child.kill('SIGKILL');
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([this.exit.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 15_000)))]);
    clearTimeout(timer);
    return exited || killAndWait(pid);
  }
}
