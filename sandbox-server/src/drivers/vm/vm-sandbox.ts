// One VM sandbox: a QEMU process booting the guest's kernel on a
// copy-on-write view of the shared disk image, its agent reached over a
// virtio-serial port that QEMU offers on a unix socket in the VM's directory.
// The agent session is the namespace driver's: same protocol, other pipe.
// Like a namespace sandbox, a VM outlives its server: detach() lets go of it
// running, and the next server process takes it over (adopt) with its shells.
// With Docker, two more things of its own: a Docker disk (a second virtio
// disk, sparse, its size the quota) and a channel to the class image store
// (a second virtio-serial port, registry-channel.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxLostError, isMisbehaviour, type Disposable, type RestoredTerminal, type Sandbox, type SandboxSpec, type SandboxUsage } from '../driver.ts';
import { AgentSession } from '../agent-session.ts';
import { AgentBackedSandbox } from '../agent-backed-sandbox.ts';
import { Lifecycle } from '../lifecycle.ts';
import type { Accelerator } from './accelerator.ts';
import type { GuestBoot } from './guest-boot.ts';
import { guestCpus, guestMemoryMiB, type ResolvedVmOptions } from './options.ts';
import { GUEST_AGENT_SOCKET, qemuArgs, type LabNic } from './qemu-args.ts';
import { connectToAgent } from '../agent-socket.ts';
import type { LabHost } from '../../../../contracts/agent-protocol.ts';
import { QEMU_OVERHEAD_BYTES, QemuCgroup } from './qemu-cgroup.ts';
import { QemuProcess } from './qemu-launcher.ts';
import { VmDirs, processStartTime, serverIsAlive, thisServer, type VmRecord } from './vm-dirs.ts';
import { createDockerDisk } from '../namespace/docker-disk.ts';
import { GATE_SOCKET_NAME } from '../../images/paths.ts';
import { RegistryChannel } from './registry-channel.ts';

export interface VmHost {
  options: ResolvedVmOptions;
  boot: GuestBoot;
  accelerator: Accelerator;
  /** The disk image with `freeBytes` of free space, built first if missing. */
  diskImage(freeBytes: number): Promise<string>;
  /** Called once the VM is gone for good (destroyed, or dead and cleaned). */
  forget(id: string): void;
}

/** What makes a VM one machine of a lab (vm-lab.ts). */
export interface LabMember {
  hostname: string;
  /** Every machine of the lab, itself included: the guest's /etc/hosts. */
  hosts: LabHost[];
  /** The lab's network namespace, where QEMU starts (its tap is there). */
  netns: string;
  /** Whose machine it is for the class registry: the lab's id (one reader, one namespace). */
  reader: string;
  nic: LabNic;
}

/** The user every terminal runs as; the root filesystem's recipe creates it. */
const COURSE_USER = 'student';
const CLOCK_TICKS_PER_SECOND = 100;
/** How long a VM's agent under emulation may take to open a terminal or describe its processes before the VM is taken for broken. */
const TCG_AGENT_ANSWER_MS = 180_000;
/** How long QEMU may take to make its sockets once started. */
const QEMU_SOCKET_MS = 30_000;

type Level = 'debug' | 'info' | 'warn' | 'error';

export class VmSandbox extends AgentBackedSandbox implements Sandbox {
  readonly id: string;
  readonly dirs: VmDirs;
  #host: VmHost;
  #qemu: QemuProcess | undefined;
  #session: AgentSession | undefined;
  #cgroup: QemuCgroup | undefined;
  #registry: RegistryChannel | undefined;
  /** Whether the class registry serves this VM (a gate socket of its own: closed at teardown). */
  #registryOpen = false;
  /** Whose machine it is for the class registry (its own id, or its lab's). */
  #reader: string;
  #exitListeners = new Set<(reason: string) => void>();
  #teardown: Promise<void> | undefined;
  /** starting → ready → closing → done (drivers/lifecycle.ts), instead of flags. */
  readonly #lifecycle = new Lifecycle();
  #log: (level: Level, msg: string, fields?: Record<string, unknown>) => void;

