// Where the class image store lives on the host. One store per host, shared
// by every sandbox of every driver.
//
//   /var/lib/cours-linux/images/            the registry's storage (on disk; survives reboots)
//   /run/cours-linux/registry/registry.sock the registry itself (root only)
//   /run/cours-linux/registry-gate/gate.sock what sandboxes reach: GET/HEAD of images only (read-only-gate.ts)
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

export const GATE_SOCKET_NAME = 'gate.sock';
export const REGISTRY_SOCKET_NAME = 'registry.sock';

/** Inside a sandbox: where the gate's directory appears, and the machine-local address dockerd uses as its Docker Hub mirror. */
export const SANDBOX_REGISTRY = {
  dir: '/.sandbox/registry',
  socket: `/.sandbox/registry/${GATE_SOCKET_NAME}`,
  port: 5000,
} as const;
