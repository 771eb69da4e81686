// A lab in the VM driver: three QEMU machines (node1, node2, node3) of one
// reader, as the Swarm chapter has them, on a bridge inside a network
// namespace of the lab's own, each QEMU started in that namespace on a tap.
// The three boot at once. Swarm across them runs on request
// (TEST_VM_DOCKER=1: see tests/support/vm-docker-tests.ts). Hostnames,
// /etc/hosts, each machine pinging the two others by name, a TCP connection
// by name, nothing else reachable; a restart of the server (detach, then a
// new driver adopts), which keeps the lab's shells and makes anew a machine
// that died meanwhile; and after destroy, no QEMU, cgroup, directory, tap or
// namespace is left.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VM_DOCKER_TESTS } from '../support/vm-docker-tests.ts';
import { QemuCgroup } from '../../sandbox-server/src/drivers/vm/qemu-cgroup.ts';
import { findQemuProcesses } from '../../sandbox-server/src/drivers/vm/qemu-processes.ts';
import type { VmLab } from '../../sandbox-server/src/drivers/vm/vm-lab.ts';
import { VmFixture, waitUntil } from '../support/vm-fixture.ts';
import { TerminalReader, openTerminal, type OpenedTerminal } from '../support/terminal-reader.ts';

const NODES = ['node1', 'node2', 'node3'];
const LIMITS = { memoryBytes: 384 * 1024 * 1024, pids: 1024, cpus: 1, diskBytes: 128 * 1024 * 1024 };
// Safety nets, not speed checks: under TCG on a loaded host a docker command takes minutes.
const SLOW = { timeoutMs: 600_000 };

const vms = new VmFixture();
const { driver, logs } = vms;
const labId = `tlab-${randomBytes(3).toString('hex')}`;
let lab: VmLab | undefined;
const terms = new Map<string, OpenedTerminal>();

async function on(node: string, command: string): Promise<string> {
  const result = await terms.get(node)!.reader.run(command, SLOW);
  if (result.exitCode !== 0) throw new Error(`${node}: "${command}" exited ${result.exitCode}:\n${result.output}`);
  return result.output.replace(/\r/g, '');
}

