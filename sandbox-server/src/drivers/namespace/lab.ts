// A lab: several machines of one reader (node1, node2, node3…), started and
// ended together, on a private network of their own (lab-network.ts). Each
// machine is a whole namespace sandbox with its own uid range, cgroups, disk
// and Docker; the lab adds its name, the others' names in /etc/hosts and an
// eth0 on the lab's bridge. Seen from the server, a lab is one Sandbox whose
// terminals, exec and snapshot mean its first machine; machine(name) gives
// the others.
import type { ProcessSnapshot } from '../../../../contracts/process-snapshot.ts';
import type { Disposable, ExecResult, LabMachine, RestoredTerminal, Sandbox, SandboxSpec, SandboxUsage, TerminalSize, TerminalStream } from '../driver.ts';
import { LabNetwork, labAddress } from './lab-network.ts';
import type { LogSink } from './options.ts';
import { NamespaceSandbox, type SandboxHost } from './sandbox.ts';

/** The id of machine number `index` of lab `labId` (names host-side resources: see names.ts's MACHINE_ID_PATTERN). */
export function labMachineId(labId: string, index: number): string {
  return `${labId}-${index}`;
}

export class NamespaceLab implements Sandbox {
  readonly id: string;
  readonly machines: readonly LabMachine[];
  readonly #members: readonly NamespaceSandbox[];
  readonly #network: LabNetwork;
  readonly #log: LogSink;
  #exitListeners = new Set<(reason: string) => void>();
  #teardown: Promise<void> | undefined;

  private constructor(id: string, machines: LabMachine[], members: NamespaceSandbox[], network: LabNetwork, log: LogSink) {
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
          log({ level: 'error', msg: 'cleanup of a lab after a machine died failed', sandbox: id, error: error.message }),
        );
      });
    });
  }

  /** Starts every machine of the lab on its network; resolves when all are ready. Leaves nothing behind on failure. */
  static async start(host: SandboxHost, spec: SandboxSpec & { machines: readonly string[] }, subnet: string): Promise<NamespaceLab> {
    const { prefix, log } = host.options;
    const started = Date.now();
    const network = await LabNetwork.create(prefix, spec.id, subnet);
    const hosts = spec.machines.map((name, index) => ({ name, address: labAddress(subnet, index) }));
    const starting = spec.machines.map((name, index) =>
      NamespaceSandbox.start(
        host,
        { id: labMachineId(spec.id, index), limits: spec.limits, docker: spec.docker },
        {
          hostname: name,
          hosts,
          join: async (pid) => {
            await network.attach(index, pid);
          },
        },
      ),
    );
    const outcomes = await Promise.allSettled(starting);
    const members = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) {
      await Promise.allSettled(members.map((member) => member.destroy()));
      await network
        .remove()
        .catch((error: Error) => log({ level: 'error', msg: 'lab network not removed after a failed start', sandbox: spec.id, error: error.message }));
      throw failed.reason;
    }
    log({ level: 'info', msg: 'lab ready', sandbox: spec.id, machines: hosts, startMs: Date.now() - started });
    return new NamespaceLab(spec.id, hosts, members, network, log);
  }

  /** The namespace sandbox of machine `name`. */
  machine(name: string): NamespaceSandbox | undefined {
    const index = this.machines.findIndex((machine) => machine.name === name);
    return index < 0 ? undefined : this.#members[index];
  }

  get members(): readonly NamespaceSandbox[] {
    return this.#members;
  }

  get netns(): string {
    return this.#network.netns;
  }

  get #first(): NamespaceSandbox {
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

  /** The lab's machines together. */
  async usage(): Promise<SandboxUsage> {
    const all = await Promise.all(this.#members.map((member) => member.usage()));
    return all.reduce((sum, usage) => ({
      memoryBytes: sum.memoryBytes + usage.memoryBytes,
      cpuSeconds: sum.cpuSeconds + usage.cpuSeconds,
      pids: sum.pids + usage.pids,
    }));
  }

  /** Labs are not taken over after a restart (yet): never any terminal to give back. */
  restoredTerminals(): RestoredTerminal[] {
    return [];
  }

  /** A lab does not outlive its server (yet): it is destroyed, and says so. */
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
    // After the machines: their ends of the pairs are gone with their namespaces by then.
    await this.#network.remove().catch((error: Error) => problems.push(`lab network: ${error.message}`));
    if (problems.length > 0) throw new Error(`lab ${this.id} not fully removed: ${problems.join('; ')}`);
    this.#log({ level: 'info', msg: 'lab destroyed', sandbox: this.id, destroyMs: Date.now() - started });
  }
}
