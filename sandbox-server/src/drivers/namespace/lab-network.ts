// The private network of one lab: a network namespace of the lab's own
// (named <prefix>-lab-<id> under /run/netns) holding one bridge, and per
// machine a veth pair made inside it, whose other end is moved into the
// machine's own network namespace as eth0 with the machine's address.
//
// The lab's namespace has no link to the host's, no address and no route:
// its machines reach each other and nothing else (not the host, not another
// lab, not the outside). No end of any pair ever exists in the host's
// namespace, so interface names never collide between labs. Nothing filters
// on the bridge: Swarm's ports (2377/tcp, 7946/tcp+udp, 4789/udp for VXLAN)
// pass as any other, and the MTU is Ethernet's (VXLAN overlays inside take
// 50 bytes off it, as on real hosts).
import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** Where `ip netns` keeps its named namespaces. */
const NETNS_DIR = '/run/netns';
const BRIDGE = 'lab0';
const MTU = 1500;

export interface LabAddressing {
  /** The lab's /24, e.g. "192.168.7" (addresses are <subnet>.<11 + machine index>). */
  subnet: string;
}

/** The address of machine number `index` (0-based) on a lab's /24. */
export function labAddress(subnet: string, index: number): string {
  return `${subnet}.${11 + index}`;
}

/**
 * The MAC address of the machine at `address`: fixed by its address, so that
 * a machine made anew (reset, or remade after a restart) answers at the MAC
 * the others' neighbour caches still hold (a fresh random one would go
 * unanswered until those entries age out, half a minute and more; a
 * gratuitous ARP at link-up is lost on a veth whose queue is not running
 * yet). Locally administered (02:…), unique within the lab's /24.
 */
export function labMac(address: string): string {
  const octets = address.split('.').map((octet) => Number(octet).toString(16).padStart(2, '0'));
  return `02:4c:${octets.join(':')}`;
}

export function labNetnsName(prefix: string, labId: string): string {
  return `${prefix}-lab-${labId}`;
}

async function ip(args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (error) {
    const stderr = ((error as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`ip ${args.join(' ')} failed: ${stderr || (error as Error).message}`);
  }
}

export class LabNetwork {
  readonly netns: string;
  readonly subnet: string;

  private constructor(netns: string, subnet: string) {
    this.netns = netns;
    this.subnet = subnet;
  }

  /** Makes the lab's namespace and bridge. Removes what it made if a step fails. */
  static async create(prefix: string, labId: string, subnet: string): Promise<LabNetwork> {
    const network = new LabNetwork(labNetnsName(prefix, labId), subnet);
    try {
      await ip(['netns', 'add', network.netns]);
      await ip(['-n', network.netns, 'link', 'add', BRIDGE, 'mtu', String(MTU), 'type', 'bridge']);
      await ip(['-n', network.netns, 'link', 'set', BRIDGE, 'up']);
      return network;
    } catch (error) {
      await removeLabNetns(network.netns).catch(() => {});
      throw error;
    }
  }

  /**
   * The network of lab `labId` left by an earlier server process, or
   * undefined when its namespace is gone (a host reboot empties /run).
   */
  static async existing(prefix: string, labId: string, subnet: string): Promise<LabNetwork | undefined> {
    const network = new LabNetwork(labNetnsName(prefix, labId), subnet);
    return (await stat(`${NETNS_DIR}/${network.netns}`).catch(() => undefined)) ? network : undefined;
  }

  /**
   * Plugs the machine whose init is `pid` into the bridge: a veth pair made in
   * the lab's namespace, one end moved into the machine's namespace as eth0,
   * addressed and up. Host root configures it from outside (it holds
   * CAP_NET_ADMIN over every namespace), before the reader gets a prompt.
   */
  async attach(index: number, pid: number): Promise<string> {
    const address = labAddress(this.subnet, index);
    const port = `m${index}`;
    await ip([
      '-n',
      this.netns,
      'link',
      'add',
      port,
      'mtu',
      String(MTU),
      'master',
      BRIDGE,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'address',
      labMac(address),
      'mtu',
      String(MTU),
      'netns',
      String(pid),
    ]);
    await ip(['-n', this.netns, 'link', 'set', port, 'up']);
    // nsenter --net only: the machine's mount namespace (and so its own `ip`) is not entered.
    const inMachine = (args: string[]) =>
      run('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', ...args]).catch((error: Error & { stderr?: string }) => {
        throw new Error(`ip ${args.join(' ')} in machine ${index} failed: ${(error.stderr ?? '').trim() || error.message}`);
      });
    await inMachine(['addr', 'add', `${address}/24`, 'dev', 'eth0']);
    await inMachine(['link', 'set', 'eth0', 'up']);
    return address;
  }

  /**
   * Removes machine `index`'s pair if it is still there (its machine was
   * destroyed, and the kernel frees a dead namespace's devices lazily), so
   * that attach(index) can make it again. Deleting our end deletes both.
   */
  async unplug(index: number): Promise<void> {
    try {
      await run('ip', ['-n', this.netns, 'link', 'del', `m${index}`]);
    } catch (error) {
      const stderr = ((error as { stderr?: string }).stderr ?? '').trim();
      if (/cannot find device|does not exist/i.test(stderr)) return;
      throw new Error(`ip -n ${this.netns} link del m${index} failed: ${stderr || (error as Error).message}`);
    }
  }

  /** Removes the namespace; the bridge and every pair go with it (a machine's end dies with its peer). Idempotent. */
  remove(): Promise<void> {
    return removeLabNetns(this.netns);
  }
}

async function removeLabNetns(name: string): Promise<void> {
  if (!(await stat(`${NETNS_DIR}/${name}`).catch(() => undefined))) return;
  await ip(['netns', 'delete', name]);
}

/** Lab namespaces on this host made by drivers of `prefix`: lab id and when it was made (ms since the epoch). */
export async function listLabNetns(prefix: string): Promise<{ labId: string; sinceMs: number }[]> {
  const start = `${prefix}-lab-`;
  const found: { labId: string; sinceMs: number }[] = [];
  for (const name of await readdir(NETNS_DIR).catch(() => [] as string[])) {
    if (!name.startsWith(start)) continue;
    const sinceMs = (await stat(`${NETNS_DIR}/${name}`).catch(() => undefined))?.mtimeMs ?? 0;
    found.push({ labId: name.slice(start.length), sinceMs });
  }
  return found;
}

export { removeLabNetns };
