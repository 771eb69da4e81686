// Which kernel modules the initramfs loads, and in which order. Debian's
// kernel builds the virtio and ext4 drivers as modules; busybox's insmod
// knows nothing of dependencies, so the order is computed here from
// modules.dep (as `depmod` writes it: "path.ko: dep.ko dep.ko …").

/** What the guest needs before its root is mounted (and overlay, for dockerd's storage). */
export const GUEST_MODULES = [
  'virtio_pci', // the bus every device below hangs on
  'virtio_blk', // the disk
  'virtio_console', // the agent's virtio-serial port
  'virtio-rng', // entropy: Node blocks on getrandom() until the pool is seeded
  'crc32c_generic', // ext4's metadata checksums
  'ext4',
  'overlay', // dockerd's overlay2 storage driver
] as const;

export interface ModuleDeps {
  /** Module name (file name without .ko) → its path relative to lib/modules/<release>/. */
  paths: Map<string, string>;
  /** Module name → names of the modules it needs. */
  deps: Map<string, string[]>;
}

const nameOf = (path: string) => path.slice(path.lastIndexOf('/') + 1).replace(/\.ko(\.xz|\.zst|\.gz)?$/, '');

export function parseModulesDep(text: string): ModuleDeps {
  const paths = new Map<string, string>();
  const deps = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const path = line.slice(0, colon).trim();
    const name = nameOf(path);
    paths.set(name, path);
    deps.set(
      name,
      line
        .slice(colon + 1)
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(nameOf),
    );
  }
  return { paths, deps };
}

/**
 * The modules to load, dependencies first, each once. Throws when one is
 * unknown (a kernel that builds it in would need no module: pass only the
 * ones `modules.builtin` does not list).
 */
export function loadOrder(wanted: readonly string[], modules: ModuleDeps, builtin: ReadonlySet<string> = new Set()): string[] {
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string, chain: string[]) => {
    if (order.includes(name) || builtin.has(name)) return;
    if (visiting.has(name)) throw new Error(`kernel modules depend on each other in a loop: ${[...chain, name].join(' → ')}`);
    const deps = modules.deps.get(name);
    if (!deps) throw new Error(`kernel module ${name} is neither in modules.dep nor built in (needed by ${chain.join(' → ') || 'the guest'})`);
    visiting.add(name);
    for (const dep of deps) visit(dep, [...chain, name]);
    visiting.delete(name);
    order.push(name);
  };
  for (const name of wanted) visit(name, []);
  return order;
}

/** Names of the modules built into the kernel, from modules.builtin. */
export function parseBuiltin(text: string): Set<string> {
  return new Set(text.split('\n').filter(Boolean).map(nameOf));
}
