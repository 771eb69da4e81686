// A lab: several machines of one reader (node1, node2, node3…), started and
// ended together, on a private network of their own (lab-network.ts). Each
// machine is a whole namespace sandbox with its own uid range, cgroups, disk
// and Docker; the lab adds its name, the others' names in /etc/hosts and an
// eth0 on the lab's bridge. Seen from the server, a lab is one Sandbox whose
// terminals, exec and snapshot mean its first machine; machine(name) gives
// the others.
import type { ProcessSnapshot } from '../../../../contracts/process-snapshot.ts';
import {
  SandboxLostError,
  type Disposable,
  type ExecResult,
  type LabMachine,
  type RestoredTerminal,
  type Sandbox,
  type SandboxSpec,
  type SandboxUsage,
  type TerminalSize,
  type TerminalStream,
} from '../driver.ts';
import { LabNetwork, labAddress, labNetnsName, removeLabNetns } from './lab-network.ts';
import type { LogSink } from './options.ts';
import { NamespaceSandbox, type LabMembership, type SandboxHost } from './sandbox.ts';

/** The id of machine number `index` of lab `labId` (names host-side resources: see names.ts's MACHINE_ID_PATTERN). */
export function labMachineId(labId: string, index: number): string {
  return `${labId}-${index}`;
}

/** The spec of machine `index` of a lab: the lab's limits and Docker, its records file, an id of its own. */
function memberSpec(spec: SandboxSpec, index: number): SandboxSpec {
  return { id: labMachineId(spec.id, index), limits: spec.limits, docker: spec.docker, recordedIn: spec.recordedIn };
}

/** Called with each machine the lab starts or takes over (the driver keeps them in its live sandboxes). */
export type TrackMachine = (member: NamespaceSandbox) => void;

export class NamespaceLab implements Sandbox {
  readonly id: string;
  readonly machines: readonly LabMachine[];
  /** Mutable: a reset machine is replaced at its index. */
  readonly #members: NamespaceSandbox[];
  readonly #network: LabNetwork;
  readonly #host: SandboxHost;
  readonly #spec: SandboxSpec;
  readonly #track: TrackMachine;
  readonly #log: LogSink;
  /** Resets under way, by machine index: a second reset of one machine joins the first. */
  readonly #resets = new Map<number, Promise<LabMachine>>();
  #exitListeners = new Set<(reason: string) => void>();
  #teardown: Promise<void> | undefined;

  private constructor(host: SandboxHost, spec: SandboxSpec, machines: LabMachine[], members: NamespaceSandbox[], network: LabNetwork, track: TrackMachine) {
    this.id = spec.id;
    this.machines = machines;
    this.#members = members;
    this.#network = network;
    this.#host = host;
    this.#spec = spec;
    this.#track = track;
    this.#log = host.options.log;
    for (const [index, member] of members.entries()) this.#watch(member, index);
  }

  /** A machine that dies on its own ends the lab (a machine being reset is destroyed by us, which is not a death). */
  #watch(member: NamespaceSandbox, index: number): void {
    member.onExit((reason) => {
      if (this.#teardown || this.#members[index] !== member) return;
      const why = `machine ${this.machines[index]!.name}: ${reason}`;
      for (const listener of this.#exitListeners) listener(why);
      this.#exitListeners.clear();
      void this.destroy().catch((error: Error) =>
        this.#log({ level: 'error', msg: 'cleanup of a lab after a machine died failed', sandbox: this.id, error: error.message }),
      );
    });
  }

  /** How machine `index` joins the lab: its name, the lab's hosts, its end of the network. */
  static #membership(network: LabNetwork, machines: readonly LabMachine[], index: number, reader: string): LabMembership {
    return {
      hostname: machines[index]!.name,
      hosts: machines.map(({ name, address }) => ({ name, address })),
      // One reader: the lab's machines share one namespace in the class registry.
      reader,
      join: async (pid) => {
        await network.attach(index, pid);
      },
    };
  }

