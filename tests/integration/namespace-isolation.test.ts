// Limits and isolation of namespace sandboxes, each tried for real: what a
// careless or curious student can do as root inside must stay inside.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox-server/src/drivers/driver.ts';
import { DEFAULT_LIMITS } from '../../sandbox-server/src/drivers/namespace/index.ts';
import { rootfsPath } from '../../sandbox-server/src/rootfs/build.ts';
import { readRecipe } from '../../sandbox-server/src/rootfs/recipe.ts';
import { ImageStoreFixture } from '../support/image-store-fixture.ts';
import { NamespaceFixture, type OpenedTerminal } from '../support/namespace-fixture.ts';

// Docker in use all along: a container runs on a network of its own with a published port.
const images = new ImageStoreFixture();
const fixture = new NamespaceFixture({ registry: images.gates });
let sandbox: Sandbox;
let neighbour: Sandbox;
let term: OpenedTerminal;
const hostMarker = join('/tmp', `host-marker-${randomBytes(4).toString('hex')}`);
const cgroup = (hierarchy: string, file: string) => readFileSync(`/sys/fs/cgroup/${hierarchy}/${fixture.driver.options.prefix}/${sandbox.id}/${file}`, 'utf8');
/** Forks the kernel refused at the terminals' pids limits (terminals/ and each terminals/<name>/: pids.events "max N"). */
const forksRefusedAtTerminalLimits = () => {
  const refused = (file: string) => Number(/^max (\d+)$/m.exec(cgroup('pids', file))?.[1] ?? 0);
  const terminals = readdirSync(`/sys/fs/cgroup/pids/${fixture.driver.options.prefix}/${sandbox.id}/terminals`, { withFileTypes: true });
  return (
    refused('terminals/pids.events') +
    terminals.filter((entry) => entry.isDirectory()).reduce((sum, entry) => sum + refused(`terminals/${entry.name}/pids.events`), 0)
  );
};

beforeAll(async () => {
  await fixture.prepare();
  await images.start();
  writeFileSync(hostMarker, 'a file of the host');
  sandbox = await fixture.create('isolated', { docker: true });
  neighbour = await fixture.create('neighbour');
  term = await fixture.open(sandbox, '1');
  const docker = await term.reader.run(
    'for i in $(seq 300); do docker info >/dev/null 2>&1 && break; sleep 0.2; done; docker network create isole >/dev/null && docker run -d --name temoin --network isole -p 8080:80 busybox httpd -f -p 80 >/dev/null && echo docker-ready',
    { timeoutMs: 120_000 },
  );
  expect(docker.output).toMatch(/docker-ready/);
}, 300_000);

afterAll(async () => {
  rmSync(hostMarker, { force: true });
  expect([...(await fixture.destroyAll()), ...(await images.stop())]).toEqual([]);
});

