// A lab of VMs: several machines of one reader (node1, node2…), each a whole
// VmSandbox, started and ended together on a private Ethernet of their own.
//
// The network is the namespace driver's kind (namespace/lab-network.ts): a
// network namespace of the lab's own holding a bridge, with no link, address
// or route to the host's. Each machine's QEMU is started inside that
// namespace, on a tap device plugged into the bridge; the guest sees a
// virtio NIC with the address the host chose (vm/boot.sh). So a machine
// reaches its lab's other machines and nothing else: not the host, not
// another lab, not the outside. No multicast, no host port, no userspace
// switch: the kernel's bridge forwards, and nothing filters on it (Swarm's
// 2377/tcp, 7946/tcp+udp and 4789/udp pass like the rest).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ProcessSnapshot } from '../../../../contracts/process-snapshot.ts';
import type { Disposable, ExecResult, LabMachine, RestoredTerminal, Sandbox, SandboxSpec, SandboxUsage, TerminalSize, TerminalStream } from '../driver.ts';
import { LabNetwork, labAddress } from '../namespace/lab-network.ts';
import type { LogSink } from './options.ts';
import { VmSandbox, type VmHost } from './vm-sandbox.ts';

const run = promisify(execFile);
/** The lab bridge's name inside the lab's namespace (namespace/lab-network.ts makes it). */
const BRIDGE = 'lab0';

/** The id of machine number `index` of lab `labId` (names its directory, cgroup and QEMU process). */
export function vmLabMachineId(labId: string, index: number): string {
  return `${labId}-${index}`;
}

/** A locally administered, unicast MAC, distinct per machine of a lab (the bridge learns by it). */
function macOf(subnet: string, index: number): string {
  const third = Number(subnet.split('.')[2] ?? 0);
  return `52:54:00:${(third & 0xff).toString(16).padStart(2, '0')}:00:${(index + 1).toString(16).padStart(2, '0')}`;
}

async function ipIn(netns: string, args: string[]): Promise<void> {
  try {
    await run('ip', ['-n', netns, ...args]);
  } catch (error) {
    const stderr = ((error as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`ip -n ${netns} ${args.join(' ')} failed: ${stderr || (error as Error).message}`);
  }
}

export class VmLab implements Sandbox {
  readonly id: string;
  readonly machines: readonly LabMachine[];
  readonly #members: readonly VmSandbox[];
  readonly #network: LabNetwork;
  readonly #log: LogSink;
  #exitListeners = new Set<(reason: string) => void>();
  #teardown: Promise<void> | undefined;

  private constructor(id: string, machines: LabMachine[], members: VmSandbox[], network: LabNetwork, log: LogSink) {
    this.id = id;
    this.machines = machines;
    this.#members = members;
    this.#network = network;
    this.#log = log;
    members.forEach((member, index) => {
      member.onExit((reason) => {
        if (this.#teardown) return;
        const why = `machine ${machines[index]!.name}: ${reason}`;
        for (const listener of this.#exitListeners) listener(why);
        this.#exitListeners.clear();
        void this.destroy().catch((error: Error) =>
          log({ level: 'error', msg: 'cleanup of a VM lab after a machine died failed', sandbox: id, error: error.message }),
        );
      });
    });
  }

  /** Boots every machine of the lab on its network; resolves when all are ready. Leaves nothing behind on failure. */
  static async start(host: VmHost, spec: SandboxSpec & { machines: readonly string[] }, subnet: string): Promise<VmLab> {
    const { prefix, log } = host.options;
    const started = Date.now();
    const network = await LabNetwork.create(prefix, spec.id, subnet);
    const hosts = spec.machines.map((name, index) => ({ name, address: labAddress(subnet, index) }));
    const members: VmSandbox[] = [];
    try {
      // Taps first, all of them: made by root, on the bridge, before any QEMU opens one.
      for (const index of spec.machines.keys()) {
        await ipIn(network.netns, ['tuntap', 'add', 'dev', `tap${index}`, 'mode', 'tap']);
        await ipIn(network.netns, ['link', 'set', `tap${index}`, 'master', BRIDGE, 'up']);
      }
      const outcomes = await Promise.allSettled(
        spec.machines.map((name, index) =>
          VmSandbox.start(
            host,
            { id: vmLabMachineId(spec.id, index), limits: spec.limits, docker: spec.docker },
            {
              hostname: name,
              hosts,
              netns: network.netns,
              reader: spec.id,
              nic: { tap: `tap${index}`, mac: macOf(subnet, index), address: `${hosts[index]!.address}/24` },
            },
          ),
        ),
      );
      for (const outcome of outcomes) if (outcome.status === 'fulfilled') members.push(outcome.value);
      const failed = outcomes.find((outcome) => outcome.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (error) {
      await Promise.allSettled(members.map((member) => member.destroy()));
      await network
        .remove()
        .catch((removeError: Error) =>
          log({ level: 'error', msg: 'VM lab network not removed after a failed start', sandbox: spec.id, error: removeError.message }),
        );
      throw error;
    }
    log({ level: 'info', msg: 'lab ready', sandbox: spec.id, machines: hosts, startMs: Date.now() - started });
    return new VmLab(spec.id, hosts, members, network, log);
  }

  /** The VM of machine `name`. */
  machine(name: string): VmSandbox | undefined {
    const index = this.machines.findIndex((machine) => machine.name === name);
    return index < 0 ? undefined : this.#members[index];
  }

  get members(): readonly VmSandbox[] {
    return this.#members;
  }

  get netns(): string {
    return this.#network.netns;
  }

  get #first(): VmSandbox {
    return this.#members[0]!;
  }

  openTerminal(name: string, size: TerminalSize): Promise<TerminalStream> {
    return this.#first.openTerminal(name, size);
  }

  exec(argv: readonly string[], options?: { timeoutMs?: number }): Promise<ExecResult> {
    return this.#first.exec(argv, options);
  }

  processSnapshot(maxProcesses: number): Promise<ProcessSnapshot> {
    return this.#first.processSnapshot(maxProcesses);
  }

  /** The lab's QEMU processes together. */
  async usage(): Promise<SandboxUsage> {
    const all = await Promise.all(this.#members.map((member) => member.usage()));
    return all.reduce((sum, usage) => ({
      memoryBytes: sum.memoryBytes + usage.memoryBytes,
      cpuSeconds: sum.cpuSeconds + usage.cpuSeconds,
      pids: sum.pids + usage.pids,
    }));
  }

  restoredTerminals(): RestoredTerminal[] {
    return [];
  }

  /** VMs end with their server (VmDriver.adopt): a lab of them too. */
  async detach(): Promise<{ kept: boolean }> {
    await this.destroy();
    return { kept: false };
  }

  onExit(listener: (reason: string) => void): Disposable {
    this.#exitListeners.add(listener);
    return { dispose: () => this.#exitListeners.delete(listener) };
  }

  destroy(): Promise<void> {
    this.#teardown ??= this.#removeEverything();
    return this.#teardown;
  }

  async #removeEverything(): Promise<void> {
    const started = Date.now();
    const outcomes = await Promise.allSettled(this.#members.map((member) => member.destroy()));
    const problems = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [(outcome.reason as Error).message] : []));
    // After the QEMUs: the taps and the bridge go with the namespace.
    await this.#network.remove().catch((error: Error) => problems.push(`lab network: ${error.message}`));
    if (problems.length > 0) throw new Error(`lab ${this.id} not fully removed: ${problems.join('; ')}`);
    this.#log({ level: 'info', msg: 'lab destroyed', sandbox: this.id, destroyMs: Date.now() - started });
  }
}
