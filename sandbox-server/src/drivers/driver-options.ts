// What both drivers' options have in common: the same rule for the same
// value (a path, the course's host name, the cache, the agent's Node, the
// mirror, the log, Docker and its disk, the class registry, the labs'
// addresses, the pids kept for the machine's own services), the same way of
// saying what is wrong, and the same floor under a sandbox's limits. Each
// driver's options.ts adds its own fields.
import { z } from 'zod';
import type { RegistryAccess } from '../images/machine-gates.ts';
import type { SandboxLimits } from './driver.ts';

export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  [field: string]: unknown;
}
export type LogSink = (record: LogRecord) => void;

/** Default log: JSON lines on stderr. */
export const jsonLinesToStderr: LogSink = (record) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
};

export const absolutePath = () => z.string().startsWith('/', 'must be an absolute path');

/** Fields both drivers take, with the same meaning and default. */
export const sharedOptionFields = {
  /** Built root filesystems (rootfs-<recipe hash>, ≈ 410 MB each), compiled helpers; the VM's kernel, initramfs and disk under vm/. Survives reboots. */
  cacheDir: absolutePath().default('/var/cache/cours-linux'),
  /** Host name of every machine, as the course's VM had. */
  hostname: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/, 'must be a valid host name')
    .default('tp-docker'),
  /** Node binary that runs the agent inside (mounted read-only, or copied into the VM's disk); same glibc as the rootfs (Debian 12). */
  nodePath: absolutePath().default(process.execPath),
  /** Debian mirror for building the root filesystem; default: the one the host's apt sources name. */
  mirror: z.url().optional(),
  /** Where structured log records go. */
  log: z.custom<LogSink>((value) => typeof value === 'function', 'must be a function').default(() => jsonLinesToStderr),
  /** Allow a Docker daemon in machines. When false, dockerd is left out whatever SandboxSpec.docker says (lighter classes). */
  docker: z.boolean().default(true),
  /**
   * Size of each machine's /var/lib/docker (images, containers, volumes): a
   * sparse ext4 file (see namespace/docker-disk.ts) whose size is the quota,
   * the host's disk paying only what is written.
   */
  dockerDiskBytes: z
    .number()
    .int()
    .min(256 * 1024 ** 2, 'must be at least 256 MiB (one Debian image and a build)')
    .max(64 * 1024 ** 3, 'must be at most 64 GiB')
    .default(1536 * 1024 ** 2),
  /**
   * The class image store's gates (src/images/machine-gates.ts): each machine with Docker gets a socket of its own
   * (bind-mounted into a namespace sandbox; a VM's image channel leads to it). Absent: no store, `docker pull` fails as it would offline.
   */
  registry: z.custom<RegistryAccess>((value) => typeof value === 'object' && value !== null && 'open' in value, 'must be a RegistryAccess').optional(),
  /**
   * First two octets of the private /16 whose /24s the labs' networks get
   * (one each, different between the labs of one server; machines at .11,
   * .12, …). Only inside each lab's own network namespace: nothing on the
   * host routes to them. Keep it clear of Swarm's default overlay pool (10.0.0.0/8).
   */
  labAddressPrefix: z
    .string()
    .regex(/^(10\.\d{1,3}|172\.(1[6-9]|2\d|3[01])|192\.168)$/, 'the first two octets of a private /16, e.g. "192.168"')
    .default('192.168'),
  /** Tasks kept for the machine's own services (agent, dockerd, containerd) out of the pids limit: terminals together get the rest. */
  reservedPids: z.number().int().min(16).default(160),
};

/** Parses `options` with `schema`, or throws `Invalid` naming every wrong field: "invalid <driver> options — field: why; …". */
export function parseDriverOptions<Schema extends z.ZodType>(
  schema: Schema,
  options: z.input<Schema>,
  driver: string,
  Invalid: new (message: string) => Error,
): z.output<Schema> {
  const parsed = schema.safeParse(options);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(options)'}: ${issue.message}`);
  throw new Invalid(`invalid ${driver} options — ${problems.join('; ')}`);
}

/**
 * The floor every machine's limits stand on, whichever driver makes it; undefined when they do.
 * `minPids`: the driver's own floor, `pidsRule` how it is made (said in the message).
 */
export function sharedLimitsProblem(limits: SandboxLimits, minPids: number, pidsRule: string): string | undefined {
  if (!(limits.memoryBytes >= 64 * 1024 * 1024)) return `limits.memoryBytes must be at least 64 MiB, got ${limits.memoryBytes}`;
  if (!(limits.diskBytes >= 8 * 1024 * 1024)) return `limits.diskBytes must be at least 8 MiB, got ${limits.diskBytes}`;
  if (!(Number.isInteger(limits.pids) && limits.pids >= minPids)) return `limits.pids must be an integer ≥ ${minPids} (${pidsRule}), got ${limits.pids}`;
  if (!(limits.cpus >= 0.01 && limits.cpus <= 64)) return `limits.cpus must be in 0.01..64, got ${limits.cpus}`;
  return undefined;
}
