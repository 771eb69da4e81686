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
  'virtio_net', // a lab's NIC: no udev in the guest loads it when the PCI device appears
] as const;

/**
 * The parts of the kernel's module tree the guest's disk carries, for the
 * guest's own modprobe (kmod, in the root filesystem) to load on demand: the
 * kernel asks for "nft-expr-…", "rtnl-link-veth", "xt_…" as dockerd,
 * iptables-nft and `ip link` need them, and dockerd modprobes bridge,
 * br_netfilter and overlay itself. Whole directories rather than a list:
 * which netfilter matches a Docker or Swarm version uses changes, and a
 * missing one only shows as a rule that fails to load. ≈ 20 MB.
 */
export const GUEST_DISK_MODULE_DIRS = [
  'kernel/net/netfilter/', // nf_tables, nft_*, xt_*, conntrack, NAT, IPVS (Swarm's routing mesh)
  'kernel/net/ipv4/',
  'kernel/net/ipv6/',
  'kernel/net/bridge/', // docker0, br-*, br_netfilter
  'kernel/net/802/',
  'kernel/net/llc/',
  'kernel/net/8021q/',
  'kernel/net/sched/', // tc, which Swarm's overlay does not need but `docker network` tooling may
  'kernel/net/core/',
  'kernel/net/xfrm/', // encrypted overlays (--opt encrypted)
  'kernel/net/key/',
  'kernel/drivers/net/veth.ko',
  'kernel/drivers/net/vxlan/', // Swarm's overlay networks
  'kernel/drivers/net/dummy.ko',
  'kernel/drivers/net/macvlan.ko',
  'kernel/drivers/net/ipvlan/',
  'kernel/drivers/net/tun.ko',
  'kernel/drivers/net/virtio_net.ko',
  'kernel/drivers/net/net_failover.ko',
  'kernel/fs/overlayfs/',
] as const;

/**
 * Module paths (relative to lib/modules/<release>/) under `dirs`, with every
 * module they depend on wherever it lives (crypto, lib, …).
 */
export function modulesUnder(dirs: readonly string[], modules: ModuleDeps): string[] {
  const chosen = new Set<string>();
  const visit = (name: string) => {
    const path = modules.paths.get(name);
    if (!path || chosen.has(path)) return;
    chosen.add(path);
    for (const dep of modules.deps.get(name) ?? []) visit(dep);
  };
  for (const [name, path] of modules.paths) {
    if (dirs.some((dir) => (dir.endsWith('/') ? path.startsWith(dir) : path === dir))) visit(name);
  }
  return [...chosen].sort();
}

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
