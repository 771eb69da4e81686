// The VM driver: one QEMU virtual machine per reader, behind the same
// contract as the namespace driver. Stronger isolation (its own kernel: a
// kernel bug inside hurts one VM, not the host), for a much higher price in
// memory and start time; see the README's "Choosing a driver".
//
//   const driver = createVmDriver({ log });   (from ./index.ts)
//   await driver.checkHost(); await driver.cleanupLeftovers(); await driver.prepare(progress);
//   const sandbox = await driver.create({ id, limits, docker: true });
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { HostNotSupportedError, type LeftoverOptions, type PrepareProgress, type Sandbox, type SandboxDriver, type SandboxSpec } from '../driver.ts';
import { ensureRootfs } from '../../rootfs/build.ts';
import { ensureHelpers } from '../../rootfs/native.ts';
import { chooseAccelerator, type Accelerator } from './accelerator.ts';
import { ensureHostCommands } from './debian-packages.ts';
import { ensureDiskImage } from './disk-image.ts';
import { ensureGuestBoot, type GuestBoot } from './guest-boot.ts';
import { removeLeftoverVms } from './leftovers.ts';
import { checkVmLimits, resolveVmOptions, type ResolvedVmOptions, type VmDriverOptions } from './options.ts';
import { machineIdProblem } from '../../../../contracts/names.ts';
import { commandExists } from './run-command.ts';
import { VmSandbox, type VmHost } from './vm-sandbox.ts';
import { vmLabParts, type VmLab } from './vm-lab.ts';
import { adoptLab, labMachineId, startLab } from '../machine-lab.ts';
import { labMachinesProblem } from '../namespace/driver.ts';
import { listLabNetns, removeLabNetns } from '../namespace/lab-network.ts';

/** Free space of the disk image prepare() builds: the server's default SANDBOX_DISK. Other sizes are built on first use. */
const PREPARED_DISK_FREE_BYTES = 128 * 1024 * 1024;

interface Prepared {
  boot: GuestBoot;
  accelerator: Accelerator;
  rootfs: string;
  initPath: string;
  agentDir: string;
}

export class VmDriver implements SandboxDriver {
  readonly name = 'vm' as const;
  readonly options: ResolvedVmOptions;
  #prepared: Prepared | undefined;
  #disks = new Map<number, Promise<string>>();
  #sandboxes = new Map<string, VmSandbox>();
  /** Live labs, by id (their machines are in #sandboxes too). */
  #labs = new Map<string, VmLab>();
  /** Ids being booted: a second create() with one of them is refused at once. */
  #starting = new Set<string>();

  constructor(options: VmDriverOptions = {}) {
    this.options = resolveVmOptions(options);
  }

  /** The accelerator VMs run with (known after prepare()). */
  get accelerator(): Accelerator | undefined {
    return this.#prepared?.accelerator;
  }

  /** The guest kernel's release (known after prepare()). */
  get guestKernelRelease(): string | undefined {
    return this.#prepared?.boot.release;
  }

  async checkHost(): Promise<void> {
    if (process.platform !== 'linux') {
      throw new HostNotSupportedError(`the VM driver runs on Linux only, not ${process.platform}`, 'run the sandbox server on a Debian 12 host');
    }
    if (process.getuid?.() !== 0) {
      throw new HostNotSupportedError(
        'the VM driver needs root (to build the guest disk and install QEMU)',
        'start the sandbox server as root, e.g. in a dedicated VM or container host',
      );
    }
    const missing: string[] = [];
    for (const [command, pkg] of [
      ['apt-get', 'apt'],
      ['dpkg-deb', 'dpkg'],
      ['mkfs.ext4', 'e2fsprogs'],
      ['debootstrap', 'debootstrap'],
      ['gzip', 'gzip'],
    ]) {
      if (!(await commandExists(command!))) missing.push(`${command} (${pkg})`);
    }
    if (!this.options.installPackages && !(await commandExists(this.options.qemu))) missing.push(`${this.options.qemu} (qemu-system-x86)`);
    if (missing.length > 0) {
      throw new HostNotSupportedError(
        `missing on this host: ${missing.join(', ')}`,
        'run scripts/install.sh on a Debian 12 host (apt-get install the packages named above)',
      );
    }
  }

