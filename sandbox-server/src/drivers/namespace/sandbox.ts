// One namespace sandbox: started by `crun run` from an OCI bundle, driven
// through its agent, torn down completely.
import type { ProcessSnapshot } from '../../../../contracts/process-snapshot.ts';
import { chown, mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { isMisbehaviour, type Disposable, type Sandbox, type SandboxSpec, type SandboxUsage, type TerminalSize, type TerminalStream } from '../driver.ts';
import { SANDBOX_PATHS, agentFiles } from '../../rootfs/agent-files.ts';
import { AgentSession } from '../agent-session.ts';
import { SANDBOX_REGISTRY } from '../../images/paths.ts';
import { MachineLog } from '../machine-log.ts';
import { readLines } from '../machine-lines.ts';
import { SandboxCgroups, removeParentIfEmpty } from './cgroups.ts';
import { createDockerDisk, dockerDiskPath, removeDockerDisk } from './docker-disk.ts';
import { sandboxConfig } from './oci-config.ts';
import type { ResolvedOptions } from './options.ts';
import type { Runtime } from './runtime.ts';
import { SandboxDirs, processStartTime } from './sandbox-state.ts';
import type { ExecDone } from '../../../../contracts/agent-protocol.ts';
import type { UidRange, UidRanges } from './uid-ranges.ts';

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

/** The user every terminal runs as; the root filesystem's recipe creates it. */
const COURSE_USER = 'student';

export class NamespaceSandbox implements Sandbox {
  readonly id: string;
  readonly containerId: string;
  readonly uidRange: UidRange;
  #host: SandboxHost;
  #dirs: SandboxDirs;
  #cgroups: SandboxCgroups;
  #session: AgentSession | undefined;
  #listener: net.Server | undefined;
  #exitListeners = new Set<(reason: string) => void>();
  #teardown: Promise<void> | undefined;
  /** Set before the first step of teardown, so its own closing of the agent is not taken for a death. */
  #stopping = false;
  #log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /** What the machine itself says (its output, its agent's records): rate-limited, never a record of its own. */
  #machineLog: MachineLog;

  private constructor(host: SandboxHost, id: string, uidRange: UidRange) {
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
  static async start(host: SandboxHost, spec: SandboxSpec): Promise<NamespaceSandbox> {
    const uidRange = await host.uidRanges.allocate(spec.id);
    const sandbox = new NamespaceSandbox(host, spec.id, uidRange);
    try {
      await sandbox.#start(spec);
      return sandbox;
    } catch (error) {
      await sandbox.#tearDown().catch((cleanupError: Error) =>
        sandbox.#log('error', 'cleanup after a failed start failed too', { error: cleanupError.message }),
      );
      throw error;
    }
  }

  async #start(spec: SandboxSpec): Promise<void> {
    const { options } = this.#host;
    const started = Date.now();
    const base = this.uidRange.base;
    await this.#dirs.create({
      id: this.id,
      containerId: this.containerId,
      uidIndex: this.uidRange.index,
      uidBase: base,
      ownerPid: process.pid,
      ownerStart: processStartTime(process.pid) ?? 0,
      createdAt: new Date().toISOString(),
    });
    // Only the sandbox's root may reach the agent's socket.
    await chown(this.#dirs.run, base, base);
    const session = this.#listen();
    session.catch(() => {}); // awaited below, unless the start fails earlier
    await this.#cgroups.createDelegated(base);

    const docker = options.docker && spec.docker;
    const dockerDisk = docker ? dockerDiskPath(options.dockerDiskDir, this.id) : undefined;
    if (dockerDisk) await createDockerDisk(dockerDisk, options.dockerDiskBytes, base);
    if (docker) await mkdir(options.registryGateDir, { recursive: true, mode: 0o755 });
    const config = sandboxConfig({
      hostname: options.hostname,
      uidBase: base,
      idCount: this.uidRange.count,
      limits: spec.limits,
      cgroupPath: this.#cgroups.path,
      holdPids: options.holdPids,
      agent: {
        transport: `unix:${SANDBOX_PATHS.socket}`,
        hostname: options.hostname,
        docker,
        user: COURSE_USER,
        terminalPidsMax: spec.limits.pids - options.holdPids - options.reservedPids,
        writeIdentity: true,
      },
      binds: [
        ...agentFiles({ nodePath: options.nodePath, initPath: this.#host.initPath, agentDir: this.#host.agentDir }),
        { source: this.#dirs.run, target: SANDBOX_PATHS.runDir, readonly: false },
        // The class image store's gate (pulls only); the directory exists even before the store starts.
        ...(docker ? [{ source: options.registryGateDir, target: SANDBOX_REGISTRY.dir, readonly: true }] : []),
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
    });
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
    const ready = (async () => {
      const agent = await session;
      await agent.hello;
      return agent;
    })();
    ready.catch(() => {}); // the race below reports whichever fails first
    const agent = await withTimeout(Promise.race([ready, stopped]), options.startTimeoutMs, () =>
      `the sandbox's agent was not ready within ${options.startTimeoutMs} ms${describeOutput(earlyOutput)}`,
    );
    this.#session = agent;
    agent.onClose((reason) => void this.#died(reason));
    this.#log('info', 'sandbox ready', { uidBase: base, docker, startMs: Date.now() - started });
  }

  /** Listens on the socket the agent will connect to; resolves with the session of the first (only) connection. */
  #listen(): Promise<AgentSession> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((socket) => {
        // One agent per sandbox: later connections (root inside playing) are refused.
        server.close();
        resolve(new AgentSession(socket, this.#host.options.log, { sandbox: this.id }, this.#machineLog));
      });
      this.#listener = server;
      server.on('error', (error) => {
        this.#log('warn', 'agent socket error', { error: error.message });
        reject(error);
      });
      server.listen(this.#dirs.socket, () => {
        chown(this.#dirs.socket, this.uidRange.base, this.uidRange.base).catch(reject);
      });
    });
  }

  openTerminal(name: string, size: TerminalSize): Promise<TerminalStream> {
    if (!this.#session || this.#stopping) return Promise.reject(new Error(`sandbox ${this.id} is not running`));
    return this.#session.openTerminal(name, size);
  }

  /**
   * Runs `argv` as root inside the sandbox, without a terminal, and returns
   * its exit and output (64 KiB of each stream at most): the classroom's
   * exercise checks.
   */
  exec(argv: readonly string[], options: { timeoutMs?: number } = {}): Promise<ExecResult> {
    if (!this.#session || this.#stopping) return Promise.reject(new Error(`sandbox ${this.id} is not running`));
    return this.#session.exec(argv, options.timeoutMs ?? 30_000);
  }

  processSnapshot(maxProcesses: number): Promise<ProcessSnapshot> {
    if (!this.#session || this.#stopping) return Promise.reject(new Error(`sandbox ${this.id} is not running`));
    return this.#session.snapshot(maxProcesses);
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

  async #died(reason: string): Promise<void> {
    if (this.#stopping) return; // we are the ones ending it
    if (isMisbehaviour(reason)) {
      // Ended by the host for what root inside did: said at once, so that readers hear it before their shells end.
      this.#log('warn', 'sandbox ended for misbehaving', { reason });
      for (const listener of this.#exitListeners) listener(reason);
      this.#exitListeners.clear();
      await this.#tearDown().catch((error: Error) => this.#log('error', 'cleanup of an ended sandbox failed', { error: error.message }));
      return;
    }
    const oomKills = await this.#cgroups.oomKills();
    const why = oomKills > 0 ? `${reason}; the memory limit was hit (${oomKills} OOM kills)` : reason;
    this.#log('warn', 'sandbox died', { reason: why });
    await this.#tearDown().catch((error: Error) => this.#log('error', 'cleanup of a dead sandbox failed', { error: error.message }));
    for (const listener of this.#exitListeners) listener(why);
    this.#exitListeners.clear();
  }

  #tearDown(): Promise<void> {
    if (!this.#teardown) {
      this.#stopping = true;
      this.#teardown = this.#removeEverything();
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
    this.#listener?.close();
    const runtime = this.#host.runtime;
    const known = (await runtime.list().catch(() => [])).some((container) => container.id === this.containerId);
    if (known) await attempt('crun kill', () => runtime.kill(this.containerId));
    // Whatever crun did not reach (nothing, normally): every task of the cgroups.
    await attempt('kill tasks', async () => {
      if (!(await this.#cgroups.killAll())) throw new Error('tasks survived SIGKILL for 5 s');
    });
    if (known) await attempt('crun delete', () => runtime.delete(this.containerId));
    await attempt('remove Docker disk', () => removeDockerDisk(dockerDiskPath(this.#host.options.dockerDiskDir, this.id)));
    await attempt('remove cgroups', () => this.#cgroups.remove());
    await removeParentIfEmpty(this.#host.options.prefix);
    await attempt('remove state directory', () => this.#dirs.remove());
    await attempt('release uid range', () => this.#host.uidRanges.release(this.uidRange.index, this.id));
    this.#host.forget(this.id);
    this.#machineLog.flush();
    if (problems.length > 0) {
      this.#log('error', 'sandbox not fully removed', { problems });
      throw new Error(`sandbox ${this.id} not fully removed: ${problems.join('; ')}`);
    }
    this.#log('info', 'sandbox destroyed', { destroyMs: Date.now() - started });
  }
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
