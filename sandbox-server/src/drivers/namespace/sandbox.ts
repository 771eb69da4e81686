// One namespace sandbox: started by `crun run` from an OCI bundle, driven
// through its agent, torn down completely — or let go (detach) and taken over
// again by the next server process (adopt), with its shells still running.
//
// The agent listens on a socket in the sandbox's run directory (bind-mounted
// from the host); the server connects to it. Nothing ties the machine to the
// server process: crun runs it detached in cgroups of its own, and its output
// pipes only carry log lines (the agent ignores a pipe whose reader is gone).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  OUT_OF_MEMORY,
  SandboxLostError,
  isMisbehaviour,
  type Disposable,
  type RestoredTerminal,
  type Sandbox,
  type SandboxSpec,
  type SandboxUsage,
} from '../driver.ts';
import { SANDBOX_PATHS, agentFiles } from '../../rootfs/agent-files.ts';
import { AgentSession } from '../agent-session.ts';
import { SANDBOX_REGISTRY } from '../../images/paths.ts';
import { connectToAgent } from '../agent-socket.ts';
import { AgentBackedSandbox } from '../agent-backed-sandbox.ts';
import { Lifecycle } from '../lifecycle.ts';
import { MachineLog } from '../machine-log.ts';
import { readLines } from '../machine-lines.ts';
import { MEMORY_CGROUP_IDS, SandboxCgroups, memoryCgroupCensus, memoryCgroupCount, removeParentIfEmpty } from './cgroups.ts';
import { createDockerDisk, dockerDiskPath, removeDockerDisk } from './docker-disk.ts';
import { sandboxConfig } from './oci-config.ts';
import type { ResolvedOptions } from './options.ts';
import type { Runtime } from './runtime.ts';
import { SandboxDirs, processStartTime, readRecord, serverIsAlive, thisServer, type SandboxRecord } from './sandbox-state.ts';
import type { ExecDone, LabHost } from '../../../../contracts/agent-protocol.ts';
import { IDS_PER_SANDBOX, type UidRange, type UidRanges } from './uid-ranges.ts';

export interface SandboxHost {
  options: ResolvedOptions;
  runtime: Runtime;
  uidRanges: UidRanges;
  rootfs: string;
  initPath: string;
  /** The agent's JavaScript build (rootfs/agent-build.ts). */
  agentDir: string;
  /** Called once the sandbox is gone for good (destroyed or dead and cleaned). */
  forget(id: string): void;
}

export type ExecResult = ExecDone;

/** How a machine of a lab differs from a lone one (lab.ts): its name, its lab's hosts, its way onto the lab's network. */
export interface LabMembership {
  hostname: string;
  hosts: LabHost[];
  /** The lab's id: its machines are one reader, with one namespace in the class registry. */
  reader: string;
  /** Plugs the machine, whose init is `pid` and whose base host uid is `uid`, into the lab's network (before the reader's first prompt). */
  join(pid: number, uid: number): Promise<void>;
}

/** The user every terminal runs as; the root filesystem's recipe creates it. */
const COURSE_USER = 'student';

export class NamespaceSandbox extends AgentBackedSandbox implements Sandbox {
  readonly id: string;
  readonly containerId: string;
  readonly uidRange: UidRange;
  #host: SandboxHost;
  #dirs: SandboxDirs;
  #cgroups: SandboxCgroups;
  #session: AgentSession | undefined;
  #exitListeners = new Set<(reason: string) => void>();
  #teardown: Promise<void> | undefined;
  /** Whether the class registry serves this machine (a socket of its own: close it when done). */
  #registryOpen = false;
  readonly #lifecycle = new Lifecycle();
  #log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /** What the machine itself says (its output, its agent's records): rate-limited, never a record of its own. */
  #machineLog: MachineLog;

  private constructor(host: SandboxHost, id: string, uidRange: UidRange) {
    super();
    this.id = id;
    this.containerId = `${host.options.prefix}-${id}`;
    this.uidRange = uidRange;
    this.#host = host;
    this.#dirs = new SandboxDirs(host.options.stateDir, id);
    this.#cgroups = new SandboxCgroups(`${host.options.prefix}/${id}`);
    this.#log = (level, msg, fields = {}) => host.options.log({ level, msg, sandbox: id, ...fields });
    this.#machineLog = new MachineLog(host.options.log, { sandbox: id });
  }