  async prepare(progress: PrepareProgress): Promise<void> {
    const { options } = this;
    await ensureHostCommands({ [options.qemu]: 'qemu-system-x86', xz: 'xz-utils' }, { install: options.installPackages, progress });
    const rootfs = await ensureRootfs({ cacheDir: options.cacheDir, mirror: options.mirror, progress });
    const helpers = await ensureHelpers(options.cacheDir, progress);
    const boot = await ensureGuestBoot(options.cacheDir, progress);
    const prepared: Prepared = { boot, rootfs, initPath: helpers.init, agentDir: helpers.agent, accelerator: 'tcg' };
    this.#prepared = prepared;
    this.#disks.clear();
    await this.diskImage(PREPARED_DISK_FREE_BYTES, progress);
    const choice = await chooseAccelerator(options.accelerator, { qemu: options.qemu, cacheDir: options.cacheDir, boot, progress });
    prepared.accelerator = choice.accelerator;
    await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    const prepared = this.#prepared;
    if (!prepared) throw new Error('the VM driver is not prepared: call prepare() before create()');
    // A lab's machines are named <lab id>-<index>: the longest of them must be a valid machine id.
    const idProblem = machineIdProblem(spec.machines ? labMachineId(spec.id, spec.machines.length - 1) : spec.id);
    if (idProblem) throw new RangeError(idProblem);
    if (spec.machines) {
      const machinesProblem = labMachinesProblem(spec.machines);
      if (machinesProblem) throw new RangeError(machinesProblem);
      if (this.#labs.has(spec.id)) throw new Error(`sandbox ${spec.id} already exists`);
    }
    if (this.#sandboxes.has(spec.id) || this.#starting.has(spec.id)) throw new Error(`sandbox ${spec.id} already exists`);
    const problem = checkVmLimits(spec.limits, this.options);
    if (problem) throw new RangeError(`invalid sandbox limits: ${problem}`);
    // Another process sharing the cache (a second checkout, CI) may have
    // pruned the build we prepared: build it again rather than fail.
    if (!existsSync(prepared.boot.kernel) || !existsSync(prepared.boot.initrd)) {
      prepared.boot = await ensureGuestBoot(this.options.cacheDir, () => {});
    }
    const host = this.#host();
    this.#starting.add(spec.id);
    try {
      if (spec.machines) {
        const lab = await startLab(vmLabParts(host, spec, this.#track), { ...spec, machines: spec.machines }, this.#freeLabSubnet());
        this.#labs.set(spec.id, lab);
        void lab.onExit(() => this.#labs.delete(spec.id));
        return lab;
      }
      const sandbox = await VmSandbox.start(host, spec);
      this.#sandboxes.set(spec.id, sandbox);
      return sandbox;
    } finally {
      this.#starting.delete(spec.id);
    }
  }

  /**
   * Takes over VM `spec.id` left running by an earlier server process: QEMU,
   * its agent with the shells and their recent output. Throws
   * SandboxLostError when it stopped meanwhile (its remains are removed).
   */
  async adopt(spec: SandboxSpec): Promise<Sandbox> {
    const host = this.#host();
    if (this.#sandboxes.has(spec.id) || this.#labs.has(spec.id) || this.#starting.has(spec.id)) throw new Error(`sandbox ${spec.id} already exists`);
    this.#starting.add(spec.id);
    try {
      if (spec.machines) {
        if (spec.addresses?.length !== spec.machines.length) throw new RangeError(`lab ${spec.id}: adopt() needs the address of each of its machines`);
        const lab = await adoptLab(vmLabParts(host, spec, this.#track), { ...spec, machines: spec.machines, addresses: spec.addresses });
        this.#labs.set(spec.id, lab);
        void lab.onExit(() => this.#labs.delete(spec.id));
        return lab;
      }
      const sandbox = await VmSandbox.adopt(host, spec);
      this.#sandboxes.set(spec.id, sandbox);
      return sandbox;
    } finally {
      this.#starting.delete(spec.id);
    }
  }

  readonly #track = (member: VmSandbox) => this.#sandboxes.set(member.id, member);

  #host(): VmHost {
    const prepared = this.#prepared;
    if (!prepared) throw new Error('the VM driver is not prepared: call prepare() first');
    return {
      options: this.options,
      boot: prepared.boot,
      accelerator: prepared.accelerator,
      diskImage: (freeBytes) => this.diskImage(freeBytes),
      forget: (id) => this.#sandboxes.delete(id),
    };
  }

  /** Live labs of this driver instance. */
  get labs(): ReadonlyMap<string, VmLab> {
    return this.#labs;
  }

  /** A /24 that no live lab of this instance uses (labs of other servers may share one: their networks never meet). */
  #freeLabSubnet(): string {
    const used = new Set<string>();
    for (const [id, lab] of this.#labs) {
      if (lab.members.some((member) => this.#sandboxes.get(member.id) === member)) used.add(lab.machines[0]!.address.split('.').slice(0, 3).join('.'));
      else this.#labs.delete(id);
    }
    for (let third = 1; third < 255; third++) {
      const subnet = `${this.options.labAddressPrefix}.${third}`;
      if (!used.has(subnet)) return subnet;
    }
    return `${this.options.labAddressPrefix}.1`; // more than 254 labs: two isolated networks sharing a subnet never meet
  }

  async cleanupLeftovers(leftovers: LeftoverOptions = {}): Promise<number> {
    const { stateDir, prefix, log } = this.options;
    let removed = await removeLeftoverVms(stateDir, prefix, log, leftovers);
    // A lab's network outlives none of its VMs: spared while one of them has a directory, or while it is fresh (being made).
    const vmDirs = await readdir(stateDir).catch(() => [] as string[]);
    for (const { labId, sinceMs } of await listLabNetns(prefix)) {
      if (vmDirs.some((name) => name.startsWith(`${prefix}-${labId}-`)) || Date.now() - sinceMs < 60_000) continue;
      await removeLabNetns(`${prefix}-lab-${labId}`)
        .then(() => removed++)
        .catch((error: Error) => log({ level: 'warn', msg: 'leftover VM lab network not removed', error: error.message }));
    }
    return removed;
  }

  /** The guest disk image with `freeBytes` of free space (built on first use, then cached); after prepare(). */
  diskImage(freeBytes: number, progress: PrepareProgress = () => {}): Promise<string> {
    const prepared = this.#prepared;
    if (!prepared) return Promise.reject(new Error('the VM driver is not prepared: call prepare() first'));
    const cached = this.#disks.get(freeBytes);
    if (cached) {
      return cached.then((path) => {
        if (existsSync(path)) return path;
        // Pruned by another process sharing the cache since (a second checkout, CI): build it again.
        this.#disks.delete(freeBytes);
        return this.diskImage(freeBytes, progress);
      });
    }
    const disk = ensureDiskImage(
      {
        cacheDir: this.options.cacheDir,
        rootfs: prepared.rootfs,
        nodePath: this.options.nodePath,
        initPath: prepared.initPath,
        agentDir: prepared.agentDir,
        freeBytes,
        boot: prepared.boot,
      },
      progress,
    );
    // A failed build is tried again by the next sandbox, not remembered.
    disk.catch(() => this.#disks.delete(freeBytes));
    this.#disks.set(freeBytes, disk);
    return disk;
  }
}
