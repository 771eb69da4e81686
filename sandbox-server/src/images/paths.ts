// Where the class image store lives on the host. One store per host, shared
// by every sandbox of every driver.
//
//   /var/lib/cours-linux/images/             the class's images (on disk; survives reboots), read-only to readers
//   /var/lib/cours-linux/reader-images/      what readers pushed, one namespace each (machine-gates.ts)
//   /var/lib/cours-linux/image-cache/        the pull-through cache's copies, when IMAGE_STORE_UPSTREAM is set
//   /run/cours-linux/images-<pid>/registry/  the registries' own sockets (root only)
//   /run/cours-linux/registry-gate/<machine>/gate.sock  what machine <machine> reaches, and only it (gate-rules.ts)
import { existsSync, readdirSync, rmSync } from 'node:fs';

export interface ImageStorePaths {
  storageDir: string;
  /** Root-only directory of the registry's own socket and configuration. */
  privateDir: string;
  /** Root of the machines' gate directories: <gateDir>/<machine id>/ is bind-mounted (read-only) into that machine. */
  gateDir: string;
  /** What readers pushed (default: DEFAULT_READERS_STORAGE). Never the class's storage: a reader's write cannot touch it. */
  readersStorageDir?: string;
  /** The pull-through cache's storage (default: DEFAULT_CACHE_STORAGE). */
  cacheStorageDir?: string;
}

export const DEFAULT_READERS_STORAGE = '/var/lib/cours-linux/reader-images';
export const DEFAULT_CACHE_STORAGE = '/var/lib/cours-linux/image-cache';

export const DEFAULT_IMAGE_STORE_PATHS: ImageStorePaths = {
  storageDir: '/var/lib/cours-linux/images',
  privateDir: '/run/cours-linux/registry',
  gateDir: '/run/cours-linux/registry-gate',
};

/**
 * The registries' sockets of the store a server process serves: a directory
 * of its own (two servers, or a server and a test run, may share the host and
 * its storage), removed when it stops, or by the next server if it died. The
 * machines' gate directories are not per process: a machine kept across a
 * restart finds the next server's socket where the last one was.
 */
export function serverStorePaths(pid = process.pid): ImageStorePaths {
  const run = `${RUN_ROOT}/images-${pid}`;
  return { storageDir: DEFAULT_IMAGE_STORE_PATHS.storageDir, privateDir: `${run}/registry`, gateDir: DEFAULT_IMAGE_STORE_PATHS.gateDir };
}

/** Socket directories of server processes that are gone. */
export function removeStaleServerStores(): void {
  for (const name of existsSync(RUN_ROOT) ? readdirSync(RUN_ROOT) : []) {
    const pid = Number(/^images-(\d+)$/.exec(name)?.[1] ?? 0);
    if (!pid || isAlive(pid)) continue;
    rmSync(`${RUN_ROOT}/${name}`, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const RUN_ROOT = '/run/cours-linux';

export const GATE_SOCKET_NAME = 'gate.sock';
export const REGISTRY_SOCKET_NAME = 'registry.sock';
export const READERS_REGISTRY_SOCKET_NAME = 'readers.sock';
export const CACHE_REGISTRY_SOCKET_NAME = 'cache.sock';

/** Inside a sandbox: where the gate's directory appears, and the machine-local address dockerd uses as its Docker Hub mirror. */
export const SANDBOX_REGISTRY = {
  dir: '/.sandbox/registry',
  socket: `/.sandbox/registry/${GATE_SOCKET_NAME}`,
  port: 5000,
} as const;