describe('limits', () => {
  it("applies the configured memory, pids and CPU limits to the sandbox's cgroups", () => {
    expect(Number(cgroup('memory', 'memory.limit_in_bytes'))).toBe(DEFAULT_LIMITS.memoryBytes);
    expect(Number(cgroup('pids', 'pids.max'))).toBe(DEFAULT_LIMITS.pids);
    expect(Number(cgroup('cpu', 'cpu.cfs_quota_us')) / Number(cgroup('cpu', 'cpu.cfs_period_us'))).toBe(DEFAULT_LIMITS.cpus);
  });

  it('holds a fork bomb at the pids limit, stops it, and gives the shell back', async () => {
    const other = await fixture.open(sandbox, 'bystander');
    const before = term.reader.cursor;
    term.terminal.write(':(){ :|:& };:\r');
    await term.reader.waitFor(/Limite de processus atteinte \(fork bomb \?\) : \d+ processus arrêtés/, { from: before.text, timeoutMs: 60_000 });
    // The limit held: forks were refused (the kernel counts each refusal at the terminals' limit; the shell's own
    // "fork: retry" message may never come, when the agent stops the bomb first), and the sandbox never went past it.
    expect(forksRefusedAtTerminalLimits()).toBeGreaterThan(0);
    expect(Number(cgroup('pids', 'pids.peak'))).toBeLessThanOrEqual(DEFAULT_LIMITS.pids);
    // Both terminals answer again. `wait` reaps the bomb's job, so bash's « [1]+ Done » notice is its output, not the next command's.
    await term.reader.run('wait', { timeoutMs: 60_000 });
    expect((await term.reader.run('echo alive-$((20+1))', { timeoutMs: 60_000 })).output).toMatch(/alive-21/);
    expect((await other.reader.run('echo bystander-ok', { timeoutMs: 60_000 })).output.trim()).toBe('bystander-ok');
  });

  it('OOM-kills a memory hog inside, and only the hog', async () => {
    const agentBefore = (await term.reader.run('pidof sandbox-agent')).output.trim();
    const hog = await term.reader.run('head -c 600M /dev/zero | tail');
    expect(hog.exitCode).toBe(137); // tail was killed (SIGKILL)
    expect(Number(/oom_kill (\d+)/.exec(cgroup('memory', 'memory.oom_control'))?.[1])).toBeGreaterThan(0);
    expect((await term.reader.run('pidof sandbox-agent')).output.trim()).toBe(agentBefore);
    expect((await term.reader.run('echo survived')).output.trim()).toBe('survived');
  });

  it("OOM-kills a hog's pieces, not the machine's own processes, when the hog is many processes each smaller than dockerd", async () => {
    // Each piece alone is smaller than dockerd or the agent: only the shells' oom_score_adj (500) makes the
    // kernel pick the reader's processes first, so that the machine's own keep running.
    const ownBefore = (await term.reader.run('pidof dockerd sandbox-agent terminal-keeper')).output.trim();
    const killsBefore = Number(/oom_kill (\d+)/.exec(cgroup('memory', 'memory.oom_control'))?.[1]);
    const hog = await term.reader.run('for i in $(seq 48); do (head -c 16M /dev/zero | tail >/dev/null) & done; wait; echo hog-done', { timeoutMs: 120_000 });
    expect(hog.output).toMatch(/Killed/);
    expect(Number(/oom_kill (\d+)/.exec(cgroup('memory', 'memory.oom_control'))?.[1])).toBeGreaterThan(killsBefore);
    expect((await term.reader.run('pidof dockerd sandbox-agent terminal-keeper')).output.trim()).toBe(ownBefore);
    expect((await term.reader.run('docker ps --format "{{.Names}}"')).output).toMatch(/^temoin$/m);
  });

  it('gives ENOSPC when the disk is full, then frees it', async () => {
    const fill = await term.reader.run('dd if=/dev/zero of=$HOME/big bs=1M count=400');
    expect(fill.output).toMatch(/No space left on device/);
    expect(fill.exitCode).not.toBe(0);
    expect((await term.reader.run('rm $HOME/big && echo freed')).output.trim()).toBe('freed');
    expect((await term.reader.run('echo writable > $HOME/after && cat $HOME/after')).output.trim()).toBe('writable');
  });
});

