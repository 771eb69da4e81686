// What both drivers' options have in common: the same rule for the same
// value (a path, the course's host name, the cache, the agent's Node, the
// mirror, the log), the same way of saying what is wrong, and the same floor
// under a sandbox's limits. Each driver's options.ts adds its own fields.
import { z } from 'zod';
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
