// The VM driver, for real: ONE QEMU virtual machine (TCG on hosts without a
// working KVM, as here) booted in beforeAll, every exercise of the lesson
// "Les Namespaces" typed in it through the driver API, the same outputs as
// with the namespace driver (tests/support/lesson-exercises.ts), plus what only a
// VM shows: its own kernel, no network at all, and a disk image that never
// changes. Then Docker as the course uses it, in the same VM (one boot for
// all: under TCG each container costs seconds): images pulled offline from
// the class store over the VM's own channel, a build, a user network with
// names, a published port, a volume, the Docker disk and its quota. Then
// destroyed, and the host searched for anything left.
import { NAMESPACE_TYPES } from '../../contracts/process-snapshot.ts';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxLimits } from '../../sandbox-server/src/drivers/driver.ts';
import { createDriver } from '../../sandbox-server/src/drivers/index.ts';
import { InvalidVmOptionsError, createVmDriver } from '../../sandbox-server/src/drivers/vm/index.ts';
import { QemuCgroup } from '../../sandbox-server/src/drivers/vm/qemu-cgroup.ts';
import { findQemuProcesses } from '../../sandbox-server/src/drivers/vm/qemu-processes.ts';
import { VmDirs, processStartTime } from '../../sandbox-server/src/drivers/vm/vm-dirs.ts';
import type { VmSandbox } from '../../sandbox-server/src/drivers/vm/vm-sandbox.ts';
import { describeLessonExercises, waitForDockerd } from '../support/lesson-exercises.ts';
import { VM_DOCKER_TESTS } from '../support/vm-docker-tests.ts';
import { VmFixture, waitUntil } from '../support/vm-fixture.ts';
import { TerminalReader, openTerminal, type OpenedTerminal } from '../support/terminal-reader.ts';

const LIMITS: SandboxLimits = { memoryBytes: 256 * 1024 * 1024, pids: 512, cpus: 1, diskBytes: 128 * 1024 * 1024 };
// Under emulation a command takes longer than on bare metal; these are safety nets, not speed checks.
const SLOW = { timeoutMs: 120_000 };

// The class image store, on sockets of this run: the VM's channel leads to its gate.
const vms = new VmFixture();
const { store } = vms;
/** The driver of the VM: after the restart test, the next server process's (which took the VM over). */
let driver = vms.driver;
const id = `test-vm-${randomBytes(3).toString('hex')}`;
let sandbox: VmSandbox | undefined;
let qemuPid: number;
let disk: { path: string; size: number; mtimeMs: number };
let one: OpenedTerminal;
let two: OpenedTerminal;
let dockerdPid: string;

beforeAll(async () => {
  // The first run on a machine builds the root filesystem, the kernel and the disk: minutes.
  await vms.start();
  const path = await driver.diskImage(LIMITS.diskBytes);
  const stat = statSync(path);
  disk = { path, size: stat.size, mtimeMs: stat.mtimeMs };

  sandbox = (await driver.create({ id, limits: LIMITS, docker: true })) as VmSandbox;
  qemuPid = sandbox.qemuPid!;
  one = await openTerminal(sandbox, '1', undefined, SLOW);
  two = await openTerminal(sandbox, '2', undefined, SLOW);
  // dockerd under TCG on a loaded host: containerd, then dockerd and its iptables rules, each Go binary emulated: minutes.
  dockerdPid = await waitForDockerd(one.reader, { timeoutMs: 600_000 });
}, 900_000);

afterAll(async () => {
  await sandbox?.destroy();
  expect(await vms.stop()).toEqual([]);
});

