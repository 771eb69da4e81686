// A lab in the namespace driver, as the course's Swarm chapter uses it:
// three machines (node1, node2, node3) of one reader on a private network of
// their own, each with its name, resolving the others by name, reaching
// nothing else; Swarm across them; the lab's network namespace charged to
// one of its machines' host uids, not to host root; and nothing left on the
// host afterwards.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamespaceLab } from '../../sandbox-server/src/drivers/namespace/lab.ts';
import { labMachineId } from '../../sandbox-server/src/drivers/namespace/lab.ts';
import { namespaceLeftovers } from '../support/namespace-leftovers.ts';
import { ImageStoreFixture } from '../support/image-store-fixture.ts';
import { NamespaceFixture, type OpenedTerminal } from '../support/namespace-fixture.ts';

const images = new ImageStoreFixture();
const fixture = new NamespaceFixture({ registry: images.gates });
const NODES = ['node1', 'node2', 'node3'];
let lab: NamespaceLab;
let other: NamespaceLab;
const terms = new Map<string, OpenedTerminal>();
const slow = { timeoutMs: 180_000 };

/** Runs `command` in machine `node`'s terminal; fails the test with the output if it fails. */
async function on(node: string, command: string): Promise<string> {
  const result = await terms.get(node)!.reader.run(command, slow);
  if (result.exitCode !== 0) throw new Error(`${node}: "${command}" exited ${result.exitCode}:\n${result.output}`);
  return result.output.replace(/\r/g, '');
}

/** Runs `command` and returns its exit status and output, whatever it is. */
async function tryOn(node: string, command: string): Promise<{ exitCode: number | undefined; output: string }> {
  return terms.get(node)!.reader.run(command, slow);
}

beforeAll(async () => {
  await fixture.prepare();
  await images.start();
  lab = await fixture.createLab('lab', NODES);
  for (const node of NODES) terms.set(node, await fixture.open(lab.machine(node)!, '1'));
  for (const node of NODES) await on(node, 'for i in $(seq 300); do docker info >/dev/null 2>&1 && break; sleep 0.2; done; docker info --format "{{.Driver}}"');
}, 600_000);

afterAll(async () => {
  const left = await fixture.destroyAll();
  expect([...left, ...(await images.stop())]).toEqual([]);
}, 180_000);

describe('a lab of three machines', () => {
  it("names each machine and gives it an address on the lab's /24", async () => {
    expect(lab.machines.map((machine) => machine.name)).toEqual(NODES);
    const subnet = lab.machines[0]!.address.split('.').slice(0, 3).join('.');
    expect(lab.machines.map((machine) => machine.address)).toEqual([`${subnet}.11`, `${subnet}.12`, `${subnet}.13`]);
    for (const [index, node] of NODES.entries()) {
      expect((await on(node, 'hostname')).trim()).toBe(node);
      expect(await on(node, 'ip -4 -o addr show dev eth0')).toContain(`${lab.machines[index]!.address}/24`);
    }
  });

  it('resolves and pings the others by name, as a student does', async () => {
    expect(await on('node1', 'getent hosts node2 node3')).toMatch(new RegExp(`${lab.machines[1]!.address.replace(/\./g, '\\.')}\\s+node2`));
    for (const node of NODES) {
      for (const peer of NODES) expect(await on(node, `ping -c 1 -W 5 ${peer}`)).toMatch(/1 received/);
    }
  });

  it("has a route to the lab's /24 only: no default route, nowhere else to go", async () => {
    const routes = await on('node1', 'ip -4 route show');
    expect(routes).not.toMatch(/^default/m);
    expect(routes).toContain(`${lab.machines[0]!.address.split('.').slice(0, 3).join('.')}.0/24 dev eth0`);
    // Every route is the lab's or one of the machine's own Docker bridges: nothing leads off the machine but eth0's /24.
    for (const route of routes.trim().split('\n')) expect(route).toMatch(/ dev (eth0|docker0|docker_gwbridge|br-[0-9a-f]+) /);
  });
});

describe("the lab's namespace in the class registry", () => {
  it('is one for the whole lab: node2 and node3 pull what node1 pushed', async () => {
    const depot = (await on('node1', 'echo $DEPOT')).trim();
    expect(depot).toMatch(/^localhost:5000\/lecteur-[0-9a-f]{10}$/);
    for (const node of ['node2', 'node3']) expect((await on(node, 'echo $DEPOT')).trim()).toBe(depot);
    await on('node1', 'docker pull -q busybox && docker tag busybox $DEPOT/outil:1 && docker push $DEPOT/outil:1 >/dev/null');
    for (const node of ['node2', 'node3']) expect(await on(node, 'docker run --rm $DEPOT/outil:1 echo depuis-le-depot')).toMatch(/^depuis-le-depot$/m);
  });
});

