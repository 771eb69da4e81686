// Options of the VM driver: a plain object the server's configuration fills.
// Every field is optional; the defaults suit one host serving one class.
import { z } from 'zod';
import type { SandboxLimits } from '../driver.ts';
import { absolutePath, parseDriverOptions, sharedLimitsProblem, sharedOptionFields, type LogRecord, type LogSink } from '../driver-options.ts';

export type { LogRecord, LogSink };

const optionsSchema = z.object({
  // cacheDir (shared with the namespace driver; the VM's files go under vm/), hostname, nodePath, mirror, log,
  // docker, dockerDiskBytes (a second virtio disk, in the VM's directory), registry, labAddressPrefix, reservedPids: see driver-options.ts.
  ...sharedOptionFields,
  /**
   * One directory per VM: the agent's socket, the console log and the disk's
   * copy-on-write layer (grows with what the reader writes). On disk, not a
   * tmpfs, so that writes inside a VM do not take host memory.
   */
  stateDir: absolutePath().default('/var/tmp/cours-linux-vm'),
  /** Prefix of every VM's directory and QEMU process name (how a later run recognises leftovers). */
  prefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,14}$/, 'lowercase letters, digits and dashes, at most 15 characters')
    .default('cours-linux-vm'),
  /** "auto": KVM when a probe boot under KVM works on this host (result cached), else TCG (emulation, ≈ 10× slower). */
  accelerator: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
  /** The QEMU binary; installed with apt (qemu-system-x86) by prepare() when missing. */
  qemu: z.string().default('qemu-system-x86_64'),
  /** Firmware QEMU boots with: qboot (minimal, from qemu-system-data; ≈ 1 s faster under TCG) or an empty string for QEMU's default SeaBIOS. */
  bios: z.string().default('/usr/share/qemu/qboot.rom'),
  /** Install missing Debian packages (qemu-system-x86) in prepare() with apt-get. */
  installPackages: z.boolean().default(true),
  /**
   * Guest memory never goes below this, whatever limits.memoryBytes says. With
   * 256 MiB, a guest running dockerd uses ≈ 72 MiB and has ≈ 130 MiB available.
   */
  minMemoryBytes: z
    .number()
    .int()
    .min(128 * 1024 * 1024)
    .default(256 * 1024 * 1024),
  /** TCG's translation cache, in MiB. QEMU's default (1 GiB reserved, ≈ 770 MiB RSS) dwarfs the guest; 64 keeps QEMU near 400 MiB. */
  tbSizeMiB: z.number().int().min(16).max(2048).default(64),
  /** How long a VM may take from QEMU's start to its agent saying hello (TCG on a busy host: tens of seconds). */
  bootTimeoutMs: z.number().int().min(5_000).default(240_000),
  /** Unprivileged user QEMU switches to once it has opened its files; empty: QEMU stays root. */
  runAs: z
    .string()
    .regex(/^([a-z_][a-z0-9_-]*)?$/, 'a user name, or empty')
    .default('nobody'),
});

export type VmDriverOptions = z.input<typeof optionsSchema>;
export type ResolvedVmOptions = z.output<typeof optionsSchema>;

export class InvalidVmOptionsError extends Error {
  override name = 'InvalidVmOptionsError';
}

export function resolveVmOptions(options: VmDriverOptions = {}): ResolvedVmOptions {
  return parseDriverOptions(optionsSchema, options, 'VM driver', InvalidVmOptionsError);
}

/** What a spec's limits must satisfy for a VM; undefined when they do. */
export function checkVmLimits(limits: SandboxLimits, options: ResolvedVmOptions): string | undefined {
  return sharedLimitsProblem(limits, options.reservedPids + 16, 'reservedPids + 16');
}

/** Guest RAM in MiB: the sandbox's memory limit, raised to the floor a Debian guest needs. */
export function guestMemoryMiB(limits: SandboxLimits, options: ResolvedVmOptions): number {
  return Math.ceil(Math.max(limits.memoryBytes, options.minMemoryBytes) / (1024 * 1024));
}

/** vCPUs: whole cores, at least one. */
export function guestCpus(limits: SandboxLimits): number {
  return Math.max(1, Math.ceil(limits.cpus));
}
