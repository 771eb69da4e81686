// The namespace driver: each sandbox is an OCI container run by crun, with
// its own user (a host uid range of its own), pid, mount, uts, ipc, net
// (loopback only) and cgroup namespaces, cgroup limits, and a private tmpfs
// layer over a shared read-only Debian root filesystem.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HostNotSupportedError, type LeftoverOptions, type PrepareProgress, type SandboxDriver, type SandboxSpec } from '../driver.ts';
import { ensureRootfs, rootfsPath } from '../../rootfs/build.ts';
import { ensureHelpers, helperPath } from '../../rootfs/native.ts';
import { readRecipe } from '../../rootfs/recipe.ts';
import { REQUIRED_CONTROLLERS, SandboxCgroups, childGroups, hybridCgroupMounts, removeParentIfEmpty, v1Hierarchies } from './cgroups.ts';
import { checkLimits, resolveOptions, type NamespaceDriverOptions, type ResolvedOptions } from './options.ts';
import { machineIdProblem } from '../../../../contracts/names.ts';
import { dockerDiskIds, dockerDiskPath, removeDockerDisk } from './docker-disk.ts';
import { Runtime } from './runtime.ts';
import { NamespaceSandbox, type SandboxHost } from './sandbox.ts';
import { SandboxDirs, listRecords, ownerIsAlive, serverIsAlive, type SandboxRecord } from './sandbox-state.ts';
import { labMachineId, namespaceLabParts, type NamespaceLab } from './lab.ts';
import { adoptLab, startLab } from '../machine-lab.ts';
import { listLabNetns, removeLabNetns } from './lab-network.ts';
import { terminalNameProblem } from '../../../../contracts/names.ts';
import { isPerMachineLimit, raiseSharedKernelLimits } from './shared-kernel-limits.ts';
import { UidRanges } from './uid-ranges.ts';

interface Prepared {
  rootfs: string;
  initPath: string;
  launchPath: string;
  agentDir: string;
}

export class NamespaceDriver implements SandboxDriver {
  readonly name = 'namespace' as const;
  readonly options: ResolvedOptions;
  #uidRanges: UidRanges;
  #live = new Map<string, NamespaceSandbox>();
  /** Labs made by this instance, by id (a lab whose machines are all gone is dropped at the next creation). */
  #labs = new Map<string, NamespaceLab>();
  #prepared: Promise<Prepared> | undefined;

  constructor(options: NamespaceDriverOptions = {}) {
    this.options = resolveOptions(options);
    this.#uidRanges = new UidRanges(join(this.options.stateDir, 'uid-ranges'), this.options.uidRangeStart, this.options.maxSandboxes);
  }

  async checkHost(): Promise<void> {
    if (process.getuid?.() !== 0) {
      throw new HostNotSupportedError(
        'the namespace driver needs root',
        'run the sandbox server as root: it creates user namespaces with uid ranges, cgroups and id-mapped mounts',
      );
    }
    const userNamespaces = Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8'));
    if (!(userNamespaces > 0)) {
      throw new HostNotSupportedError('user namespaces are disabled on this host', 'sysctl -w user.max_user_namespaces=15000');
    }
    const hierarchies = v1Hierarchies();
    const missing = REQUIRED_CONTROLLERS.filter((controller) => !hierarchies.includes(controller));
    if (missing.length > 0) {
      throw new HostNotSupportedError(
        `cgroup v1 hierarchies missing: ${missing.join(', ')} (found: ${hierarchies.join(', ') || 'none'})`,
        'this driver drives cgroup v1 (as on the course host); on a pure cgroup v2 host, boot with systemd.unified_cgroup_hierarchy=0 or use the vm driver',
      );
    }
    try {
      await promisify(execFile)(this.options.crun, ['--version']);
    } catch {
      throw new HostNotSupportedError(`the OCI runtime "${this.options.crun}" cannot be run`, 'apt-get install crun (scripts/install.sh does it)');
    }
    if (!existsSync(this.options.nodePath)) {
      throw new HostNotSupportedError(`no Node binary at ${this.options.nodePath}`, 'set the driver option nodePath to a Node ≥ 22.12 binary');
    }
    const recipe = readRecipe();
    const needsBuild = !existsSync(rootfsPath(this.options.cacheDir, recipe));
    const needsCompile = !existsSync(helperPath(this.options.cacheDir, 'init')) || !existsSync(helperPath(this.options.cacheDir, 'launch'));
    for (const [needed, tool, hint] of [
      [needsBuild, 'debootstrap', 'apt-get install debootstrap (scripts/install.sh does it), then npm run sandbox:prepare'],
      [needsCompile, 'gcc', 'apt-get install gcc libc6-dev, then npm run sandbox:prepare'],
    ] as const) {
      if (!needed) continue;
      try {
        await promisify(execFile)('sh', ['-c', `command -v ${tool}`]);
      } catch {
        throw new HostNotSupportedError(`${tool} is needed to prepare sandboxes and is not installed`, hint);
      }
    }
  }