describe('the VM the student finds', () => {
  it('runs under the accelerator the probe chose, with QEMU as an unprivileged user', () => {
    expect(['kvm', 'tcg']).toContain(driver.accelerator);
    if (!existsSync('/dev/kvm')) expect(driver.accelerator).toBe('tcg');
    const status = readFileSync(`/proc/${qemuPid}/status`, 'utf8');
    expect(status).toMatch(/^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    expect(readFileSync(`/proc/${qemuPid}/comm`, 'utf8').trim()).toBe(driver.options.prefix);
  });

  it('holds QEMU in a cgroup of its own: memory capped from the start, CPU share applied after the boot', () => {
    const cgroup = QemuCgroup.for(driver.options.prefix, id);
    expect(cgroup).toBeDefined();
    const membership = readFileSync(`/proc/${qemuPid}/cgroup`, 'utf8');
    const guestBytes = Math.max(LIMITS.memoryBytes, driver.options.minMemoryBytes);
    if (cgroup!.version === 1) {
      expect(membership).toMatch(new RegExp(`:cpu:/${cgroup!.group}$`, 'm'));
      expect(membership).toMatch(new RegExp(`:memory:/${cgroup!.group}$`, 'm'));
      expect(readFileSync(`/sys/fs/cgroup/cpu/${cgroup!.group}/cpu.cfs_quota_us`, 'utf8').trim()).toBe(String(LIMITS.cpus * 100_000));
      const limit = Number(readFileSync(`/sys/fs/cgroup/memory/${cgroup!.group}/memory.limit_in_bytes`, 'utf8'));
      expect(limit).toBeGreaterThan(guestBytes);
      expect(limit).toBeLessThan(guestBytes + 1024 ** 3);
    } else {
      expect(membership).toMatch(new RegExp(`^0::/${cgroup!.group}$`, 'm'));
      expect(readFileSync(`/sys/fs/cgroup/${cgroup!.group}/cpu.max`, 'utf8').trim()).toBe(`${LIMITS.cpus * 100_000} 100000`);
    }
  });

  it("runs its own kernel: the Debian guest kernel, not the host's", async () => {
    const guest = (await one.reader.run('uname -r')).output.trim();
    expect(guest).toBe(driver.guestKernelRelease);
    expect(guest).toMatch(/^\d+\.\d+\.\d+-\d+-amd64$/);
    expect(guest).not.toBe(release());
  });

  it("has the memory and CPUs of the sandbox's limits, not the host's", async () => {
    const memTotalKiB = Number(/MemTotal:\s+(\d+) kB/.exec((await one.reader.run('cat /proc/meminfo')).output)?.[1]);
    const guestMiB = Math.max(LIMITS.memoryBytes, driver.options.minMemoryBytes) / 1024 / 1024;
    // The kernel keeps some for itself: what is left is a little under the VM's RAM.
    expect(memTotalKiB / 1024).toBeLessThanOrEqual(guestMiB);
    expect(memTotalKiB / 1024).toBeGreaterThan(guestMiB * 0.7);
    expect((await one.reader.run('nproc')).output.trim()).toBe(String(Math.ceil(LIMITS.cpus)));
  });

  it('has a fresh machine id and the course host name', async () => {
    expect((await one.reader.run('cat /etc/machine-id')).output.trim()).toMatch(/^[0-9a-f]{32}$/);
    expect((await one.reader.run('cat /etc/hostname')).output.trim()).toBe('tp-docker');
  });

  it('returns the same shell when a terminal name is opened again', async () => {
    const again = await sandbox!.openTerminal('2', { cols: 100, rows: 25 });
    expect(again).toBe(two.terminal);
    expect((await two.reader.run('stty size')).output.trim()).toBe('25 100');
  });

  it("holds a paused terminal's output back in the guest, and lets it through on resume", async () => {
    let received = 0;
    const counting = two.terminal.onData((chunk) => (received += chunk.length));
    try {
      two.terminal.pause();
      const from = two.reader.cursor.marks;
      two.terminal.write('seq 1 500000\r'); // ≈ 3.4 MB: seconds of output even under emulation
      // The same command in the unpaused terminal, started after it, is the clock:
      // however slow the host, when it is done the paused one would be done too
      // had the pause not held its output back in the guest.
      expect((await one.reader.run('seq 1 500000', SLOW)).exitCode).toBe(0);
      expect(received).toBeLessThan(512 * 1024);
      two.terminal.resume();
      const done = await two.reader.waitForMark('D', { from, ...SLOW });
      expect(done.exitCode).toBe(0);
      expect(received).toBeGreaterThan(3_000_000);
    } finally {
      counting.dispose();
      two.terminal.resume();
    }
  });
});

describeLessonExercises({ machine: () => ({ one, two, dockerdPid }), slow: SLOW });

describe('the namespace view of a VM', () => {
  it("describes the guest's processes as its root sees them, without its kernel threads, the terminals' shells marked", async () => {
    await one.reader.run('sudo unshare --uts /bin/bash', SLOW);
    try {
      const snapshot = await sandbox!.processSnapshot(300);
      const commands = snapshot.processes.map((process) => process.command);
      expect(
        commands.some((command) => command.startsWith('[kworker') || command === '[kthreadd]'),
        commands.join('\n'),
      ).toBe(false);
      expect(
        snapshot.processes
          .filter((process) => process.shell)
          .map((process) => process.terminal)
          .sort(),
      ).toEqual(['1', '2']);
      const uts = NAMESPACE_TYPES.indexOf('uts');
      const inodes = new Set(snapshot.processes.map((process) => process.ns[uts]));
      expect(inodes.size).toBe(2);
      expect(snapshot.processes.find((process) => process.pid === Number(dockerdPid))?.ns[uts]).toBe(
        snapshot.processes.find((process) => process.ppid === 0)?.ns[uts],
      );
    } finally {
      await one.reader.run('exit', SLOW);
    }
  });
});

describe('network', () => {
  it("has no NIC and no route beyond Docker's own bridges", async () => {
    // dockerd's docker0 (and any br-*/veth of the Docker tests) are inside the guest; nothing leads out of it.
    const routes = (await one.reader.run('ip route')).output.trim().split('\n').filter(Boolean);
    for (const route of routes) expect(route).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+ dev (docker0|br-[0-9a-f]+) /);
    expect((await one.reader.run('ip -6 route')).output.trim()).toMatch(/^(::1 dev lo[^\n]*)?$/);
    const links = (await one.reader.run('ip -o link')).output.trim().split('\n');
    const names = links.map((line) => line.split(': ')[1]!.split('@')[0]!);
    expect(names[0]).toBe('lo');
    for (const name of names.slice(1)) expect(name).toMatch(/^(docker0|br-[0-9a-f]+|veth[0-9a-f]+)$/);
    expect((await one.reader.run('ls /sys/class/net')).output).not.toMatch(/\beth\d/);
  });

  it("cannot reach a port listening on the host's loopback", async () => {
    const connections: net.Socket[] = [];
    const server = net.createServer((socket) => connections.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      // 10.0.2.2 is where QEMU's user-mode network would put the host; 127.0.0.1 is the guest's own loopback.
      const viaGateway = await one.reader.run(`timeout 10 bash -c 'echo hi > /dev/tcp/10.0.2.2/${port}'`, SLOW);
      expect(viaGateway.exitCode).not.toBe(0);
      expect(viaGateway.output).toMatch(/Network is unreachable/);
      const viaLoopback = await one.reader.run(`timeout 10 bash -c 'echo hi > /dev/tcp/127.0.0.1/${port}'`, SLOW);
      expect(viaLoopback.exitCode).not.toBe(0);
      expect(viaLoopback.output).toMatch(/Connection refused/);
      expect(connections).toHaveLength(0);
    } finally {
      server.close();
    }
  });
});

