// Where the class image store lives on the host. One store per host, shared
// by every sandbox of every driver.
//
//   /var/lib/cours-linux/images/            the registry's storage (on disk; survives reboots)
//   /run/cours-linux/registry/registry.sock the registry itself (root only)
//   /run/cours-linux/registry-gate/gate.sock what sandboxes reach: GET/HEAD of images only (read-only-gate.ts)
import { existsSync, readdirSync, rmSync } from 'node:fs';

export interface ImageStorePaths {
  storageDir: string;
  /** Root-only directory of the registry's own socket and configuration. */
  privateDir: string;
  /** Directory bind-mounted (read-only) into every sandbox; holds the gate's socket. */
  gateDir: string;
}

export const DEFAULT_IMAGE_STORE_PATHS: ImageStorePaths = {
  storageDir: '/var/lib/cours-linux/images',
  privateDir: '/run/cours-linux/registry',
  gateDir: '/run/cours-linux/registry-gate',
};

/**
 * Sockets of the store a server process serves: a directory of its own (two
 * servers, or a server and a test run, may share the host and its storage),
 * removed when it stops, or by the next server if it died.
 */
export function serverStorePaths(pid = process.pid): ImageStorePaths {
  const run = `${RUN_ROOT}/images-${pid}`;
  return { storageDir: DEFAULT_IMAGE_STORE_PATHS.storageDir, privateDir: `${run}/registry`, gateDir: `${run}/gate` };
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

/** Inside a sandbox: where the gate's directory appears, and the machine-local address dockerd uses as its Docker Hub mirror. */
export const SANDBOX_REGISTRY = {
  dir: '/.sandbox/registry',
  socket: `/.sandbox/registry/${GATE_SOCKET_NAME}`,
  port: 5000,
} as const;