const netnsNames = () => (existsSync('/run/netns') ? readdirSync('/run/netns') : []);
const linksIn = (netns: string) =>
  execFileSync('ip', ['-n', netns, '-o', 'link'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(': ')[1]!.split('@')[0]);
const addressOf = (node: string): string => lab!.machines[NODES.indexOf(node)]!.address;
const others = (node: string) => NODES.filter((other) => other !== node);

beforeAll(async () => {
  await vms.start();
  lab = (await driver.create({ id: labId, limits: LIMITS, docker: VM_DOCKER_TESTS, machines: NODES })) as VmLab;
  await Promise.all(NODES.map(async (node) => terms.set(node, await openTerminal(lab!.machine(node)!, '1', undefined, SLOW))));
}, 1_200_000);

afterAll(async () => {
  await lab?.destroy();
  expect(await vms.stop()).toEqual([]);
}, 120_000);

describe('a lab of three VMs', () => {
  it("names each machine and gives it an address on the lab's /24, on a NIC of its own", async () => {
    expect(lab!.machines.map((machine) => machine.name)).toEqual(NODES);
    const subnet = lab!.machines[0]!.address.split('.').slice(0, 3).join('.');
    expect(lab!.machines.map((machine) => machine.address)).toEqual([`${subnet}.11`, `${subnet}.12`, `${subnet}.13`]);
    for (const node of NODES) {
      expect((await on(node, 'hostname')).trim()).toBe(node);
      expect(await on(node, 'ip -4 -o addr show dev eth0')).toContain(`${addressOf(node)}/24`);
      // Nothing beyond the lab: its /24 and Docker's own bridges, no default route.
      expect(await on(node, 'ip route')).not.toMatch(/^default/m);
    }
    // Three distinct NICs: the bridge learns each by its MAC.
    const macs = await Promise.all(NODES.map((node) => on(node, 'cat /sys/class/net/eth0/address')));
    expect(new Set(macs.map((mac) => mac.trim())).size).toBe(3);
    // Each QEMU runs in the lab's network namespace, whose only links are the
    // bridge and the taps (made as the three boot at once, so in any order).
    expect(netnsNames()).toContain(lab!.netns);
    expect(linksIn(lab!.netns).sort()).toEqual(['lab0', 'lo', 'tap0', 'tap1', 'tap2']);
  });

  it('resolves and pings each of the two others by name, from every machine, as the student', async () => {
    await Promise.all(
      NODES.map(async (node) => {
        for (const other of others(node)) {
          expect(await on(node, `getent hosts ${other}`)).toMatch(new RegExp(`^${addressOf(other).replace(/\./g, '\\.')}\\s+${other}$`, 'm'));
          expect(await on(node, `ping -c 1 -W 10 ${other}`)).toMatch(/1 received/);
        }
      }),
    );
  });

  it('carries a TCP connection by name from node1 to node3, which sees it come from node1', async () => {
    const listener = terms.get('node3')!.reader;
    const from = listener.cursor.text;
    // A one-shot server: says when it listens, answers the line it reads in capitals, prints its peer.
    const serving = listener.run(
      `python3 -c 'import socket; s = socket.create_server(("", 7000)); print("listening on", 7000, flush=True); c, peer = s.accept(); c.sendall(c.recv(64).upper()); print("peer", peer[0])'`,
      SLOW,
    );
    await listener.waitFor('listening on 7000', { from, ...SLOW });
    expect(await on('node1', `bash -c 'exec 3<>/dev/tcp/node3/7000; echo bonjour-node3 >&3; cat <&3'`)).toBe('BONJOUR-NODE3\n');
    const served = await serving;
    expect(served.exitCode).toBe(0);
    expect(served.output.replace(/\r/g, '')).toContain(`peer ${addressOf('node1')}\n`);
  });

  it('reaches nothing outside the lab', async () => {
    // 10.0.2.2 is where QEMU's user-mode network would put the host: no route leads there, nor anywhere off the lab.
    const outside = await terms.get('node1')!.reader.run('ping -c 1 -W 3 10.0.2.2; echo "status $?"', SLOW);
    expect(outside.output).toMatch(/Network is unreachable/);
    expect(outside.output).toMatch(/status [1-9]/);
  });

  it.runIf(VM_DOCKER_TESTS)(
    'forms a swarm (TEST_VM_DOCKER=1): init on node1, join on node2 and node3 with the printed command, all Ready',
    async () => {
      await Promise.all(
        NODES.map((node) => on(node, 'for i in $(seq 600); do docker info >/dev/null 2>&1 && break; sleep 1; done; docker info --format "{{.Driver}}"')),
      );
      const init = await on('node1', `docker swarm init --advertise-addr ${addressOf('node1')}`);
      const join = /docker swarm join --token \S+ \S+:2377/.exec(init.replace(/\\\n\s*/g, ''))?.[0];
      expect(join, init).toBeDefined();
      for (const worker of ['node2', 'node3']) {
        // Under TCG the CLI's own wait for the join may run out while the join goes on in the background (dockerd says so): both are a join.
        const joined = await terms.get(worker)!.reader.run(join!, SLOW);
        expect(joined.output).toMatch(/This node joined a swarm as a worker|The attempt to join the swarm will continue in the background/);
      }
      const ready = await on(
        'node1',
        `for i in $(seq 600); do [ "$(docker node ls --format '{{.Status}}' | grep -c Ready)" = 3 ] && break; sleep 1; done; docker node ls --format '{{.Hostname}} {{.Status}}'`,
      );
      expect(ready.trim().split('\n').sort()).toEqual(['node1 Ready', 'node2 Ready', 'node3 Ready']);
    },
    1_800_000,
  );
});

describe('a restart of the server', () => {
  it('lets go of the lab running; the next driver takes it over with the same shells, and makes anew a machine that died meanwhile', async () => {
    const shells = new Map<string, string>();
    for (const node of NODES) shells.set(node, (await on(node, 'echo "shell $$"')).trim());
    const node2 = findQemuProcesses(driver.options.prefix).find((qemu) => qemu.id === lab!.machine('node2')!.id)!;
    expect(await lab!.detach()).toEqual({ kept: true });
    // While no server runs it, node2's VM dies; node1's and node3's go on.
    process.kill(node2.pid, 'SIGKILL');
    await waitUntil(() => !findQemuProcesses(driver.options.prefix).some((qemu) => qemu.pid === node2.pid), 60_000);

    const next = vms.newDriver();
    await next.prepare(() => {});
    const spec = { id: labId, limits: LIMITS, docker: VM_DOCKER_TESTS, machines: NODES, addresses: lab!.machines.map(({ address }) => address) };
    lab = (await next.adopt(spec)) as VmLab;
    expect(logs.some((record) => record.msg === 'lab machine lost while no server ran it: made anew' && record.machine === 'node2')).toBe(true);
    expect(lab.restoredTerminals().map(({ name }) => name)).toEqual(['1', 'node3/1']);
    // node1 and node3: the same shells, their screens replayed before anything is typed.
    for (const node of ['node1', 'node3']) {
      const terminal = await lab.machine(node)!.openTerminal('1', { cols: 120, rows: 40 });
      const replayed = new TerminalReader(terminal, (text) => terminal.write(text));
      await replayed.waitFor(shells.get(node)!, SLOW);
      terms.set(node, { terminal, reader: replayed });
      expect((await on(node, 'echo "shell $$"')).trim()).toBe(shells.get(node));
    }
    // node2: a new machine at the same name and address, on the same bridge, reached by the others and reaching them.
    terms.set('node2', await openTerminal(lab.machine('node2')!, '1', undefined, SLOW));
    expect((await on('node2', 'hostname')).trim()).toBe('node2');
    expect(await on('node2', 'ping -c 1 -W 10 node1 && ping -c 1 -W 10 node3')).toMatch(/1 received[\s\S]*1 received/);
    expect(await on('node1', 'ping -c 1 -W 10 node2')).toMatch(/1 received/);
    expect(await on('node3', 'ping -c 1 -W 10 node2')).toMatch(/1 received/);
    expect(linksIn(lab.netns).sort()).toEqual(['lab0', 'lo', 'tap0', 'tap1', 'tap2']);
  }, 900_000);
});

describe('destroy', () => {
  it('leaves no QEMU, cgroup, directory, tap or namespace of the lab', async () => {
    const netns = lab!.netns;
    const ids = lab!.members.map((member) => member.id);
    expect(ids).toHaveLength(3);
    await lab!.destroy();
    expect(findQemuProcesses(driver.options.prefix).filter((qemu) => qemu.id.startsWith(`${labId}-`))).toEqual([]);
    expect(readdirSync(driver.options.stateDir).filter((name) => name.includes(labId))).toEqual([]);
    for (const id of ids) for (const file of QemuCgroup.for(driver.options.prefix, id)?.procsFiles() ?? []) expect(existsSync(file)).toBe(false);
    // The taps lived in the lab's namespace only: gone with it, none ever in the host's.
    expect(netnsNames()).not.toContain(netns);
    expect(execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' })).not.toMatch(/: tap\d+[:@]/);
    expect(logs.some((record) => record.msg === 'lab destroyed')).toBe(true);
  });
});