describe.runIf(VM_DOCKER_TESTS)('Docker as the student, offline (TEST_VM_DOCKER=1)', () => {
  const DOCKER = { timeoutMs: 600_000 };
  // A test's own budget: several docker commands, each up to DOCKER's wait.
  const DOCKER_TEST_MS = 1_800_000;
  /** Runs `command` in terminal one; fails the test with its output unless it exits 0. */
  const ok = async (command: string) => {
    const result = await one.reader.run(command, DOCKER);
    expect(result.exitCode, `${command}\n${result.output}`).toBe(0);
    return result.output;
  };

  it(
    'keeps /var/lib/docker on a Docker disk of its own, whose size is the quota',
    async () => {
      await ok('for i in $(seq 600); do docker info >/dev/null 2>&1 && break; sleep 1; done; docker info --format "{{.ServerVersion}}"');
      const [source, sizeKiB] = (await ok('df -k --output=source,size /var/lib/docker | tail -1')).trim().split(/\s+/);
      expect(source).toBe('/dev/vdb');
      const quotaKiB = driver.options.dockerDiskBytes / 1024;
      expect(Number(sizeKiB)).toBeGreaterThan(quotaKiB * 0.9);
      expect(Number(sizeKiB)).toBeLessThanOrEqual(quotaKiB);
      expect((await ok("docker info --format '{{.Driver}} {{.DockerRootDir}}'")).trim()).toBe('overlay2 /var/lib/docker');
      // On the host: the VM's own sparse file, not the shared image.
      const file = new VmDirs(driver.options.stateDir, driver.options.prefix, id).dockerDisk;
      expect(statSync(file).size).toBe(driver.options.dockerDiskBytes);
      expect(statSync(file).blocks * 512).toBeLessThan(driver.options.dockerDiskBytes / 2);
    },
    DOCKER_TEST_MS,
  );

  it(
    'pulls busybox from the class store over the VM channel and runs it, without sudo',
    async () => {
      expect(await ok('docker pull busybox')).toMatch(/Downloaded newer image for busybox:latest|Image is up to date/);
      expect((await ok('docker run --rm busybox echo bonjour')).trim()).toBe('bonjour');
      // The kernel modules came from the guest's disk, loaded on demand.
      expect(await ok('cat /proc/modules')).toMatch(/^(bridge|nf_tables|veth|overlay) /m);
      expect((await ok('cat /proc/sys/net/ipv4/ip_forward')).trim()).toBe('1');
    },
    DOCKER_TEST_MS,
  );

  it(
    'builds an image, resolves names on a user network, publishes a port and keeps a volume',
    async () => {
      await ok("mkdir -p ~/site && printf 'FROM busybox\\nRUN echo page du serveur > /index.html\\nCMD httpd -f -p 80 -h /\\n' > ~/site/Dockerfile");
      await ok('docker build -q -t site ~/site');
      await ok('docker network create reseau && docker run -d --name serveur --network reseau -p 8080:80 site');
      expect(await ok('docker run --rm --network reseau busybox wget -qO- http://serveur/index.html')).toMatch(/page du serveur/);
      expect(await ok('for i in $(seq 60); do curl -sf 127.0.0.1:8080/index.html && break; sleep 1; done')).toMatch(/page du serveur/);
      await ok('docker volume create donnees && docker run --rm -v donnees:/data busybox sh -c "echo garde > /data/f"');
      expect((await ok('docker run --rm -v donnees:/data busybox cat /data/f')).trim()).toBe('garde');
      await ok('docker rm -f serveur && docker network rm reseau');
    },
    DOCKER_TEST_MS,
  );

  it(
    "cannot push outside the reader's own namespace of the class registry",
    async () => {
      const push = await one.reader.run('docker tag busybox 127.0.0.1:5000/eleve/app && docker push 127.0.0.1:5000/eleve/app', DOCKER);
      expect(push.exitCode).not.toBe(0);
      expect(store.refused.some((request) => /^(POST|PUT|HEAD) /.test(request) || /uploads/.test(request))).toBe(true);
    },
    DOCKER_TEST_MS,
  );
});

