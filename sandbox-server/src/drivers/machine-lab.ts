// A lab: several machines of one reader (node1, node2, node3…), started and
// ended together, on a private network of their own (namespace/lab-network.ts),
// whatever makes the machines — namespace sandboxes (namespace/lab.ts) or QEMU
// VMs (vm/vm-lab.ts). Seen from the server, a lab is one Sandbox whose
// terminals, exec and snapshot mean its first machine; machine(name) gives
// the others. A lab outlives its server like its machines do: detach() lets
// go of them and of the network, adopt() takes them over again, and a machine
// that died meanwhile is made anew at its place.
//
// What differs between drivers — how one machine is started on the network,
// taken over, and unplugged from it — is a LabMachineMaker.
import type { ProcessSnapshot } from '../../../contracts/process-snapshot.ts';
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
} from './driver.ts';
import type { LogSink } from './driver-options.ts';
import { LabNetwork, labAddress, labNetnsName, removeLabNetns, type LabNetworkOwner } from './namespace/lab-network.ts';

/** A machine of a lab: a whole sandbox of its driver, which can describe its processes. */
export interface LabMemberMachine extends Sandbox {
  processSnapshot(maxProcesses: number): Promise<ProcessSnapshot>;
}

/** How one driver makes machine number `index` of a lab (its name, address and hosts are the lab's). */
export interface LabMachineMaker<M extends LabMemberMachine> {
  /** Starts machine `index`, on the lab's network; resolves once its agent is ready. */
  start(index: number): Promise<M>;
  /** Takes machine `index` over from an earlier server process (SandboxLostError: it is not running any more). */
  adopt(index: number): Promise<M>;
  /** Frees machine `index`'s place on the network once it is gone, for a new one to take. */
  unplug(index: number): Promise<void>;
}

/** Called with each machine the lab starts or takes over (the driver keeps them in its live sandboxes). */
export type TrackMachine<M> = (member: M) => void;

/** The id of machine number `index` of lab `labId` (names host-side resources: see names.ts's MACHINE_ID_PATTERN). */
export function labMachineId(labId: string, index: number): string {
  return `${labId}-${index}`;
}

/** The spec of machine `index` of a lab: the lab's limits and Docker, its records file, an id of its own. */
export function labMemberSpec(spec: SandboxSpec, index: number): SandboxSpec {
  return { id: labMachineId(spec.id, index), limits: spec.limits, docker: spec.docker, recordedIn: spec.recordedIn };
}

/** How a driver makes the machines of lab `spec` on `network` (undefined: a lab taken over whose network is gone, only adopted then removed). */
export type MakerFor<M extends LabMemberMachine> = (network: LabNetwork | undefined, subnet: string, machines: LabMachine[]) => LabMachineMaker<M>;

/** What a driver tells startLab and adoptLab about itself. */
export interface LabDriverParts<M extends LabMemberMachine> {
  /** The driver's prefix: names the lab's network namespace. */
  prefix: string;
  /** Who a new lab's network namespace is charged to (namespace/lab-network.ts). */
  networkOwner: LabNetworkOwner;
  log: LogSink;
  track: TrackMachine<M>;
  makerFor: MakerFor<M>;
}

/** Starts every machine of lab `spec` on a network of its own in `subnet`; resolves when all are ready. Leaves nothing behind on failure. */
export async function startLab<M extends LabMemberMachine>(
  driver: LabDriverParts<M>,
  spec: SandboxSpec & { machines: readonly string[] },
  subnet: string,
): Promise<MachineLab<M>> {
  const network = await LabNetwork.create(driver.prefix, spec.id, subnet, driver.networkOwner);
  const machines = spec.machines.map((name, index) => ({ name, address: labAddress(subnet, index) }));
  const maker = driver.makerFor(network, subnet, machines);
  return MachineLab.start({ id: spec.id, machines, maker, log: driver.log, track: driver.track }, network);
}

/** Takes over lab `spec.id` left running by an earlier server process, at the addresses its machines had (MachineLab.adopt says how). */
export async function adoptLab<M extends LabMemberMachine>(
  driver: LabDriverParts<M>,
  spec: SandboxSpec & { machines: readonly string[]; addresses: readonly string[] },
): Promise<MachineLab<M>> {
  const subnet = spec.addresses[0]!.split('.').slice(0, 3).join('.');
  const machines = spec.machines.map((name, index) => ({ name, address: spec.addresses[index] ?? labAddress(subnet, index) }));
  const network = await LabNetwork.existing(driver.prefix, spec.id, subnet);
  const maker = driver.makerFor(network, subnet, machines);
  return MachineLab.adopt({ id: spec.id, machines, maker, log: driver.log, track: driver.track }, network, () =>
    removeLabNetns(labNetnsName(driver.prefix, spec.id)),
  );
}

export interface LabParts<M extends LabMemberMachine> {
  id: string;
  /** Its machines' names and addresses, in order. */
  machines: LabMachine[];
  maker: LabMachineMaker<M>;
  log: LogSink;
  track: TrackMachine<M>;
}

export class MachineLab<M extends LabMemberMachine> implements Sandbox {
  readonly id: string;
  readonly machines: readonly LabMachine[];
  /** Mutable: a reset machine is replaced at its index. */
  readonly #members: M[];
  readonly #network: LabNetwork;
  readonly #maker: LabMachineMaker<M>;
  readonly #track: TrackMachine<M>;
  readonly #log: LogSink;
  /** Resets under way, by machine index: a second reset of one machine joins the first. */
  readonly #resets = new Map<number, Promise<LabMachine>>();
  #exitListeners = new Set<(reason: string) => void>();
  #teardown: Promise<void> | undefined;