// Run by host root on a namespace file: the user namespace that owns it (its inode), that one's
// owner uid (ioctl NS_GET_USERNS, NS_GET_OWNER_UID), and whether its parent is the host's
// (NS_GET_PARENT). The kernel charges a namespace, at the host's level, to the owner of the
// top-level user namespace above it (kernel/ucount.c: inc_ucount climbs, charging each level).
const OWNER_OF = `
open(my $ns, "<", shift) or die "open: $!";
my $z = 0; my $fd = ioctl($ns, 0xb701, $z) or die "NS_GET_USERNS: $!"; open(my $u, "<&=", $fd) or die "$!";
my $owner = pack("L", 0); ioctl($u, 0xb704, $owner) or die "NS_GET_OWNER_UID: $!";
my $pfd = ioctl($u, 0xb702, $z); my $parent = "none";
if ($pfd) { open(my $p, "<&=", $pfd) or die "$!"; $parent = (stat($p))[1] }
printf "%d %d %s\n", (stat($u))[1], unpack("L", $owner), $parent;`;

const userNamespaceOf = (pid: number | string) => Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/user`))![1]);

/** Host processes running as host uid `uid`, by the user namespace they are in. */
function processesAs(uid: number): { pid: string; userNamespace: number }[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((pid) => {
      try {
        if (!new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(readFileSync(`/proc/${pid}/status`, 'utf8'))) return [];
        return [{ pid, userNamespace: userNamespaceOf(pid) }];
      } catch {
        return []; // gone meanwhile
      }
    });
}

describe("the lab's network namespace", () => {
  it("is charged to one of the lab's machines' host uid, not to host root, in a user namespace of its own no machine is in", () => {
    const [userNamespace, owner, parent] = execFileSync('perl', ['-e', OWNER_OF, `/run/netns/${lab.netns}`], { encoding: 'utf8' })
      .trim()
      .split(' ')
      .map(Number);
    const host = userNamespaceOf('self');
    // (Made by `ip netns add`, it was in the host's user namespace: owner 0, no parent.)
    expect(userNamespace).not.toBe(host);
    expect(parent).toBe(host);
    expect(owner).not.toBe(0);
    expect(lab.members.map((member) => member.uidRange.base)).toContain(owner);
    // A sibling of the machines' user namespaces, not one of them: root in a machine has no capability over the lab's bridge.
    const machineNamespaces = new Set(lab.members.flatMap((member) => processesAs(member.uidRange.base).map((process) => process.userNamespace)));
    expect(machineNamespaces.size).toBeGreaterThanOrEqual(3);
    expect(machineNamespaces.has(userNamespace!)).toBe(false);
    // Its owner's rights go to processes of the host's user namespace running as that uid: there is none (the one that made it is gone).
    expect(processesAs(owner!).filter((process) => process.userNamespace === host)).toEqual([]);
  });
});

describe("another reader's lab", () => {
  it('cannot reach the first one, nor be reached by it', async () => {
    other = await fixture.createLab('other', ['node1', 'node2'], { docker: false });
    const term = await fixture.open(other.machine('node1')!, '1');
    expect(other.machines[0]!.address.split('.').slice(0, 3)).not.toEqual(lab.machines[0]!.address.split('.').slice(0, 3));
    const toFirst = await term.reader.run(`ping -c 1 -W 2 ${lab.machines[1]!.address}; echo "status $?"`, slow);
    expect(toFirst.output).toMatch(/status [12]/);
    const ownPeer = await term.reader.run(`ping -c 1 -W 5 node2`, slow);
    expect(ownPeer.output).toMatch(/1 received/);
    expect(ownPeer.output).toContain(other.machines[1]!.address);
    const fromFirst = await tryOn('node1', `ping -c 1 -W 2 ${other.machines[0]!.address}`);
    expect(fromFirst.exitCode).not.toBe(0);
    term.terminal.close();
    await other.destroy();
    // The first lab still runs: only the second one's traces are looked for here.
    const { prefix, stateDir, dockerDiskDir } = fixture.driver.options;
    const otherIds = other.machines.map((_, index) => labMachineId(other.id, index));
    expect(namespaceLeftovers({ prefix, stateDir, dockerDiskDir, ids: otherIds, labIds: [other.id] })).toEqual([]);
  });
});

describe('Swarm across the lab', () => {
  it('inits on node1, joins node2 and node3 with the printed command, and lists three Ready nodes', async () => {
    const init = await on('node1', `docker swarm init --advertise-addr ${lab.machines[0]!.address}`);
    expect(init).toMatch(/Swarm initialized/);
    const join = /docker swarm join --token \S+ \S+:2377/.exec(init.replace(/\\\n\s*/g, ''))?.[0];
    expect(join).toBeDefined();
    for (const node of ['node2', 'node3']) expect(await on(node, join!)).toMatch(/This node joined a swarm as a worker/);
    const nodes = await on(
      'node1',
      'for i in $(seq 60); do [ "$(docker node ls --format "{{.Status}}" | grep -c Ready)" = 3 ] && break; sleep 1; done; docker node ls --format "{{.Hostname}} {{.Status}}"',
    );
    expect(nodes.trim().split('\n').sort()).toEqual(['node1 Ready', 'node2 Ready', 'node3 Ready']);
  });

  it('spreads a 3-replica service over the three nodes', async () => {
    await on('node1', 'docker service create --detach=false --name veilleur --replicas 3 --replicas-max-per-node 1 busybox sleep 600');
    const placed = await on('node1', 'docker service ps veilleur --filter desired-state=running --format "{{.Node}}"');
    expect(placed.trim().split('\n').sort()).toEqual(NODES);
  });
});

/**
 * Swarm's virtual IPs and its routing mesh (ingress) are IPVS load balancers:
 * a kernel built without IPVS (CONFIG_IP_VS unset; no /proc/sys/net/ipv4/vs)
 * gives dockerd "error reading the kernel parameter net.ipv4.vs.…" and a
 * published port that refuses connections. Nothing to do with namespaces:
 * VXLAN overlays work in the machines' user namespaces (tested below).
 */
const hostHasIpvs = existsSync('/proc/sys/net/ipv4/vs');

describe('Swarm networks across the lab', () => {
  it("carries an overlay network between the nodes (VXLAN over 4789/udp on the lab's bridge)", async () => {
    await on('node1', 'docker network create -d overlay --attachable reseau');
    await on(
      'node1',
      'docker service create --detach=false --name pingeur --network reseau --endpoint-mode dnsrr --replicas 3 --replicas-max-per-node 1 busybox sleep 600',
    );
    const found = await on(
      'node2',
      'c=$(docker ps -q -f name=pingeur | head -1); docker exec $c nslookup tasks.pingeur 2>/dev/null | sed -n "s/^Address: //p"',
    );
    const tasks = found
      .trim()
      .split('\n')
      .filter((line) => /^\d+\.\d+\.\d+\.\d+$/.test(line));
    expect(tasks).toHaveLength(3);
    // From node2's task to all three, two of them on other machines: through the VXLAN tunnel.
    for (const task of tasks)
      expect(await on('node2', `docker exec $(docker ps -q -f name=pingeur | head -1) ping -c 1 -W 5 ${task}`)).toMatch(/1 packets received/);
    expect(await on('node2', 'docker exec $(docker ps -q -f name=pingeur | head -1) cat /sys/class/net/eth0/mtu')).toMatch(/^1450$/m);
    await on('node1', 'docker service rm pingeur');
  });

  it('answers a port published in host mode on every node', async () => {
    await on(
      'node1',
      'docker service create --detach=false --name web --endpoint-mode dnsrr --mode global --publish mode=host,target=80,published=8080 busybox httpd -f -p 80 -h /etc',
    );
    for (const node of NODES) {
      // Each node's own task answers: its container's /etc/hostname is the task's container id.
      expect(await on('node1', `curl -sS -m 10 http://${node}:8080/hostname`)).toMatch(/^[0-9a-f]{12}$/m);
    }
    await on('node1', 'docker service rm web');
  });

  it.runIf(hostHasIpvs)('answers a port published through the routing mesh on every node', async () => {
    await on('node1', 'docker service create --detach=false --name maillage --replicas 1 --publish 8081:80 busybox httpd -f -p 80 -h /etc');
    for (const node of NODES) expect(await on('node1', `curl -sS -m 10 http://${node}:8081/hostname`)).toMatch(/^[0-9a-f]{12}$/m);
  });

  it.runIf(!hostHasIpvs)('says why the routing mesh cannot answer on this host: its kernel has no IPVS', async () => {
    expect(await on('node1', 'test -e /proc/sys/net/ipv4/vs && echo ipvs || echo "no ipvs"')).toMatch(/^no ipvs$/m);
  });
});