/** busybox removed and pulled again from the class store, over the VM's image channel. */
async function pullsBusyboxAfresh(): Promise<void> {
  const pull = await one.reader.run('docker image rm -f busybox >/dev/null; docker pull busybox', { timeoutMs: 600_000 });
  expect(pull.exitCode, pull.output).toBe(0);
  expect(pull.output).toMatch(/Downloaded newer image for busybox:latest/);
}

describe('a restart of the server', () => {
  it('lets go of the VM running (detach); a new driver takes it over: same QEMU, same shells, their screens replayed', async () => {
    const shells = [(await one.reader.run('echo "shell one $$"')).output.trim(), (await two.reader.run('echo "shell two $$"')).output.trim()];
    expect(await sandbox!.detach()).toEqual({ kept: true });
    expect(sandbox!.qemuPid).toBe(qemuPid); // let go of, not stopped
    await expect(sandbox!.openTerminal('1', { cols: 80, rows: 24 })).rejects.toThrow(/not running/);

    driver = vms.newDriver();
    await driver.prepare(() => {});
    sandbox = (await driver.adopt({ id, limits: LIMITS, docker: true })) as VmSandbox;
    expect(sandbox.qemuPid).toBe(qemuPid);
    expect(
      sandbox
        .restoredTerminals()
        .map(({ name }) => name)
        .sort(),
    ).toEqual(['1', '2']);
    for (const [index, name] of ['1', '2'].entries()) {
      const terminal = await sandbox.openTerminal(name, { cols: 120, rows: 40 });
      const reader = new TerminalReader(terminal, (text) => terminal.write(text));
      // Nothing typed yet: this is the agent's replay of the screen.
      await reader.waitFor(shells[index]!, SLOW);
      if (name === '1') one = { terminal, reader };
      else two = { terminal, reader };
    }
    expect((await one.reader.run('echo "shell one $$"')).output.trim()).toBe(shells[0]);
    expect((await two.reader.run('echo "shell two $$"')).output.trim()).toBe(shells[1]);
  });

  it.runIf(VM_DOCKER_TESTS)('pulls from the class store again after it (TEST_VM_DOCKER=1): the image channel reconnects', pullsBusyboxAfresh, 1_800_000);
});