  prepare(progress: PrepareProgress): Promise<void> {
    return this.#remember(this.#prepare(progress)).then(() => {});
  }

  /** Keeps a preparation for create(), forgetting it if it fails so that the next call tries again. */
  #remember(preparing: Promise<Prepared>): Promise<Prepared> {
    this.#prepared = preparing;
    preparing.catch(() => {
      if (this.#prepared === preparing) this.#prepared = undefined;
    });
    return preparing;
  }

  async #prepare(progress: PrepareProgress): Promise<Prepared> {
    // Before any machine: what root inside one machine could otherwise take from all the others, or a lot of (shared-kernel-limits.ts).
    for (const { name, from, to, refused } of await raiseSharedKernelLimits()) {
      if (refused === undefined) {
        this.options.log({
          level: 'info',
          msg: 'host limit shared by every machine raised: their memory limits bound each one instead',
          limit: name,
          from,
          to,
        });
      } else if (isPerMachineLimit(name)) {
        this.options.log({
          level: 'info',
          msg: "host limit per machine left as it is: each machine's user namespace has its own owner, so each has that many of its own",
          limit: name,
          value: from,
          wanted: to,
          error: refused,
        });
      } else {
        this.options.log({
          level: 'warn',
          msg: 'host limit shared by every machine left as it is: root inside one machine may use it all up',
          limit: name,
          value: from,
          wanted: to,
          error: refused,
          hint: `sysctl -w ${name}=${to} as a root that holds CAP_SYS_RESOURCE`,
        });
      }
    }
    const helpers = await ensureHelpers(this.options.cacheDir, progress);
    const rootfs = await ensureRootfs({ cacheDir: this.options.cacheDir, mirror: this.options.mirror, progress });
    return { rootfs, initPath: helpers.init, launchPath: helpers.launch, agentDir: helpers.agent };
  }

  create(spec: SandboxSpec & { machines: readonly string[] }): Promise<NamespaceLab>;
  create(spec: SandboxSpec & { machines?: undefined }): Promise<NamespaceSandbox>;
  create(spec: SandboxSpec): Promise<NamespaceSandbox | NamespaceLab>;
  async create(spec: SandboxSpec): Promise<NamespaceSandbox | NamespaceLab> {
    const host = await this.#hostFor(spec);
    if (spec.machines) {
      const track = (member: NamespaceSandbox) => this.#live.set(member.id, member);
      const lab = await startLab(namespaceLabParts(host, spec, track), { ...spec, machines: spec.machines }, this.#freeLabSubnet());
      this.#labs.set(spec.id, lab);
      return lab;
    }
    const sandbox = await NamespaceSandbox.start(host, spec);
    this.#live.set(spec.id, sandbox);
    return sandbox;
  }

  adopt(spec: SandboxSpec & { machines: readonly string[] }): Promise<NamespaceLab>;
  adopt(spec: SandboxSpec & { machines?: undefined }): Promise<NamespaceSandbox>;
  adopt(spec: SandboxSpec): Promise<NamespaceSandbox | NamespaceLab>;
  async adopt(spec: SandboxSpec): Promise<NamespaceSandbox | NamespaceLab> {
    const host = await this.#hostFor(spec);
    if (spec.machines) {
      if (spec.addresses?.length !== spec.machines.length) throw new RangeError(`lab ${spec.id}: adopt() needs the address of each of its machines`);
      const track = (member: NamespaceSandbox) => this.#live.set(member.id, member);
      const lab = await adoptLab(namespaceLabParts(host, spec, track), { ...spec, machines: spec.machines, addresses: spec.addresses });
      this.#labs.set(spec.id, lab);
      return lab;
    }
    const sandbox = await NamespaceSandbox.adopt(host, spec);
    this.#live.set(spec.id, sandbox);
    return sandbox;
  }

  async #hostFor(spec: SandboxSpec): Promise<SandboxHost> {
    // A lab's machines are named <lab id>-<index>: the longest of them must be a valid machine id.
    const idProblem = machineIdProblem(spec.machines ? labMachineId(spec.id, spec.machines.length - 1) : spec.id);
    if (idProblem) throw new RangeError(idProblem);
    const problem = checkLimits(spec.limits, this.options);
    if (problem) throw new RangeError(`invalid sandbox limits: ${problem}`);
    if (this.#live.has(spec.id) || this.#labs.has(spec.id)) throw new Error(`sandbox ${spec.id} already exists`);
    if (spec.machines) {
      const machinesProblem = labMachinesProblem(spec.machines);
      if (machinesProblem) throw new RangeError(machinesProblem);
    }
    // First use without prepare(): build what is missing (a minute the first time), logging progress.
    const prepared = await (this.#prepared ??
      this.#remember(this.#prepare((step, detail) => this.options.log({ level: 'info', msg: `prepare: ${step}`, detail }))));
    return {
      options: this.options,
      runtime: this.#runtime(prepared.launchPath),
      uidRanges: this.#uidRanges,
      rootfs: prepared.rootfs,
      initPath: prepared.initPath,
      agentDir: prepared.agentDir,
      forget: (id) => this.#live.delete(id),
    };
  }

  /** A /24 no live lab of this instance uses (labs of other servers on the host may share one: their networks never meet). */
  #freeLabSubnet(): string {
    const used = new Set<string>();
    for (const [id, lab] of this.#labs) {
      if (lab.members.some((member) => this.#live.get(member.id) === member)) used.add(lab.machines[0]!.address.split('.').slice(0, 3).join('.'));
      else this.#labs.delete(id);
    }
    const prefix = this.options.labAddressPrefix;
    const start = Math.floor(Math.random() * 256);
    for (let step = 0; step < 256; step++) {
      const subnet = `${prefix}.${(start + step) % 256}`;
      if (!used.has(subnet)) return subnet;
    }
    // More than 256 labs: sharing a subnet between two isolated networks is harmless.
    return `${prefix}.${start}`;
  }

  /** Live labs of this driver instance. */
  get labs(): ReadonlyMap<string, NamespaceLab> {
    return this.#labs;
  }

  /** Live sandboxes of this driver instance. */
  get sandboxes(): ReadonlyMap<string, NamespaceSandbox> {
    return this.#live;
  }

  async cleanupLeftovers(leftovers: LeftoverOptions = {}): Promise<number> {
    const { prefix, stateDir, log } = this.options;
    const runtime = this.#runtime(helperPath(this.options.cacheDir, 'launch'));
    const removed = new Set<string>();
    // What exists is listed first, whose it is read after: a sandbox writes
    // its record before it makes a cgroup or a container, so anything listed
    // here that another live process (a server, a test run) is making has its
    // record by the time the records are read, and is not taken for a leftover.
    const canRunCrun = existsSync(helperPath(this.options.cacheDir, 'launch'));
    const containers = canRunCrun ? await runtime.list().catch(() => []) : [];
    const groups = await childGroups(prefix);
    const dockerDisks = dockerDiskIds(this.options.dockerDiskDir);
    const records = await listRecords(stateDir);
    // Sandboxes a live server runs (this process, or another server on the host) are not
    // leftovers; nor, while its server is down, a running one that another records file keeps
    // for that server.
    const keptElsewhere = (record: SandboxRecord) =>
      !leftovers.all && record.recordedIn !== undefined && record.recordedIn !== leftovers.recordsPath && existsSync(record.recordedIn);
    const spared = (record: SandboxRecord) => serverIsAlive(record) || (ownerIsAlive(record) && keptElsewhere(record));
    const alive = new Set(records.filter(({ record }) => record && spared(record)).map(({ id }) => id));
    // A sandbox being made (by this process or another) has its directory a moment before its
    // record, and its uid range a moment before that: a fresh directory without a readable record
    // is such a sandbox, and what it holds is not a leftover — least of all its uid range, which
    // would otherwise go to the next sandbox while this one uses it.
    const beingMade = new Set(records.filter(({ record, sinceMs }) => !record && Date.now() - sinceMs < 60_000).map(({ id }) => id));

    // One leftover's failure is logged and the next is tried: whatever a machine left, the server still starts.
    const each = async (what: string, id: string, action: () => Promise<unknown>) => {
      try {
        await action();
        removed.add(id);
      } catch (error) {
        log({ level: 'warn', msg: `leftover ${what} not removed`, sandbox: id, error: (error as Error).message.slice(0, 1000) });
      }
    };

    for (const container of containers) {
      if (!container.id.startsWith(`${prefix}-`)) continue;
      const id = container.id.slice(prefix.length + 1);
      if (alive.has(id)) continue;
      await each('container', id, async () => {
        await runtime.kill(container.id).catch(() => {});
        await new SandboxCgroups(`${prefix}/${id}`).killAll();
        await runtime.delete(container.id);
      });
    }
    for (const id of groups) {
      if (alive.has(id)) continue;
      await each('cgroup', id, async () => {
        const cgroups = new SandboxCgroups(`${prefix}/${id}`);
        await cgroups.killAll();
        await cgroups.remove();
      });
    }
    for (const { id, record } of records) {
      if (alive.has(id) || beingMade.has(id)) continue;
      // Its gate directory, and its reader's pushed images when no live machine of that reader is left.
      await each('registry gate', id, async () => this.options.registry?.close(id, { destroyed: true, reader: record?.reader ?? id }));
      await each('state directory', id, () => new SandboxDirs(stateDir, id).remove());
    }
    for (const [index, { holder, sinceMs, takerAlive }] of await this.#uidRanges.held()) {
      // An empty lock holds nothing (its releaser died half-way): removing it cannot take a range from anyone.
      if (!holder) await this.#uidRanges.removeIfEmpty(index).catch(() => {});
      if (!holder || alive.has(holder) || beingMade.has(holder)) continue;
      // A range is taken a moment before its sandbox's record is written: spare fresh ones while
      // their taker runs. One whose taker died (a server killed between the removal of a record and
      // the release of its range, or before the record was written) is a leftover at once.
      if (!records.some(({ id }) => id === holder) && Date.now() - sinceMs < 60_000 && takerAlive !== false) continue;
      await each('uid range', holder, () => this.#uidRanges.release(index, holder));
    }
    for (const id of dockerDisks) {
      if (alive.has(id)) continue;
      await each('Docker disk', id, () => removeDockerDisk(dockerDiskPath(this.options.dockerDiskDir, id)));
    }
    // A lab's network outlives none of its machines: spare it while one of them is alive, or while it is fresh (being made).
    for (const { labId, sinceMs } of await listLabNetns(prefix)) {
      if ([...alive].some((id) => id.startsWith(`${labId}-`)) || Date.now() - sinceMs < 60_000) continue;
      await removeLabNetns(`${prefix}-lab-${labId}`).catch((error: Error) =>
        log({ level: 'warn', msg: 'leftover lab network not removed', error: error.message }),
      );
      removed.add(labId);
    }
    await removeParentIfEmpty(prefix);
    if (removed.size > 0) log({ level: 'info', msg: 'removed leftover sandboxes', sandboxes: [...removed] });
    return removed.size;
  }

  #runtime(launchPath: string): Runtime {
    return new Runtime({
      crun: this.options.crun,
      launchPath,
      stateDir: join(this.options.stateDir, 'crun'),
      unmounts: hybridCgroupMounts(),
    });
  }
}

/** Why `names` cannot name a lab's machines (English, for logs and developers); undefined when they can. */
export function labMachinesProblem(names: readonly string[]): string | undefined {
  if (names.length === 0) return 'a lab has at least one machine';
  for (const name of names) {
    const problem = terminalNameProblem(name);
    if (problem) return `machine names follow the terminal-name rule: ${problem}`;
  }
  if (new Set(names).size !== names.length) return `machine names must all differ, got ${JSON.stringify(names)}`;
  return undefined;
}
