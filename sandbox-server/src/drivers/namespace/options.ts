// Options of the namespace driver: a plain object the server's configuration
// fills. Every field is optional; the defaults suit one host serving one class.
import { z } from 'zod';
import type { SandboxLimits } from '../driver.ts';
import {
  absolutePath,
  jsonLinesToStderr,
  parseDriverOptions,
  sharedLimitsProblem,
  sharedOptionFields,
  type LogRecord,
  type LogSink,
} from '../driver-options.ts';

export { jsonLinesToStderr, type LogRecord, type LogSink };

export const DEFAULT_LIMITS: SandboxLimits = {
  // dockerd + containerd take ≈ 60 MiB; the rest holds a few containers (a shell ≈ 5 MiB, httpd ≈ 1 MiB).
  memoryBytes: 512 * 1024 * 1024,
  // dockerd, containerd and one shim per container are thread-heavy (≈ 10–20 tasks each).
  pids: 1024,
  cpus: 0.5,
  // Well below the memory limit: the writable layer is a tmpfs charged to the
  // sandbox's memory, and a full disk must give ENOSPC, not an OOM kill of PID 1.
  diskBytes: 96 * 1024 * 1024,
};

const optionsSchema = z.object({
  // cacheDir, hostname, nodePath, mirror, log, docker, dockerDiskBytes, registry, labAddressPrefix, reservedPids: see driver-options.ts.
  ...sharedOptionFields,
  /** Per-sandbox bundles and agent sockets, crun's state and the uid-range locks. A tmpfs is best: a reboot empties it, as it kills every sandbox. */
  stateDir: absolutePath().default('/run/cours-linux'),
  /** Per-sandbox Docker disks (sparse ext4 images, see docker-disk.ts): on a real disk, not a tmpfs. */
  dockerDiskDir: absolutePath().default('/var/lib/cours-linux/docker-disks'),
  /** Name of the cgroup (in every hierarchy) under which sandboxes get theirs, and prefix of every host resource. */
  prefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,30}$/, 'lowercase letters, digits and dashes')
    .default('cours-linux'),
  /** First host uid of the first sandbox's range; each live sandbox gets its own 65536 ids from there. Keep clear of real users and /etc/subuid. */
  uidRangeStart: z.number().int().min(100_000).default(1_000_000),
  /** Most sandboxes alive at once on this host (number of uid ranges). */
  maxSandboxes: z.number().int().min(1).max(60_000).default(512),
  /** Low pids held by the sandbox's init (see native/sandbox-init.c); they count in the pids limit. */
  holdPids: z.number().int().min(0).max(1000).default(100),
  /** How long a sandbox may take from `crun run` to its agent saying hello. */
  startTimeoutMs: z.number().int().min(1000).default(30_000),
  /** The OCI runtime. */
  crun: z.string().default('crun'),
});

export type NamespaceDriverOptions = z.input<typeof optionsSchema>;
export type ResolvedOptions = z.output<typeof optionsSchema>;

export class InvalidOptionsError extends Error {
  override name = 'InvalidOptionsError';
}

export function resolveOptions(options: NamespaceDriverOptions = {}): ResolvedOptions {
  const resolved = parseDriverOptions(optionsSchema, options, 'namespace driver', InvalidOptionsError);
  if (resolved.uidRangeStart + resolved.maxSandboxes * 65536 > 2 ** 32 - 1) {
    throw new InvalidOptionsError(`invalid namespace driver options — uidRangeStart + maxSandboxes × 65536 must stay below 2^32; lower maxSandboxes`);
  }
  return resolved;
}

/** What a spec's limits must satisfy on top of the contract's types. */
export function checkLimits(limits: SandboxLimits, options: ResolvedOptions): string | undefined {
  const shared = sharedLimitsProblem(limits, options.holdPids + options.reservedPids + 16, 'holdPids + reservedPids + 16');
  if (shared) return shared;
  if (!(limits.diskBytes <= limits.memoryBytes * 0.75)) {
    return `limits.diskBytes (${limits.diskBytes}) must stay well below limits.memoryBytes (${limits.memoryBytes}): the writable layer lives in memory`;
  }
  return undefined;
}