describe('an agent killed by root inside the VM', () => {
  it('is started again by its keeper: the same shells, and the new agent opens a terminal and runs a check', async () => {
    const shell = (await one.reader.run('echo "shell $$"')).output.trim();
    const agent = (await two.reader.run('pidof sandbox-agent')).output.trim();
    expect(agent).toMatch(/^\d+$/);
    await two.reader.run(`sudo kill -9 ${agent}`, SLOW);
    const after = (
      await two.reader.run(`for i in $(seq 600); do p=$(pidof sandbox-agent); [ -n "$p" ] && [ "$p" != ${agent} ] && break; sleep 0.2; done; echo $p`, SLOW)
    ).output.trim();
    expect(after).toMatch(/^\d+$/);
    expect(after).not.toBe(agent);
    expect((await one.reader.run('echo "shell $$"')).output.trim()).toBe(shell);
    // Asked while the new agent may still be starting (Node under emulation takes seconds): the request waits in the link.
    const third = await openTerminal(sandbox!, '3', undefined, SLOW);
    expect((await third.reader.run('echo third-$((1+2))', SLOW)).output.trim()).toBe('third-3');
    expect(await sandbox!.exec(['hostname'], { timeoutMs: 120_000 })).toMatchObject({ code: 0, stdout: 'tp-docker\n' });
  }, 600_000);

  it.runIf(VM_DOCKER_TESTS)(
    "pulls from the class store after it (TEST_VM_DOCKER=1): the new agent's image channel carries the pull",
    pullsBusyboxAfresh,
    1_800_000,
  );
});