  private constructor(host: VmHost, id: string) {
    super();
    this.id = id;
    this.#host = host;
    this.dirs = new VmDirs(host.options.stateDir, host.options.prefix, id);
    this.#reader = id;
    this.#log = (level, msg, fields = {}) => host.options.log({ level, msg, sandbox: id, ...fields });
  }

  /** Boots a VM; resolves once its agent is ready for terminals. Leaves nothing behind on failure. */
  static async start(host: VmHost, spec: SandboxSpec, member?: LabMember): Promise<VmSandbox> {
    const sandbox = new VmSandbox(host, spec.id);
    try {
      await sandbox.#start(spec, member);
      return sandbox;
    } catch (error) {
      await sandbox
        .#tearDown()
        .catch((cleanupError: Error) => sandbox.#log('error', 'cleanup after a failed start failed too', { error: cleanupError.message }));
      throw error;
    }
  }

  /** QEMU's pid on the host (undefined before the start, or once gone). */
  get qemuPid(): number | undefined {
    return this.#qemu?.running ? this.#qemu.pid : undefined;
  }

  async #start(spec: SandboxSpec, member: LabMember | undefined): Promise<void> {
    const { options, boot, accelerator } = this.#host;
    const started = Date.now();
    const disk = await this.#host.diskImage(spec.limits.diskBytes);
    const docker = options.docker && spec.docker;
    const record: VmRecord = {
      id: this.id,
      ownerPid: process.pid,
      ownerStart: processStartTime(process.pid) ?? 0,
      createdAt: new Date().toISOString(),
      recordedIn: spec.recordedIn,
      reader: member?.reader ?? this.id,
      docker,
    };
    await this.dirs.create(record);

    let registry: { dir: string; namespace: string } | undefined;
    if (docker) {
      // Made before QEMU starts: it opens both at once, then drops root.
      await createDockerDisk(this.dirs.dockerDisk, options.dockerDiskBytes, 0);
      registry = await this.#openRegistry(member?.reader ?? this.id);
    }
    const memoryMiB = guestMemoryMiB(spec.limits, options);
    const cpus = guestCpus(spec.limits);
    if (memoryMiB * 1024 * 1024 > spec.limits.memoryBytes) {
      this.#log('info', 'guest memory raised to the minimum a Debian guest with dockerd needs', {
        askedMiB: Math.round(spec.limits.memoryBytes / (1024 * 1024)),
        memoryMiB,
        option: 'minMemoryBytes',
      });
    }
    const args = qemuArgs({
      name: `${options.prefix}-${this.id}`,
      processName: options.prefix,
      accelerator,
      tbSizeMiB: options.tbSizeMiB,
      memoryMiB,
      cpus,
      kernel: boot.kernel,
      initrd: boot.initrd,
      disk,
      agentSocket: this.dirs.socket,
      ...(member ? { labNic: member.nic } : {}),
      ...(docker ? { dockerDisk: this.dirs.dockerDisk, registrySocket: this.dirs.registrySocket } : {}),
      consoleLog: this.dirs.console,
      runAs: options.runAs,
      bios: options.bios && existsSync(options.bios) ? options.bios : undefined,
      agent: {
        transport: `listen:${GUEST_AGENT_SOCKET}`,
        hostname: member?.hostname ?? options.hostname,
        ...(member ? { hosts: member.hosts } : {}),
        ...(registry ? { registryNamespace: registry.namespace } : {}),
        docker,
        user: COURSE_USER,
        terminalPidsMax: spec.limits.pids - options.reservedPids,
        writeIdentity: true,
      },
    });
    const cgroup = QemuCgroup.for(options.prefix, this.id);
    if (cgroup) {
      // Guest RAM + translation cache + QEMU itself: the guest cannot make QEMU grow past it.
      await cgroup.create((memoryMiB + (accelerator === 'tcg' ? options.tbSizeMiB : 0)) * 1024 * 1024 + QEMU_OVERHEAD_BYTES);
      this.#cgroup = cgroup;
    } else {
      this.#log('warn', 'no cgroup with the cpu and memory controllers: QEMU runs without host-side limits');
    }
    const qemu = await QemuProcess.launch({
      qemu: options.qemu,
      args,
      cgroup,
      tmpDir: this.dirs.tmp,
      stderrFile: this.dirs.qemuLog,
      ...(member ? { netns: member.netns } : {}),
    });
    this.#qemu = qemu;
    // From now on the record follows QEMU, not this process: a restart of the server leaves the VM running.
    await this.dirs.write({ ...record, ownerPid: qemu.pid, ownerStart: qemu.start, qemuPid: qemu.pid, qemuStart: qemu.start, ...thisServer() });

    const failed = qemu.exit.then((reason) => Promise.reject(new Error(this.#describeFailure(reason))));
    failed.catch(() => {});
    try {
      const session = await withTimeout(Promise.race([this.#connect(qemu, docker, registry), failed]), options.bootTimeoutMs, () =>
        this.#describeFailure(`the guest's agent did not say hello within ${options.bootTimeoutMs / 1000} s`),
      );
      this.#session = session;
    } catch (error) {
      // The socket closing is only the symptom when QEMU itself died: say why it did.
      const exit = await withTimeout(qemu.exit, 2000, () => '').catch(() => undefined);
      throw exit ? new Error(this.#describeFailure(exit)) : error;
    }
    // The boot ran at full speed; from now on the VM gets its share of the host's CPU.
    await cgroup?.limitCpu(spec.limits.cpus).catch((error: Error) => this.#log('warn', "could not limit the VM's CPU", { error: error.message }));
    this.#serve(qemu, this.#session);
    this.#log('info', 'sandbox ready', { accelerator, memoryMiB, cpus, docker, qemuPid: qemu.pid, cgroup: cgroup?.group, startMs: Date.now() - started });
  }

  /**
   * Takes over a VM that an earlier server process left running: makes its
   * record ours, connects to its agent (which tells its open terminals and
   * replays their recent output) and to its image store channel. A VM that
   * is not running any more is removed and SandboxLostError thrown.
   */
  static async adopt(host: VmHost, spec: SandboxSpec): Promise<VmSandbox> {
    const sandbox = new VmSandbox(host, spec.id);
    const record = await sandbox.dirs.read();
    if (!record) throw new SandboxLostError(`VM ${spec.id} has no state on this host any more`);
    if (record.serverPid !== process.pid && serverIsAlive(record)) {
      // Not ours to take: another live server process runs it (and may share our database by mistake).
      throw new Error(`VM ${spec.id} belongs to server process ${record.serverPid ?? record.ownerPid}, which is still running`);
    }
    // Removed with the VM should it be lost: its cgroup, and the gate it had (with its reader's pushes if it was the last).
    sandbox.#cgroup = QemuCgroup.for(host.options.prefix, spec.id);
    sandbox.#registryOpen = Boolean(record.docker);
    sandbox.#reader = record.reader ?? spec.id;
    try {
      const qemu =
        record.qemuPid !== undefined && record.qemuStart !== undefined
          ? QemuProcess.running(record.qemuPid, record.qemuStart, sandbox.dirs.qemuLog)
          : undefined;
      if (!qemu) throw new SandboxLostError(`VM ${spec.id} stopped while no server ran it${sandbox.#consoleEnd()}`);
      sandbox.#qemu = qemu;
      // Ours from now on: a leftover clean-up by anyone else spares it.
      await sandbox.dirs.write({ ...record, ...thisServer(), recordedIn: spec.recordedIn ?? record.recordedIn });
      const docker = record.docker ?? (host.options.docker && spec.docker);
      const registry = docker ? await sandbox.#openRegistry(record.reader ?? spec.id) : undefined;
      const session = await withTimeout(
        Promise.race([sandbox.#connect(qemu, docker, registry), qemu.exit.then((reason) => Promise.reject(new Error(reason)))]),
        host.options.bootTimeoutMs,
        () => `its agent did not say hello within ${host.options.bootTimeoutMs / 1000} s`,
      );
      sandbox.#session = session;
      sandbox.#serve(qemu, session);
      sandbox.#log('info', 'sandbox adopted', { qemuPid: qemu.pid, terminals: session.openTerminals.map((terminal) => terminal.name) });
      return sandbox;
    } catch (error) {
      await sandbox
        .#tearDown()
        .catch((cleanupError: Error) => sandbox.#log('error', 'cleanup of a VM that could not be adopted failed', { error: cleanupError.message }));
      if (error instanceof SandboxLostError) throw error;
      throw new SandboxLostError(`VM ${spec.id} could not be taken over: ${(error as Error).message}`);
    }
  }

  /**
   * Connects to QEMU's sockets: the image store's channel (with Docker), then
   * the agent's, waiting for its hello. QEMU makes them a moment after it starts.
   */
  async #connect(qemu: QemuProcess, docker: boolean, registry: { dir: string } | undefined): Promise<AgentSession> {
    const { options, accelerator } = this.#host;
    if (docker) {
      // Without a class registry the channel still exists: its streams then fail, as pulls do offline.
      const gate = registry ? join(registry.dir, GATE_SOCKET_NAME) : '/nonexistent/gate.sock';
      this.#registry = await RegistryChannel.connect(this.dirs.registrySocket, gate, this.#log, QEMU_SOCKET_MS);
    }
    const socket = await connectToAgent(this.dirs.socket, QEMU_SOCKET_MS, qemu.exit);
    // Under TCG on a busy host the guest's agent answers in tens of seconds: the namespace driver's 20 s bound would end healthy VMs.
    const session = new AgentSession(socket, options.log, { sandbox: this.id }, undefined, accelerator === 'tcg' ? TCG_AGENT_ANSWER_MS : undefined);
    this.#session = session;
    await session.hello;
    return session;
  }

  /** Ready: terminals may open; from here on a death is news for the owner (before, the start's own error says it). */
  #serve(qemu: QemuProcess, session: AgentSession): void {
    if (!this.#lifecycle.becomeReady()) throw new Error(`VM ${this.id} was destroyed while it started`);
    void qemu.exit.then((reason) => this.#died(reason));
    session.onClose((reason) => void this.#died(`agent gone: ${reason}`));
  }

  #consoleEnd(): string {
    const console = this.dirs.consoleTail(5);
    return console ? `; the guest's console ended with:\n${console}` : '';
  }

  /** Asks the class registry for this VM's gate socket; undefined when the server runs none. */
  async #openRegistry(reader: string): Promise<{ dir: string; namespace: string } | undefined> {
    this.#reader = reader;
    const access = this.#host.options.registry;
    if (!access) return undefined;
    const opened = await access.open({ id: this.id, reader });
    this.#registryOpen = true;
    return opened;
  }

  #describeFailure(reason: string): string {
    const said = this.#qemu?.stderr ?? [];
    const stderr = said.length > 0 ? `\nQEMU said:\n${said.join('\n')}` : '';
    const console = this.dirs.consoleTail();
    return `VM ${this.id} did not start: ${reason}${stderr}${console ? `\nlast lines of the guest's console:\n${console}` : ''}`;
  }

  /** Terminals, root commands and snapshots (AgentBackedSandbox) go to the agent only while the sandbox is ready. */
  protected readyAgent(): AgentSession | undefined {
    return this.#lifecycle.ready ? this.#session : undefined;
  }

  /**
   * What the VM costs the host: QEMU's resident memory and CPU time. `pids`
   * is QEMU's thread count — the guest's own tasks are behind its kernel.
   */
  async usage(): Promise<SandboxUsage> {
    const pid = this.qemuPid;
    if (!pid) return { memoryBytes: 0, cpuSeconds: 0, pids: 0 };
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return {
        memoryBytes: Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024,
        cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND,
        pids: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 0),
      };
    } catch {
      return { memoryBytes: 0, cpuSeconds: 0, pids: 0 }; // gone meanwhile
    }
  }

  onExit(listener: (reason: string) => void): Disposable {
    this.#exitListeners.add(listener);
    return { dispose: () => this.#exitListeners.delete(listener) };
  }

  restoredTerminals(): RestoredTerminal[] {
    return (this.#session?.openTerminals ?? []).map((terminal) => ({ name: terminal.name, size: { ...terminal.size } }));
  }

  /** Lets go of the running VM: QEMU, its files and cgroup stay; the agent keeps its terminals for the next server process. */
  async detach(): Promise<{ kept: boolean }> {
    if (!this.#lifecycle.beginClosing('detach')) {
      await this.#teardown;
      return { kept: this.#lifecycle.closingKind === 'detach' };
    }
    this.#session?.close('the server is restarting');
    this.#registry?.close('the server is restarting');
    if (this.#registryOpen) {
      this.#registryOpen = false;
      await this.#host.options.registry
        ?.close(this.id, { destroyed: false })
        .catch((error: Error) => this.#log('warn', 'registry gate not closed', { error: error.message }));
    }
    this.#lifecycle.finish();
    this.#host.forget(this.id);
    this.#log('info', 'sandbox detached: it keeps running for the next server process', { qemuPid: this.qemuPid });
    return { kept: true };
  }

  destroy(): Promise<void> {
    return this.#tearDown();
  }

  async #died(reason: string): Promise<void> {
    if (!this.#lifecycle.ready) return; // we are the ones ending it
    const misbehaved = isMisbehaviour(reason);
    const console = misbehaved ? '' : this.dirs.consoleTail(5);
    const why = console ? `${reason}; the guest's console ended with:\n${console}` : reason;
    // Told at once, before any clean-up: readers hear that the machine died (or
    // was ended for misbehaving), not that each shell exited.
    for (const listener of this.#exitListeners) listener(why);
    this.#exitListeners.clear();
    this.#log('warn', misbehaved ? 'sandbox ended for misbehaving' : 'sandbox died', { reason: why });
    await this.#tearDown().catch((error: Error) => this.#log('error', 'cleanup of a dead VM failed', { error: error.message }));
  }

  #tearDown(): Promise<void> {
    if (!this.#teardown) {
      // Before anything runs: closing the session calls #died synchronously, which must see it.
      if (!this.#lifecycle.beginClosing('destroy') && this.#lifecycle.closingKind === 'detach') return Promise.resolve(); // not ours to remove
      this.#teardown = this.#removeEverything().finally(() => this.#lifecycle.finish());
    }
    return this.#teardown;
  }

  async #removeEverything(): Promise<void> {
    const started = Date.now();
    const problems: string[] = [];
    this.#session?.close('sandbox destroyed');
    this.#registry?.close();
    const qemuPid = this.#qemu?.pid;
    if (this.#qemu && !(await this.#qemu.kill())) problems.push(`QEMU (pid ${qemuPid}) survived SIGKILL`);
    if (this.#cgroup) {
      try {
        await this.#cgroup.remove();
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
    if (this.#registryOpen) {
      this.#registryOpen = false;
      // Its gate goes for good, and its reader's pushes with their last machine.
      await this.#host.options.registry
        ?.close(this.id, { destroyed: true, reader: this.#reader })
        .catch((error: Error) => problems.push(`registry gate: ${error.message}`));
    }
    try {
      await this.dirs.remove();
    } catch (error) {
      problems.push(`remove ${this.dirs.root}: ${(error as Error).message}`);
    }
    this.#host.forget(this.id);
    if (problems.length > 0) {
      this.#log('error', 'VM not fully removed', { problems });
      throw new Error(`VM ${this.id} not fully removed: ${problems.join('; ')}`);
    }
    this.#log('info', 'sandbox destroyed', { destroyMs: Date.now() - started });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