describe('network', () => {
  it("has loopback and its own containers' bridges only, and no route out", async () => {
    // dockerd's bridges (docker0, br-…) and the veth ends of its containers: all inside the machine.
    const links = (await term.reader.run('ip -o link show | cut -d: -f2 | cut -d@ -f1')).output.trim().split(/\s+/);
    expect(links).toContain('lo');
    for (const link of links) expect(link).toMatch(/^(lo|docker0|br-[0-9a-f]{12}|veth[0-9a-f]{7})$/);
    // Routes lead only to those bridges' own subnets: no default route, nothing towards the host.
    const routes = (await term.reader.run('ip route; ip -6 route | grep -v "^::1\\|^fe80" ; echo end')).output.trim().split(/\r?\n/);
    expect(routes.pop()).toBe('end');
    for (const route of routes)
      expect(route).toMatch(/^172\.(1[6-9]|2\d|3[01])\.0\.0\/16 dev (docker0|br-[0-9a-f]{12}) proto kernel scope link src 172\.\d+\.0\.1/);
    // No traffic is sent to find out: the routes and links above are the proof, and no
    // outside address is named in the project (loopback services are tried below).
    expect((await term.reader.run('ip route show default; ip -6 route show default; echo end')).output.trim()).toBe('end');
  });

  it("does not reach a service on the host's loopback", async () => {
    const server = net.createServer((socket) => socket.end('host service\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      const attempt = await term.reader.run(`curl -sS --max-time 10 http://127.0.0.1:${port}/ 2>&1`);
      expect(attempt.output).not.toMatch(/host service/);
      expect(attempt.output).toMatch(/Connection refused|Couldn't connect/);
    } finally {
      server.close();
    }
  });
});

describe('host files', () => {
  it("does not see the host's files, and its /etc/shadow is the root filesystem's", async () => {
    expect((await term.reader.run(`sudo ls ${hostMarker}`)).output).toMatch(/No such file or directory/);
    const inside = (await term.reader.run('sudo sha256sum /etc/shadow')).output.trim().split(/\s+/)[0];
    const rootfsShadow = readFileSync(join(rootfsPath(fixture.driver.options.cacheDir, readRecipe()), 'etc/shadow'));
    expect(inside).toBe(createHash('sha256').update(rootfsShadow).digest('hex'));
    expect(inside).not.toBe(createHash('sha256').update(readFileSync('/etc/shadow')).digest('hex'));
  });

  it('cannot write to the shared root filesystem', async () => {
    const rootfs = rootfsPath(fixture.driver.options.cacheDir, readRecipe());
    await term.reader.run('sudo sh -c "echo changed > /etc/motd-written-inside"');
    expect(existsSync(join(rootfs, 'etc/motd-written-inside'))).toBe(false);
  });
});

describe('root inside reaches nothing outside', () => {
  it("cannot mount the host's disk nor make a device for it", async () => {
    const mount = await term.reader.run('sudo mount /dev/vda /mnt');
    expect(mount.exitCode).not.toBe(0);
    const mknod = await term.reader.run('sudo mknod /tmp/disk b 254 0 && sudo mount /tmp/disk /mnt');
    expect(mknod.exitCode).not.toBe(0);
    expect(mknod.output).toMatch(/Operation not permitted|Permission denied/);
  });

  it('cannot use the magic SysRq key, drop caches or read the kernel log', async () => {
    const sysrq = await term.reader.run('echo h | sudo tee /proc/sysrq-trigger');
    expect(sysrq.exitCode).not.toBe(0);
    // Kernels built without SysRq (this host's) have no such file at all.
    expect(sysrq.output).toMatch(existsSync('/proc/sysrq-trigger') ? /Read-only file system/ : /No such file or directory/);
    const caches = await term.reader.run('sudo sh -c "echo 3 > /proc/sys/vm/drop_caches"');
    expect(caches.output).toMatch(/Read-only file system/);
    expect((await term.reader.run('sudo dmesg')).output).toMatch(/Operation not permitted/);
  });

  it('cannot raise its own limits', async () => {
    for (const file of ['pids/pids.max', 'memory/memory.limit_in_bytes', 'cpu/cpu.cfs_quota_us']) {
      const attempt = await term.reader.run(`echo -1 | sudo tee /sys/fs/cgroup/${file}`);
      expect(attempt.output).toMatch(/Permission denied/);
    }
    expect(Number(cgroup('pids', 'pids.max'))).toBe(DEFAULT_LIMITS.pids);
    expect(Number(cgroup('memory', 'memory.limit_in_bytes'))).toBe(DEFAULT_LIMITS.memoryBytes);
  });

  it('cannot load kernel modules', async () => {
    // Kernels built without module support (this host's) have no /proc/modules.
    const modulesOnHost = () => (existsSync('/proc/modules') ? readFileSync('/proc/modules', 'utf8') : 'no module support');
    const modules = modulesOnHost();
    const modprobe = await term.reader.run('sudo modprobe dummy');
    expect(modprobe.exitCode).not.toBe(0);
    // CAP_SYS_MODULE (bit 16) is not even in the bounding set of root inside.
    const bounding = (await term.reader.run('sudo grep CapBnd /proc/self/status')).output.trim().split(/\s+/)[1]!;
    expect(BigInt(`0x${bounding}`) & (1n << 16n)).toBe(0n);
    expect(modulesOnHost()).toBe(modules);
  });

  it("lets root read the namespaces of every process of the machine, the student's and sudo's too, as on the course VM", async () => {
    // CAP_SYS_PTRACE inside (oci-config.ts), over the sandbox's own user namespace only: the agent's namespace view needs it.
    const links = await term.reader.run("sudo sh -c 'for p in $(pgrep -u student bash) $(pgrep -x sudo); do readlink /proc/$p/ns/uts || echo refused; done'");
    expect(links.output).toMatch(/uts:\[\d+\]/);
    expect(links.output).not.toMatch(/refused|Permission denied/);
  });

  it('cannot see or touch the processes and files of another sandbox', async () => {
    const other = await fixture.open(neighbour, '1');
    await other.reader.run('echo secret > /tmp/neighbour-secret; sleep 4242 &');
    expect((await term.reader.run('ls /tmp/neighbour-secret')).output).toMatch(/No such file/);
    expect((await term.reader.run('pgrep -f "sleep 4242" || echo none')).output.trim()).toBe('none');
    expect((await other.reader.run('pgrep -f "sleep 4242"')).exitCode).toBe(0);
  });

  it('kill -9 -1 as root ends this sandbox only', async () => {
    const hostProcess = spawn('sleep', ['300'], { stdio: 'ignore' });
    const other = await fixture.open(neighbour, 'witness');
    const died = new Promise<string>((resolve) => sandbox.onExit(resolve));
    try {
      term.terminal.write('sudo kill -9 -1\r');
      expect(await died).toMatch(/agent connection closed/);
      expect(hostProcess.exitCode).toBeNull();
      expect(hostProcess.signalCode).toBeNull();
      process.kill(hostProcess.pid!, 0); // still there
      expect((await other.reader.run('echo neighbour-alive')).output.trim()).toBe('neighbour-alive');
    } finally {
      hostProcess.kill();
    }
  });
});