describe('bad input', () => {
  it('refuses invalid terminal names and sizes with a message, and keeps working', async () => {
    await expect(sandbox!.openTerminal('../etc', { cols: 80, rows: 24 })).rejects.toThrow(/invalid terminal name: a terminal name is/);
    await expect(sandbox!.openTerminal('3', { cols: 0, rows: 24 })).rejects.toThrow(/cols must be an integer/);
    const before = (await one.reader.run('stty size')).output.trim();
    // Refused and logged by the driver, never thrown: the terminal keeps its size and its shell.
    one.terminal.resize({ cols: 80, rows: 0 });
    expect((await one.reader.run('stty size')).output.trim()).toBe(before);
  });

  it('refuses bad ids, bad limits and bad options, saying what is allowed', async () => {
    await expect(driver.create({ id: 'a,b', limits: LIMITS, docker: false })).rejects.toThrow(/sandbox id must match/);
    await expect(driver.create({ id: 'small', limits: { ...LIMITS, pids: 20 }, docker: false })).rejects.toThrow(/limits.pids must be an integer ≥ 176/);
    await expect(driver.create({ id, limits: LIMITS, docker: false })).rejects.toThrow(/already exists/);
    expect(() => createVmDriver({ accelerator: 'hvf' as never })).toThrow(InvalidVmOptionsError);
    expect(() => createVmDriver({ stateDir: 'relative' })).toThrow(/stateDir: must be an absolute path/);
    await expect(createVmDriver().create({ id: 'early', limits: LIMITS, docker: false })).rejects.toThrow(/call prepare\(\) before create\(\)/);
  });

  it('is the driver the server gets for SANDBOX_DRIVER=vm', () => {
    expect(createDriver('vm', {}).name).toBe('vm');
  });
});

describe('disk', () => {
  it('gives the reader about limits.diskBytes of space, then ENOSPC, and the VM lives on', async () => {
    const freeMiB = Number((await one.reader.run('df -m --output=avail / | tail -1')).output.trim());
    expect(freeMiB).toBeGreaterThanOrEqual(LIMITS.diskBytes / 1024 / 1024);
    expect(freeMiB).toBeLessThan((LIMITS.diskBytes / 1024 / 1024) * 1.5);
    const fill = await one.reader.run('sudo dd if=/dev/zero of=/fill bs=1M status=none', SLOW);
    expect(fill.output).toMatch(/No space left on device/);
    expect((await one.reader.run('sudo rm /fill && echo still here')).output.trim()).toBe('still here');
  });
});

describe('leftovers of a crashed run', () => {
  it('kills QEMU processes and removes directories whose owner is dead, and leaves live VMs alone', async () => {
    const leftoverId = `test-leftover-${randomBytes(3).toString('hex')}`;
    const dirs = new VmDirs(driver.options.stateDir, driver.options.prefix, leftoverId);
    const orphan = pausedQemu(leftoverId);
    const exited = new Promise((resolve) => orphan.once('exit', resolve));
    try {
      const deadOwner = spawn('true');
      await new Promise((resolve) => deadOwner.once('exit', resolve));
      await mkdir(dirs.tmp, { recursive: true });
      await writeFile(dirs.record, JSON.stringify({ id: leftoverId, ownerPid: deadOwner.pid, ownerStart: 1, createdAt: new Date().toISOString() }));
      await writeFile(join(dirs.tmp, 'vl.leftover'), 'copy-on-write layer of a dead VM');
      const leftoverCgroup = QemuCgroup.for(driver.options.prefix, leftoverId);
      await leftoverCgroup?.create(64 * 1024 * 1024);
      await waitUntil(() => findQemuProcesses(driver.options.prefix).some((process) => process.id === leftoverId));

      expect(await driver.cleanupLeftovers()).toBe(1);
      await exited;
      expect(findQemuProcesses(driver.options.prefix).map((process) => process.id)).toEqual([id]);
      expect(existsSync(dirs.root)).toBe(false);
      for (const file of leftoverCgroup?.procsFiles() ?? []) expect(existsSync(file)).toBe(false);
      // This file's own VM belongs to a live owner (this process): untouched.
      expect(sandbox!.qemuPid).toBe(qemuPid);
      expect((await one.reader.run('echo alive')).output.trim()).toBe('alive');
    } finally {
      if (orphan.exitCode === null && orphan.signalCode === null) orphan.kill('SIGKILL');
    }
  });

  it('spares a running VM that another records file keeps for its server while that server is down; `all` removes it', async () => {
    const keptId = `test-kept-${randomBytes(3).toString('hex')}`;
    const dirs = new VmDirs(driver.options.stateDir, driver.options.prefix, keptId);
    const orphan = pausedQemu(keptId);
    const exited = new Promise((resolve) => orphan.once('exit', resolve));
    const recordsFile = join(tmpdir(), `vm-kept-${keptId}.sqlite`);
    try {
      await waitUntil(() => findQemuProcesses(driver.options.prefix).some((process) => process.id === keptId));
      const qemuStart = processStartTime(orphan.pid!)!;
      const deadServer = spawn('true');
      await new Promise((resolve) => deadServer.once('exit', resolve));
      await writeFile(recordsFile, 'the records of a server that will come back');
      await mkdir(dirs.tmp, { recursive: true });
      // As a VM's record is once QEMU runs: QEMU owns it, the server that ran it is gone.
      const record = { id: keptId, ownerPid: orphan.pid, ownerStart: qemuStart, qemuPid: orphan.pid, qemuStart, serverPid: deadServer.pid, serverStart: 1 };
      await writeFile(dirs.record, JSON.stringify({ ...record, recordedIn: recordsFile, createdAt: new Date().toISOString() }));

      // Another server's clean-up (its own records elsewhere) leaves it for its server to take over…
      expect(await driver.cleanupLeftovers({ recordsPath: join(tmpdir(), 'another-server.sqlite') })).toBe(0);
      expect(findQemuProcesses(driver.options.prefix).some((process) => process.id === keptId)).toBe(true);
      expect(existsSync(dirs.root)).toBe(true);
      // …and stopping for good (`npm run sandbox:cleanup`) removes it.
      expect(await driver.cleanupLeftovers({ all: true })).toBe(1);
      await exited;
      expect(existsSync(dirs.root)).toBe(false);
      expect(sandbox!.qemuPid).toBe(qemuPid);
    } finally {
      if (orphan.exitCode === null && orphan.signalCode === null) orphan.kill('SIGKILL');
      await rm(recordsFile, { force: true });
    }
  });
});