  /** Starts a sandbox; resolves once its agent is ready for terminals. Leaves nothing behind on failure. */
  static async start(host: SandboxHost, spec: SandboxSpec, lab?: LabMembership): Promise<NamespaceSandbox> {
    const uidRange = await host.uidRanges.allocate(spec.id);
    const sandbox = new NamespaceSandbox(host, spec.id, uidRange);
    try {
      await sandbox.#start(spec, lab);
      return sandbox;
    } catch (error) {
      await sandbox
        .#tearDown()
        .catch((cleanupError: Error) => sandbox.#log('error', 'cleanup after a failed start failed too', { error: cleanupError.message }));
      throw error;
    }
  }

  async #start(spec: SandboxSpec, lab: LabMembership | undefined): Promise<void> {
    const { options } = this.#host;
    const hostname = lab?.hostname ?? options.hostname;
    const started = Date.now();
    const base = this.uidRange.base;
    const record: SandboxRecord = {
      id: this.id,
      containerId: this.containerId,
      uidIndex: this.uidRange.index,
      uidBase: base,
      ownerPid: process.pid,
      ownerStart: processStartTime(process.pid) ?? 0,
      createdAt: new Date().toISOString(),
      recordedIn: spec.recordedIn,
      reader: lab?.reader ?? this.id,
    };
    await this.#dirs.create(record);
    // The agent makes its socket there, as the sandbox's root: a tiny tmpfs of its own, whatever root inside writes.
    await this.#dirs.mountRun(base);
    await this.#cgroups.createDelegated(base);

    const docker = options.docker && spec.docker;
    const dockerDisk = docker ? dockerDiskPath(options.dockerDiskDir, this.id) : undefined;
    if (dockerDisk) await createDockerDisk(dockerDisk, options.dockerDiskBytes, base);
    const registry = docker ? await this.#openRegistry(record.reader ?? this.id) : undefined;
    const userNamespace = join(this.#dirs.bundle, 'userns');
    const config = sandboxConfig({
      hostname,
      userNamespacePath: userNamespace,
      limits: spec.limits,
      cgroupPath: this.#cgroups.path,
      holdPids: options.holdPids,
      agent: {
        transport: `listen:${SANDBOX_PATHS.socket}`,
        hostname,
        ...(lab ? { hosts: lab.hosts } : {}),
        docker,
        user: COURSE_USER,
        terminalPidsMax: spec.limits.pids - options.holdPids - options.reservedPids,
        writeIdentity: true,
        ...(registry ? { registryNamespace: registry.namespace } : {}),
      },
      binds: [
        ...agentFiles({ nodePath: options.nodePath, initPath: this.#host.initPath, agentDir: this.#host.agentDir }),
        { source: this.#dirs.run, target: SANDBOX_PATHS.runDir, readonly: false },
        // The class image store's gate for this machine alone (the directory exists even before the store starts).
        ...(registry ? [{ source: registry.dir, target: SANDBOX_REGISTRY.dir, readonly: true }] : []),
      ],
      dockerDir: join(this.#dirs.bundle, 'layer', 'docker'),
    });
    await writeFile(join(this.#dirs.bundle, 'config.json'), JSON.stringify(config, null, 2));

    const { output } = await this.#host.runtime.run(this.containerId, this.#dirs.bundle, {
      lower: this.#host.rootfs,
      uidBase: base,
      idCount: this.uidRange.count,
      layerBytes: spec.limits.diskBytes,
      dockerDisk,
      userNamespace,
    });
    // From now on the record follows the sandbox's init, not this process (see sandbox-state.ts).
    const init = (await this.#host.runtime.list()).find((container) => container.id === this.containerId)?.pid;
    const initStart = init ? processStartTime(init) : undefined;
    if (init && initStart !== undefined) await this.#dirs.writeRecord({ ...record, ownerPid: init, ownerStart: initStart, ...thisServer() });
    if (lab) await lab.join(await this.#host.runtime.pid(this.containerId), base);
    const earlyOutput: string[] = [];
    // Hostile bytes: bounded lines, read at a bounded pace, logged within the machine's budget.
    const lines = readLines(output, ({ text, cutBytes }) => {
      if (earlyOutput.length < 50) earlyOutput.push(text.slice(0, 300));
      this.#machineLog.write('info', 'sandbox output', cutBytes > 0 ? { line: text, cutBytes } : { line: text });
    });
    // The output ends when init and the agent are gone: no point waiting for a hello then.
    const stopped = lines.closed.then(() => {
      throw new Error(`the sandbox stopped before its agent was ready${describeOutput(earlyOutput)}`);
    });
    stopped.catch(() => {});
    const ready = this.#connect(options.startTimeoutMs, stopped);
    ready.catch(() => {}); // the race below reports whichever fails first
    const agent = await withTimeout(
      Promise.race([ready, stopped]),
      options.startTimeoutMs,
      () => `the sandbox's agent was not ready within ${options.startTimeoutMs} ms${describeOutput(earlyOutput)}`,
    );
    this.#serve(agent);
    this.#log('info', 'sandbox ready', { uidBase: base, docker, startMs: Date.now() - started });
  }

  /**
   * Takes over a sandbox that an earlier server process left running: makes
   * its record ours, reconnects to its agent and gets its open terminals back.
   * A sandbox that is not running any more is removed and SandboxLostError thrown.
   */
  static async adopt(host: SandboxHost, spec: SandboxSpec): Promise<NamespaceSandbox> {
    const dirs = new SandboxDirs(host.options.stateDir, spec.id);
    const record = await readRecord(dirs);
    if (!record) throw new SandboxLostError(`sandbox ${spec.id} has no state on this host any more`);
    if (record.serverPid !== process.pid && serverIsAlive(record)) {
      // Not ours to take: another live server process runs it (and may share our database by mistake).
      throw new Error(`sandbox ${spec.id} belongs to server process ${record.serverPid ?? record.ownerPid}, which is still running`);
    }
    const sandbox = new NamespaceSandbox(host, spec.id, { index: record.uidIndex, base: record.uidBase, count: IDS_PER_SANDBOX });
    try {
      const running = (await host.runtime.list()).find((container) => container.id === sandbox.containerId);
      if (running?.status !== 'running')
        throw new SandboxLostError(`sandbox ${spec.id} stopped while no server ran it (crun: ${running?.status ?? 'no such container'})`);
      // Ours from now on: a leftover clean-up by anyone else spares it.
      const init = running.pid;
      await dirs.writeRecord({
        ...record,
        ownerPid: init,
        ownerStart: processStartTime(init) ?? 0,
        ...thisServer(),
        recordedIn: spec.recordedIn ?? record.recordedIn,
      });
      if (host.options.docker && spec.docker) await sandbox.#openRegistry(record.reader ?? spec.id);
      const agent = await sandbox.#connect(host.options.startTimeoutMs);
      sandbox.#serve(agent);
      sandbox.#log('info', 'sandbox adopted', { terminals: agent.openTerminals.map((terminal) => terminal.name) });
      return sandbox;
    } catch (error) {
      await sandbox
        .#tearDown()
        .catch((cleanupError: Error) => sandbox.#log('error', 'cleanup of a sandbox that could not be adopted failed', { error: cleanupError.message }));
      if (error instanceof SandboxLostError) throw error;
      throw new SandboxLostError(`sandbox ${spec.id} could not be taken over: ${(error as Error).message}`);
    }
  }

  /** Asks the class registry for this machine's socket (same directory on adopt: the running machine has it bound). */
  async #openRegistry(reader: string): Promise<{ dir: string; namespace: string } | undefined> {
    const registry = this.#host.options.registry;
    if (!registry) return undefined;
    const opened = await registry.open({ id: this.id, reader });
    this.#registryOpen = true;
    return opened;
  }

  async #closeRegistry(destroyed: boolean): Promise<void> {
    if (!this.#registryOpen) return;
    this.#registryOpen = false;
    await this.#host.options.registry?.close(this.id, { destroyed });
  }

  /** Connects to the agent's socket (waiting for it to appear) and waits for its hello. */
  async #connect(timeoutMs: number, stopped?: Promise<unknown>): Promise<AgentSession> {
    const socket = await connectToAgent(this.#dirs.socket, timeoutMs, stopped);
    const session = new AgentSession(socket, this.#host.options.log, { sandbox: this.id }, this.#machineLog);
    try {
      await withTimeout(session.hello, timeoutMs, () => `the agent did not say hello within ${timeoutMs} ms`);
    } catch (error) {
      session.close('no hello');
      throw error;
    }
    return session;
  }

  #serve(agent: AgentSession): void {
    if (!this.#lifecycle.becomeReady()) {
      agent.close('the sandbox is closing');
      return;
    }
    this.#session = agent;
    agent.onClose((reason) => void this.#died(reason));
  }

  restoredTerminals(): RestoredTerminal[] {
    return (this.#session?.openTerminals ?? []).map((terminal) => ({ name: terminal.name, size: { ...terminal.size } }));
  }

  /** Terminals, root commands and snapshots (AgentBackedSandbox) go to the agent only while the sandbox is ready. */
  protected readyAgent(): AgentSession | undefined {
    return this.#lifecycle.ready ? this.#session : undefined;
  }

  async usage(): Promise<SandboxUsage> {
    return this.#cgroups.usage();
  }

  onExit(listener: (reason: string) => void): Disposable {
    this.#exitListeners.add(listener);
    return { dispose: () => this.#exitListeners.delete(listener) };
  }

  destroy(): Promise<void> {
    return this.#tearDown();
  }

  /** Lets go of the running sandbox: the agent keeps its terminals for the next server process. */
  async detach(): Promise<{ kept: boolean }> {
    if (!this.#lifecycle.beginClosing('detach')) {
      await this.#teardown;
      return { kept: this.#lifecycle.closingKind === 'detach' };
    }
    this.#session?.close('the server is restarting');
    await this.#closeRegistry(false).catch((error: Error) => this.#log('warn', 'registry gate not closed', { error: error.message }));
    this.#lifecycle.finish();
    this.#host.forget(this.id);
    this.#log('info', 'sandbox detached: it keeps running for the next server process');
    return { kept: true };
  }

  async #died(reason: string): Promise<void> {
    if (!this.#lifecycle.ready) return; // we are the ones ending it
    // Told at once, before any clean-up: readers hear that the machine died (or
    // was ended for misbehaving, or ran out of memory), not that each shell exited.
    const oomKillsAtDeath = isMisbehaviour(reason) ? 0 : this.#cgroups.oomKillsNow();
    const told = oomKillsAtDeath > 0 ? `${OUT_OF_MEMORY} (${oomKillsAtDeath} OOM kills): ${reason}` : reason;
    for (const listener of this.#exitListeners) listener(told);
    this.#exitListeners.clear();
    if (isMisbehaviour(reason)) {
      this.#log('warn', 'sandbox ended for misbehaving', { reason });
      await this.#tearDown().catch((error: Error) => this.#log('error', 'cleanup of an ended sandbox failed', { error: error.message }));
      return;
    }
    const oomKills = await this.#cgroups.oomKills();
    const why = oomKills > 0 ? `${reason}; the memory limit was hit (${oomKills} OOM kills)` : reason;
    this.#log('warn', 'sandbox died', { reason: why });
    await this.#tearDown().catch((error: Error) => this.#log('error', 'cleanup of a dead sandbox failed', { error: error.message }));
  }

  #tearDown(): Promise<void> {
    if (!this.#teardown) {
      if (!this.#lifecycle.beginClosing('destroy')) return Promise.resolve(); // detached: not ours to remove
      this.#teardown = this.#removeEverything().finally(() => this.#lifecycle.finish());
    }
    return this.#teardown;
  }

  async #removeEverything(): Promise<void> {
    const started = Date.now();
    const problems: string[] = [];
    const attempt = async (step: string, action: () => Promise<unknown>) => {
      try {
        await action();
      } catch (error) {
        problems.push(`${step}: ${(error as Error).message}`);
      }
    };
    this.#session?.close('sandbox destroyed');
    const runtime = this.#host.runtime;
    const known = (await runtime.list().catch(() => [])).some((container) => container.id === this.containerId);
    if (known) await attempt('crun kill', () => runtime.kill(this.containerId));
    // Whatever crun did not reach (nothing, normally): every task of the cgroups.
    await attempt('kill tasks', async () => {
      if (!(await this.#cgroups.killAll())) throw new Error('tasks survived SIGKILL for 5 s');
    });
    if (known) await attempt('crun delete', () => runtime.delete(this.containerId));
    // Its gate socket and directory; its reader's pushed images too when it was their last machine.
    await attempt('close registry gate', () => this.#closeRegistry(true));
    await attempt('remove Docker disk', () => removeDockerDisk(dockerDiskPath(this.#host.options.dockerDiskDir, this.id)));
    let memoryLeftBytes = 0;
    await attempt('remove cgroups', async () => {
      ({ memoryLeftBytes } = await this.#cgroups.remove());
    });
    await removeParentIfEmpty(this.#host.options.prefix);
    await attempt('remove state directory', () => this.#dirs.remove());
    await attempt('release uid range', () => this.#host.uidRanges.release(this.uidRange.index, this.id));
    this.#host.forget(this.id);
    this.#machineLog.flush();
    if (problems.length > 0) {
      this.#log('error', 'sandbox not fully removed', { problems });
      throw new Error(`sandbox ${this.id} not fully removed: ${problems.join('; ')}`);
    }
    this.#log('info', 'sandbox destroyed', { destroyMs: Date.now() - started, memoryLeftBytes });
    await warnIfMemoryCgroupsRunOut(this.#log);
  }
}

/** Says so in the log when dying memory cgroups pile up toward the kernel's limit (checked after each teardown). */
async function warnIfMemoryCgroupsRunOut(log: (level: 'warn', msg: string, fields: Record<string, unknown>) => void): Promise<void> {
  // /proc/cgroups is one small read; the census (a walk of the hierarchy) only when it matters.
  if ((await memoryCgroupCount()) <= MEMORY_CGROUP_IDS * 0.8) return;
  log('warn', "memory cgroups near the kernel's limit: new sandboxes will soon fail", { ...(await memoryCgroupCensus()), limit: MEMORY_CGROUP_IDS });
}

function describeOutput(lines: string[]): string {
  return lines.length > 0 ? `; it printed:\n${lines.join('\n')}` : '';
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