  /** Starts every machine of the lab on its network; resolves when all are ready. Leaves nothing behind on failure. */
  static async start(host: SandboxHost, spec: SandboxSpec & { machines: readonly string[] }, subnet: string, track: TrackMachine): Promise<NamespaceLab> {
    const { prefix, log } = host.options;
    const started = Date.now();
    const network = await LabNetwork.create(prefix, spec.id, subnet);
    const hosts = spec.machines.map((name, index) => ({ name, address: labAddress(subnet, index) }));
    const starting = spec.machines.map((_, index) =>
      NamespaceSandbox.start(host, memberSpec(spec, index), NamespaceLab.#membership(network, hosts, index, spec.id)),
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
    for (const member of members) track(member);
    return new NamespaceLab(host, spec, hosts, members, network, track);
  }

  /**
   * Takes over lab `spec.id` left running by an earlier server process: its
   * network and each of its machines (agents, shells). A machine that died
   * meanwhile is made anew at its place, so the reader keeps the others;
   * with no machine or no network left, the remains are removed and
   * SandboxLostError thrown.
   */
  static async adopt(
    host: SandboxHost,
    spec: SandboxSpec & { machines: readonly string[]; addresses: readonly string[] },
    track: TrackMachine,
  ): Promise<NamespaceLab> {
    const { prefix, log } = host.options;
    const subnet = spec.addresses[0]!.split('.').slice(0, 3).join('.');
    const hosts = spec.machines.map((name, index) => ({ name, address: spec.addresses[index] ?? labAddress(subnet, index) }));
    const network = await LabNetwork.existing(prefix, spec.id, subnet);
    const outcomes = await Promise.allSettled(spec.machines.map((_, index) => NamespaceSandbox.adopt(host, memberSpec(spec, index))));
    const adopted = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const lostReasons = outcomes.flatMap((outcome, index) =>
      outcome.status === 'rejected' ? [`${spec.machines[index]}: ${(outcome.reason as Error).message}`] : [],
    );
    const removeAll = async () => {
      await Promise.allSettled(adopted.map((member) => member.destroy()));
      if (network) await network.remove().catch(() => {});
      else await removeLabNetns(labNetnsName(prefix, spec.id)).catch(() => {});
    };
    // Not lost but someone else's (a live server runs it): let go of what we took, remove nothing.
    const foreign = outcomes.find((outcome) => outcome.status === 'rejected' && !(outcome.reason instanceof SandboxLostError));
    if (foreign?.status === 'rejected') {
      await Promise.allSettled(adopted.map((member) => member.detach()));
      throw foreign.reason;
    }
    if (!network || adopted.length === 0) {
      await removeAll();
      throw new SandboxLostError(`lab ${spec.id} stopped while no server ran it (${network ? lostReasons.join('; ') : 'its network is gone'})`);
    }
    // Those that died: made anew where they were (their remains were removed by adopt()).
    const members: NamespaceSandbox[] = [];
    try {
      for (const [index, outcome] of outcomes.entries()) {
        if (outcome.status === 'fulfilled') {
          members.push(outcome.value);
          continue;
        }
        await network.unplug(index);
        const member = await NamespaceSandbox.start(host, memberSpec(spec, index), NamespaceLab.#membership(network, hosts, index, spec.id));
        adopted.push(member);
        members.push(member);
        log({ level: 'warn', msg: 'lab machine lost while no server ran it: made anew', sandbox: spec.id, machine: spec.machines[index] });
      }
    } catch (error) {
      await removeAll();
      throw new SandboxLostError(`lab ${spec.id} could not be taken over: ${(error as Error).message}`);
    }
    for (const member of members) track(member);
    log({ level: 'info', msg: 'lab adopted', sandbox: spec.id, machines: hosts, remade: lostReasons.length });
    return new NamespaceLab(host, spec, hosts, members, network, track);
  }

  /**
   * Makes machine `name` anew: destroys it (processes, files, disk, Docker
   * state) and starts a fresh one at the same index, so the same id, name,
   * address and /etc/hosts, plugged into the same bridge. The other machines
   * are not touched. Resolves with the machine once its agent is ready.
   */
  resetMachine(name: string): Promise<LabMachine> {
    const index = this.machines.findIndex((machine) => machine.name === name);
    if (index < 0) return Promise.reject(new RangeError(`lab ${this.id} has no machine ${JSON.stringify(name)}`));
    if (this.#teardown) return Promise.reject(new Error(`lab ${this.id} is being destroyed`));
    const pending = this.#resets.get(index);
    if (pending) return pending;
    const reset = this.#reset(index).finally(() => this.#resets.delete(index));
    this.#resets.set(index, reset);
    return reset;
  }

  async #reset(index: number): Promise<LabMachine> {
    const started = Date.now();
    const machine = this.machines[index]!;
    await this.#members[index]!.destroy();
    // The old pair dies with the old machine's namespace, which the kernel frees in its own time: make room now.
    await this.#network.unplug(index);
    const member = await NamespaceSandbox.start(
      this.#host,
      memberSpec(this.#spec, index),
      NamespaceLab.#membership(this.#network, this.machines, index, this.#spec.id),
    );
    if (this.#teardown) {
      await member.destroy();
      throw new Error(`lab ${this.id} was destroyed while machine ${machine.name} was being reset`);
    }
    this.#members[index] = member;
    this.#watch(member, index);
    this.#track(member);
    this.#log({ level: 'info', msg: 'lab machine reset', sandbox: this.id, machine: machine.name, resetMs: Date.now() - started });
    return machine;
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

  /**
   * Terminals found open in the machines taken over: the first machine's by
   * their names, the others' as "node2/1" (the keys ManagedSandbox uses).
   */
  restoredTerminals(): RestoredTerminal[] {
    return this.#members.flatMap((member, index) =>
      member.restoredTerminals().map(({ name, size }) => ({ name: index === 0 ? name : `${this.machines[index]!.name}/${name}`, size })),
    );
  }

  /** Lets go of every machine, still running, and of the network, still there, for the next server process. */
  async detach(): Promise<{ kept: boolean }> {
    await Promise.allSettled([...this.#resets.values()]);
    const outcomes = await Promise.all(this.#members.map((member) => member.detach()));
    return { kept: outcomes.every(({ kept }) => kept) };
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
    // A reset under way finishes first (and destroys the machine it made): then every member is known.
    await Promise.allSettled([...this.#resets.values()]);
    const outcomes = await Promise.allSettled(this.#members.map((member) => member.destroy()));
    const problems = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [(outcome.reason as Error).message] : []));
    // After the machines: their ends of the pairs are gone with their namespaces by then.
    await this.#network.remove().catch((error: Error) => problems.push(`lab network: ${error.message}`));
    if (problems.length > 0) throw new Error(`lab ${this.id} not fully removed: ${problems.join('; ')}`);
    this.#log({ level: 'info', msg: 'lab destroyed', sandbox: this.id, destroyMs: Date.now() - started });
  }
}
