// A lab in the VM driver: two QEMU machines (node1, node2) of one reader, on
// a bridge inside a network namespace of the lab's own, each QEMU started in
// that namespace on a tap. Two, not three: under TCG on a 2-core CI host
// every VM boots at a fraction of a core, and three booting at once triple
// the suite's heaviest file. Swarm across both runs on request (TEST_VM_DOCKER=1:
// see tests/support/vm-docker-tests.ts). Hostnames, /etc/hosts, ping by name, nothing else reachable;
// a restart of the server (detach, then a new driver adopts), which keeps the
// lab's shells and makes anew a machine that died meanwhile; and after destroy,
// no QEMU, directory, tap or namespace is left.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VM_DOCKER_TESTS } from '../support/vm-docker-tests.ts';
import { findQemuProcesses } from '../../sandbox-server/src/drivers/vm/qemu-processes.ts';
import type { VmLab } from '../../sandbox-server/src/drivers/vm/vm-lab.ts';
import { VmFixture, waitUntil } from '../support/vm-fixture.ts';
import { TerminalReader, openTerminal, type OpenedTerminal } from '../support/terminal-reader.ts';

const NODES = ['node1', 'node2'];
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

beforeAll(async () => {
  await vms.start();
  lab = (await driver.create({ id: labId, limits: LIMITS, docker: VM_DOCKER_TESTS, machines: NODES })) as VmLab;
  for (const node of NODES) terms.set(node, await openTerminal(lab.machine(node)!, '1', undefined, SLOW));
}, 1_200_000);

afterAll(async () => {
  await lab?.destroy();
  expect(await vms.stop()).toEqual([]);
}, 120_000);

describe('a lab of two VMs', () => {
  it("names each machine and gives it an address on the lab's /24, on a NIC of its own", async () => {
    expect(lab!.machines.map((machine) => machine.name)).toEqual(NODES);
    const subnet = lab!.machines[0]!.address.split('.').slice(0, 3).join('.');
    expect(lab!.machines.map((machine) => machine.address)).toEqual([`${subnet}.11`, `${subnet}.12`]);
    for (const [index, node] of NODES.entries()) {
      expect((await on(node, 'hostname')).trim()).toBe(node);
      expect(await on(node, 'ip -4 -o addr show dev eth0')).toContain(`${lab!.machines[index]!.address}/24`);
      // Nothing beyond the lab: its /24 and Docker's own bridges, no default route.
      expect(await on(node, 'ip route')).not.toMatch(/^default/m);
    }
    // Each QEMU runs in the lab's network namespace, whose only links are the bridge and the taps.
    expect(netnsNames()).toContain(lab!.netns);
    const links = execFileSync('ip', ['-n', lab!.netns, '-o', 'link'], { encoding: 'utf8' });
    expect(
      links
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(': ')[1]!.split('@')[0]),
    ).toEqual(['lo', 'lab0', 'tap0', 'tap1']);
  });

  it('resolves and pings the other by name, as the student', async () => {
    expect(await on('node1', 'getent hosts node2')).toMatch(new RegExp(`${lab!.machines[1]!.address.replace(/\./g, '\\.')}\\s+node2`));
    expect(await on('node1', 'ping -c 1 -W 10 node2')).toMatch(/1 received/);
    expect(await on('node2', 'ping -c 1 -W 10 node1')).toMatch(/1 received/);
  });

  it('reaches nothing outside the lab', async () => {
    // 10.0.2.2 is where QEMU's user-mode network would put the host: no route leads there, nor anywhere off the lab.
    const outside = await terms.get('node1')!.reader.run('ping -c 1 -W 3 10.0.2.2; echo "status $?"', SLOW);
    expect(outside.output).toMatch(/Network is unreachable/);
    expect(outside.output).toMatch(/status [1-9]/);
  });

  it.runIf(VM_DOCKER_TESTS)(
    'forms a swarm (TEST_VM_DOCKER=1): init on node1, join on node2 with the printed command, both Ready',
    async () => {
      for (const node of NODES)
        await on(node, 'for i in $(seq 600); do docker info >/dev/null 2>&1 && break; sleep 1; done; docker info --format "{{.Driver}}"');
      const init = await on('node1', `docker swarm init --advertise-addr ${lab!.machines[0]!.address}`);
      const join = /docker swarm join --token \S+ \S+:2377/.exec(init.replace(/\\\n\s*/g, ''))?.[0];
      expect(join, init).toBeDefined();
      // Under TCG the CLI's own wait for the join may run out while the join goes on in the background (dockerd says so): both are a join.
      const joined = await terms.get('node2')!.reader.run(join!, SLOW);
      expect(joined.output).toMatch(/This node joined a swarm as a worker|The attempt to join the swarm will continue in the background/);
      const ready = await on(
        'node1',
        `for i in $(seq 600); do [ "$(docker node ls --format '{{.Status}}' | grep -c Ready)" = 2 ] && break; sleep 1; done; docker node ls --format '{{.Hostname}} {{.Status}}'`,
      );
      expect(ready.trim().split('\n').sort()).toEqual(['node1 Ready', 'node2 Ready']);
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
    // While no server runs it, node2's VM dies; node1's goes on.
    process.kill(node2.pid, 'SIGKILL');
    await waitUntil(() => !findQemuProcesses(driver.options.prefix).some((qemu) => qemu.pid === node2.pid), 60_000);

    const next = vms.newDriver();
    await next.prepare(() => {});
    const spec = { id: labId, limits: LIMITS, docker: VM_DOCKER_TESTS, machines: NODES, addresses: lab!.machines.map(({ address }) => address) };
    lab = (await next.adopt(spec)) as VmLab;
    expect(logs.some((record) => record.msg === 'lab machine lost while no server ran it: made anew' && record.machine === 'node2')).toBe(true);
    expect(lab.restoredTerminals().map(({ name }) => name)).toEqual(['1']);
    // node1: the same shell, its screen replayed before anything is typed.
    const first = await lab.machine('node1')!.openTerminal('1', { cols: 120, rows: 40 });
    const replayed = new TerminalReader(first, (text) => first.write(text));
    await replayed.waitFor(shells.get('node1')!, SLOW);
    terms.set('node1', { terminal: first, reader: replayed });
    expect((await on('node1', 'echo "shell $$"')).trim()).toBe(shells.get('node1'));
    // node2: a new machine at the same name and address, on the same bridge.
    terms.set('node2', await openTerminal(lab.machine('node2')!, '1', undefined, SLOW));
    expect((await on('node2', 'hostname')).trim()).toBe('node2');
    expect(await on('node1', 'ping -c 1 -W 10 node2')).toMatch(/1 received/);
    expect(await on('node2', 'ping -c 1 -W 10 node1')).toMatch(/1 received/);
  }, 900_000);
});

describe('destroy', () => {
  it('leaves no QEMU, directory, tap or namespace of the lab', async () => {
    const netns = lab!.netns;
    await lab!.destroy();
    expect(findQemuProcesses(driver.options.prefix).filter((qemu) => qemu.id.startsWith(`${labId}-`))).toEqual([]);
    expect(readdirSync(driver.options.stateDir).filter((name) => name.includes(labId))).toEqual([]);
    expect(netnsNames()).not.toContain(netns);
    expect(logs.some((record) => record.msg === 'lab destroyed')).toBe(true);
  });
});