/** A real QEMU named as a VM of ours, paused (-S: nothing to boot), as a crashed server would leave one. */
function pausedQemu(vmId: string) {
  return spawn(
    driver.options.qemu,
    ['-name', `guest=${driver.options.prefix}-${vmId},process=${driver.options.prefix}`, '-S', '-nodefaults', '-display', 'none', '-machine', 'pc', '-m', '16'],
    { stdio: 'ignore', detached: true },
  );
}

describe('destroy', () => {
  it('kills QEMU and leaves no process, socket or temporary file; the shared disk image never changed', async () => {
    // The guest wrote (the disk test filled it up): none of it may reach the shared image.
    const dirs = new VmDirs(driver.options.stateDir, driver.options.prefix, id);
    expect(existsSync(dirs.console)).toBe(true);
    expect(existsSync(dirs.tmp)).toBe(true);
    expect(existsSync(dirs.dockerDisk)).toBe(true);
    const exits: string[] = [];
    sandbox!.onExit((reason) => exits.push(reason));

    await sandbox!.destroy();
    await sandbox!.destroy(); // idempotent

    expect(existsSync(`/proc/${qemuPid}`)).toBe(false);
    expect(findQemuProcesses(driver.options.prefix).filter((process) => process.id === id)).toEqual([]);
    expect(existsSync(dirs.root)).toBe(false);
    expect(existsSync(dirs.dockerDisk)).toBe(false);
    for (const file of QemuCgroup.for(driver.options.prefix, id)?.procsFiles() ?? []) expect(existsSync(file)).toBe(false);
    expect(exits).toEqual([]); // a destroy is not a death
    await expect(sandbox!.openTerminal('1', { cols: 80, rows: 24 })).rejects.toThrow(/not running/);
    const after = statSync(disk.path);
    expect({ size: after.size, mtimeMs: after.mtimeMs }).toEqual({ size: disk.size, mtimeMs: disk.mtimeMs });
    expect(after.mode & 0o777).toBe(0o444);
  });
});
