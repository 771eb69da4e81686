// The private network of one lab: a network namespace of the lab's own
// (named <prefix>-lab-<id> under /run/netns) holding one bridge, and per
// machine a veth pair made inside it, whose other end is moved into the
// machine's own network namespace as eth0 with the machine's address.
//
// Who the namespace is charged to. The kernel counts every namespace
// (user.max_net_namespaces…) against the owner of the user namespace it is
// made in, at the host's level (kernel/ucount.c). `ip netns add` makes it in
// the host's, so every lab would be host root's; each namespace machine's own
// namespaces are its base host uid's instead (native/sandbox-launch.c). So a
// namespace driver's lab network is made with its first machine to join
// (ownedByMachines): in a user namespace of its own, owned by that machine's
// base uid — a sibling of the machine's user namespace, not inside it, so that
// root in the machine has no capability over the lab's bridge (a namespace
// owner's rights go to processes of the host's user namespace running as that
// uid, and none does; the short-lived process that makes it is ours). Host root
// still configures it from outside. The VM driver's stays host root's
// (vm/vm-lab.ts says why).
//
// The lab's namespace has no link to the host's, no address and no route:
// its machines reach each other and nothing else (not the host, not another
// lab, not the outside). No end of any pair ever exists in the host's
// namespace, so interface names never collide between labs. Nothing filters
// on the bridge: Swarm's ports (2377/tcp, 7946/tcp+udp, 4789/udp for VXLAN)
// pass as any other, and the MTU is Ethernet's (VXLAN overlays inside take
// 50 bytes off it, as on real hosts).
import { execFile, spawn } from 'node:child_process';
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

/** Who a new lab network's namespace is charged to (see the top of this file). */
export type LabNetworkOwner = 'host-root' | 'first-machine';

export class LabNetwork {
  readonly netns: string;
  readonly subnet: string;
  /** Resolves once the namespace and its bridge exist; undefined until the first machine joins, for a network made by it. */
  #made: Promise<void> | undefined;

  private constructor(netns: string, subnet: string, made?: Promise<void>) {
    this.netns = netns;
    this.subnet = subnet;
    this.#made = made;
  }

  /**
   * A new network for lab `labId`. `host-root`: its namespace and bridge are
   * made now, by host root (`ip netns add`). `first-machine`: made when the
   * first machine joins (attach), owned by that machine's base uid. Either way
   * a failed step removes what it made.
   */
  static async create(prefix: string, labId: string, subnet: string, owner: LabNetworkOwner = 'host-root'): Promise<LabNetwork> {
    const network = new LabNetwork(labNetnsName(prefix, labId), subnet);
    if (owner === 'host-root') await network.#make(undefined);
    return network;
  }

  /** Makes the namespace (by host root, or owned by `ownerUid`) and its bridge, once; later calls wait for the first. */
  #make(ownerUid: number | undefined): Promise<void> {
    this.#made ??= (async () => {
      try {
        if (ownerUid === undefined) await ip(['netns', 'add', this.netns]);
        else await addOwnedNetns(this.netns, ownerUid);
        await ip(['-n', this.netns, 'link', 'add', BRIDGE, 'mtu', String(MTU), 'type', 'bridge']);
        await ip(['-n', this.netns, 'link', 'set', BRIDGE, 'up']);
      } catch (error) {
        await removeLabNetns(this.netns).catch(() => {});
        throw error;
      }
    })();
    return this.#made;
  }

  /**
   * The network of lab `labId` left by an earlier server process, or
   * undefined when its namespace is gone (a host reboot empties /run).
   */
  static async existing(prefix: string, labId: string, subnet: string): Promise<LabNetwork | undefined> {
    const network = new LabNetwork(labNetnsName(prefix, labId), subnet, Promise.resolve());
    return (await stat(`${NETNS_DIR}/${network.netns}`).catch(() => undefined)) ? network : undefined;
  }

  /**
   * Plugs the machine whose init is `pid` into the bridge: a veth pair made in
   * the lab's namespace, one end moved into the machine's namespace as eth0,
   * addressed and up. Host root configures it from outside (it holds
   * CAP_NET_ADMIN over every namespace), before the reader gets a prompt. The
   * first machine to join a `first-machine` network makes it, owned by
   * `ownerUid` (that machine's base host uid; unused once the network exists).
   */
  async attach(index: number, pid: number, ownerUid: number): Promise<string> {
    await this.#make(ownerUid);
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

/**
 * Makes network namespace `name` inside a new user namespace owned by host uid
 * `uid`: a child drops to that uid and unshares both (the user namespace first,
 * so the network one is made in it), host root names the child's namespace
 * (`ip netns attach`: a bind mount under /run/netns keeps it), and the child
 * ends. The new user namespace maps no id: nothing ever runs in it.
 */
async function addOwnedNetns(name: string, uid: number): Promise<void> {
  const child = spawn(
    'setpriv',
    ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', '--', 'unshare', '--user', '--net', '--', 'sh', '-c', 'echo made; read _'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    const said = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      child.once('error', reject);
      child.once('close', () => resolve(out.trim()));
    });
    if (said !== 'made') {
      await exited;
      throw new Error(`could not make a network namespace owned by host uid ${uid}: ${stderr.trim() || `setpriv/unshare said ${JSON.stringify(said)}`}`);
    }
    await ip(['netns', 'attach', name, String(child.pid)]);
  } finally {
    // Its read ends at end of input; kill is for a child that never got there.
    child.stdin.end();
    child.kill('SIGKILL');
    await exited;
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