  private constructor(parts: LabParts<M>, members: M[], network: LabNetwork) {
    this.id = parts.id;
    this.machines = parts.machines;
    this.#members = members;
    this.#network = network;
    this.#maker = parts.maker;
    this.#track = parts.track;
    this.#log = parts.log;
    for (const [index, member] of members.entries()) this.#watch(member, index);
    for (const member of members) parts.track(member);
  }

  /** Starts every machine of the lab on `network`; resolves when all are ready. Leaves nothing behind on failure. */
  static async start<M extends LabMemberMachine>(parts: LabParts<M>, network: LabNetwork): Promise<MachineLab<M>> {
    const started = Date.now();
    const outcomes = await Promise.allSettled(parts.machines.map((_, index) => parts.maker.start(index)));
    const members: M[] = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) {
      await Promise.allSettled(members.map((member) => member.destroy()));
      await network
        .remove()
        .catch((error: Error) => parts.log({ level: 'error', msg: 'lab network not removed after a failed start', sandbox: parts.id, error: error.message }));
      throw failed.reason;
    }
    parts.log({ level: 'info', msg: 'lab ready', sandbox: parts.id, machines: parts.machines, startMs: Date.now() - started });
    return new MachineLab(parts, members, network);
  }

  /**
   * Takes over lab `parts.id` left running by an earlier server process: its
   * network and each of its machines (agents, shells). A machine that died
   * meanwhile is made anew at its place, so the reader keeps the others;
   * with no machine or no network left, the remains are removed (`removeNetwork`
   * when there is no network to remove) and SandboxLostError thrown.
   */
  static async adopt<M extends LabMemberMachine>(
    parts: LabParts<M>,
    network: LabNetwork | undefined,
    removeNetwork: () => Promise<void>,
  ): Promise<MachineLab<M>> {
    const { id, machines, maker, log } = parts;
    const outcomes = await Promise.allSettled(machines.map((_, index) => maker.adopt(index)));
    const adopted: M[] = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const lostReasons = outcomes.flatMap((outcome, index) =>
      outcome.status === 'rejected' ? [`${machines[index]!.name}: ${(outcome.reason as Error).message}`] : [],
    );
    const removeAll = async () => {
      await Promise.allSettled(adopted.map((member) => member.destroy()));
      if (network) await network.remove().catch(() => {});
      else await removeNetwork().catch(() => {});
    };
    // Not lost but someone else's (a live server runs it): let go of what we took, remove nothing.
    const foreign = outcomes.find((outcome) => outcome.status === 'rejected' && !(outcome.reason instanceof SandboxLostError));
    if (foreign?.status === 'rejected') {
      await Promise.allSettled(adopted.map((member) => member.detach()));
      throw foreign.reason;
    }
    if (!network || adopted.length === 0) {
      await removeAll();
      throw new SandboxLostError(`lab ${id} stopped while no server ran it (${network ? lostReasons.join('; ') : 'its network is gone'})`);
    }
    // Those that died: made anew where they were (their remains were removed by adopt()).
    const members: M[] = [];
    try {
      for (const [index, outcome] of outcomes.entries()) {
        if (outcome.status === 'fulfilled') {
          members.push(outcome.value);
          continue;
        }
        await maker.unplug(index);
        const member = await maker.start(index);
        adopted.push(member);
        members.push(member);
        log({ level: 'warn', msg: 'lab machine lost while no server ran it: made anew', sandbox: id, machine: machines[index]!.name });
      }
    } catch (error) {
      await removeAll();
      throw new SandboxLostError(`lab ${id} could not be taken over: ${(error as Error).message}`);
    }
    log({ level: 'info', msg: 'lab adopted', sandbox: id, machines, remade: lostReasons.length });
    return new MachineLab(parts, members, network);
  }

  /** A machine that dies on its own ends the lab (a machine being reset is destroyed by us, which is not a death). */
  #watch(member: M, index: number): void {
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

  /**
   * Makes machine `name` anew: destroys it (processes, files, disk, Docker
   * state) and starts a fresh one at the same index, so the same id, name,
   * address and /etc/hosts, on the same network. The other machines are not
   * touched. Resolves with the machine once its agent is ready.
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
    await this.#maker.unplug(index);
    const member = await this.#maker.start(index);
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

  /** The sandbox of machine `name`. */
  machine(name: string): M | undefined {
    const index = this.machines.findIndex((machine) => machine.name === name);
    return index < 0 ? undefined : this.#members[index];
  }

  get members(): readonly M[] {
    return this.#members;
  }

  /** The lab's network namespace (its bridge, and each machine's end on it). */
  get netns(): string {
    return this.#network.netns;
  }

  get #first(): M {
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
    // After the machines: their ends on the bridge are gone with them by then.
    await this.#network.remove().catch((error: Error) => problems.push(`lab network: ${error.message}`));
    if (problems.length > 0) throw new Error(`lab ${this.id} not fully removed: ${problems.join('; ')}`);
    this.#log({ level: 'info', msg: 'lab destroyed', sandbox: this.id, destroyMs: Date.now() - started });
  }
}
