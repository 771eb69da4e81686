// Root inside one machine against what the kernel counts per host user or for
// the whole host, not per cgroup (drivers/namespace/shared-kernel-limits.ts):
// inotify instances, charged to host root through the machine's user
// namespace, and ptys, one host-wide number. At Debian's defaults a few lines
// of perl in one machine took them all (125 inotify instances, 3071 ptys), and
// then no other machine could open a terminal and no root process of the host
// could watch a file. Each attack here goes past those old limits; the other
// machine and the host must not notice. Also: kernel keys (memory outside any
// cgroup), a tmpfs root mounts in its own mount namespace, and the machine's
// Docker disk, filled to the brim. And namespace counts (user.max_*_namespaces),
// which this host's root cannot raise: each machine's user namespace is owned
// by its own host uid, so what root inside makes is charged to that uid.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync, watch } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamespaceSandbox } from '../../sandbox-server/src/drivers/namespace/index.ts';
import { MACHINE_PTYS } from '../../sandbox-server/src/drivers/namespace/oci-config.ts';
import { SHARED_KERNEL_LIMIT_FLOORS, isPerMachineLimit } from '../../sandbox-server/src/drivers/namespace/shared-kernel-limits.ts';
import { dockerDiskPath } from '../../sandbox-server/src/drivers/namespace/docker-disk.ts';
import { closingError } from '../../sandbox-server/src/manager/sandbox-manager.ts';
import { NamespaceFixture } from '../support/namespace-fixture.ts';

const fixture = new NamespaceFixture({ dockerDiskBytes: 256 * 1024 ** 2 });
let attacker: NamespaceSandbox;
let bystander: NamespaceSandbox;

beforeAll(async () => {
  await fixture.prepare();
  [attacker, bystander] = await Promise.all([fixture.create('hog'), fixture.create('bystander')]);
}, 180_000);

afterAll(async () => {
  expect(await fixture.destroyAll()).toEqual([]);
}, 120_000);

const root = (sandbox: NamespaceSandbox, command: string, timeoutMs = 60_000) => sandbox.exec(['sh', '-c', command], { timeoutMs });

/** Starts `perl` in the background as root in the attacker, and waits for the file it writes once it holds what it took. */
async function holdInAttacker(name: string, perl: string): Promise<string> {
  await root(attacker, `nohup perl -e '${perl}; open(my $o, ">", "/tmp/${name}.held"); print $o $n; close $o; sleep 120' >/tmp/${name}.log 2>&1 &`);
  for (let attempt = 0; attempt < 600; attempt++) {
    const { stdout } = await root(attacker, `cat /tmp/${name}.held 2>/dev/null`);
    if (stdout.trim() !== '') return stdout.trim();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the attacker never held its ${name}: ${(await root(attacker, `cat /tmp/${name}.log`)).stdout}`);
}

/** What a second machine and the host still can: an inotify instance each, and a new terminal. */
async function othersStillCan(): Promise<void> {
  const inotify = await root(bystander, `perl -e 'my $fd = syscall(294, 0); print $fd < 0 ? "refused: $!" : "ok"'`);
  expect(inotify.stdout, "the other machine's inotify").toBe('ok');
  const watcher = watch('/tmp');
  watcher.close();
  const terminal = await fixture.open(bystander, `t${Math.random().toString(16).slice(2, 6)}`);
  terminal.terminal.close();
}

describe('limits the kernel shares between machines', () => {
  it('are raised at prepare so far that a machine meets its memory limit first', () => {
    for (const [name, floor] of Object.entries(SHARED_KERNEL_LIMIT_FLOORS)) {
      if (!existsSync(`/proc/sys/${name}`)) continue;
      // Or said in the log, where this host's root may not (user/* needs CAP_SYS_RESOURCE): a warning for a limit
      // every machine shares, a remark for one each machine has of its own (isPerMachineLimit).
      const leftAsIs = fixture.logs.some(
        (record) => record.level === (isPerMachineLimit(name) ? 'info' : 'warn') && record.limit === name.replaceAll('/', '.') && record.wanted === floor,
      );
      if (!leftAsIs) expect(Number(readFileSync(`/proc/sys/${name}`, 'utf8')), name).toBeGreaterThanOrEqual(floor);
    }
    // The two the attacks below go past are raised on any host whose root is root.
    expect(Number(readFileSync('/proc/sys/fs/inotify/max_user_instances', 'utf8'))).toBeGreaterThanOrEqual(2 ** 31 - 1);
    expect(Number(readFileSync('/proc/sys/kernel/pty/max', 'utf8'))).toBeGreaterThanOrEqual(1 << 20);
  });

  it('an inotify flood by root in one machine leaves the other machine and the host theirs', async () => {
    // 2000: far past the 128 that host root's processes and every machine used to share.
    const held = await holdInAttacker('inotify', 'our $n = 0; for (1..2000) { last if syscall(294, 0) < 0; $n++ }');
    expect(Number(held)).toBe(2000);
    await othersStillCan();
    await root(attacker, 'pkill -f "syscall\\(294" ; true');
  }, 120_000);

  it('a fanotify flood by root in one machine leaves the other machine its fanotify', async () => {
    // fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID): what a user without CAP_SYS_ADMIN over the host may make; 128 were shared.
    const held = await holdInAttacker('fanotify', 'our $n = 0; for (1..400) { last if syscall(300, 0x200, 0) < 0; $n++ }');
    expect(Number(held)).toBe(400);
    const other = await root(bystander, `perl -e 'my $fd = syscall(300, 0x200, 0); print $fd < 0 ? "refused: $!" : "ok"'`);
    expect(other.stdout).toBe('ok');
    await root(attacker, 'pkill -f "syscall\\(300" ; true');
  }, 120_000);

  it("a pty flood stops at the machine's share of /dev/pts; one through a devpts of its own leaves the others their terminals", async () => {
    const own = await root(
      attacker,
      `perl -e 'our $n = 0; for (1..${MACHINE_PTYS + 100}) { open(my $f, "+<", "/dev/ptmx") or do { print "$n $!"; exit }; push @k, $f; $n++ } print "$n"'`,
    );
    const [count, ...why] = own.stdout.split(' ');
    expect(why.join(' ')).toBe('No space left on device');
    expect(Number(count)).toBeLessThanOrEqual(MACHINE_PTYS);
    expect(Number(count)).toBeGreaterThan(MACHINE_PTYS - 16);
    // A devpts mounted anew (as Docker does for each container) has no share: 4000 is past the 3072 every machine used to share.
    const held = await holdInAttacker(
      'ptys',
      'system("mkdir -p /tmp/pts && mount -t devpts -o newinstance,ptmxmode=0666 none /tmp/pts") == 0 or die "mount: $?"; our $n = 0; for (1..4000) { open(my $f, "+<", "/tmp/pts/ptmx") or last; push @k, $f; $n++ }',
    );
    expect(Number(held)).toBe(4000);
    await othersStillCan();
    await root(attacker, 'pkill -f /tmp/pts/ptmx; true');
  }, 120_000);
});

// Run by host root on a process: for each namespace it holds open, its type and
// the top-level user namespace above it (a child of the host's), with that one's
// owner uid (ioctl NS_GET_USERNS, NS_GET_PARENT, NS_GET_OWNER_UID). The kernel
// charges a namespace at the host's level to exactly that owner (kernel/ucount.c:
// inc_ucount climbs the namespaces, charging each level to its child's owner).
const NAMESPACE_OWNERS = `
my $pid = shift;
my $host = (stat("/proc/self/ns/user"))[1];
for my $link (glob("/proc/$pid/fd/*")) {
  my $to = readlink($link) // next;
  next unless $to =~ /^(user|net|mnt|pid|ipc|uts|cgroup):/;
  my $type = $1;
  open(my $u, "<", $link) or die "open $link: $!";
  if ($type ne "user") { my $z = 0; my $fd = ioctl($u, 0xb701, $z) or die "NS_GET_USERNS: $!"; open($u, "<&=", $fd) or die "$!" }
  if ((stat($u))[1] == $host) { print "$type host\n"; next }
  for (;;) {
    my $z = 0; my $fd = ioctl($u, 0xb702, $z) or die "NS_GET_PARENT: $!";
    open(my $parent, "<&=", $fd) or die "$!";
    last if (stat($parent))[1] == $host;
    $u = $parent;
  }
  my $owner = pack("L", 0); ioctl($u, 0xb704, $owner) or die "NS_GET_OWNER_UID: $!";
  printf "%s %d %d\n", $type, (stat($u))[1], unpack("L", $owner);
}`;

/** The host pids whose command line starts with `marker` (the processes that named themselves so). */
function hostPidsNamed(marker: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(marker);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

function inode(nsLink: string): number {
  return Number(/\[(\d+)\]/.exec(readlinkSync(nsLink))![1]);
}

/** NAMESPACE_OWNERS's lines for host process `pid`. */
function namespaceOwners(pid: number): string[] {
  return execFileSync('perl', ['-e', NAMESPACE_OWNERS, String(pid)], { encoding: 'utf8' })
    .trim()
    .split('\n');
}

/** "<inode of the machine's user namespace> <its owner's host uid>", as a process root starts in `sandbox` sees it. */
async function machineNamespaceOwner(sandbox: NamespaceSandbox): Promise<string> {
  const marker = `nsowner-${randomBytes(4).toString('hex')}`;
  await root(sandbox, `nohup perl -e '$0 = "${marker}"; open(my $u, "<", "/proc/self/ns/user"); sleep 60' >/dev/null 2>&1 &`);
  try {
    for (let attempt = 0; attempt < 200; attempt++) {
      const [pid] = hostPidsNamed(marker);
      // Its fd is open once its name is set: the name comes first in the program, the open right after.
      const owners = pid === undefined ? [] : namespaceOwners(pid).filter((line) => line.startsWith('user '));
      if (owners.length === 1) return owners[0]!.slice('user '.length);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no process named ${marker} in machine ${sandbox.id}`);
  } finally {
    await root(sandbox, `pkill -f "^${marker}"; true`);
  }
}

describe("namespace counts (user.max_*_namespaces: host-wide per owner, not raisable by this host's root)", () => {
  it("what root inside one machine makes is charged to that machine's host uid, not to host root's; nothing runs as that uid on the host", async () => {
    // Small on purpose: each namespace kept open is charged where the kernel counts it; filling a
    // host-wide allowance for real would stop every other machine on this host, others' included.
    const users = 300;
    const nets = 40;
    const marker = `nsflood-${randomBytes(4).toString('hex')}`;
    // A child makes the namespace (unshare: 272; CLONE_NEWUSER, CLONE_NEWNET), the flood keeps it open by fd, the child ends.
    const held = await holdInAttacker(
      'namespaces',
      `$0 = "${marker}"; use POSIX; our @keep; our $n = 0; for my $kind ([0x10000000, "user", ${users}], [0x40000000, "net", ${nets}]) { for (1..$kind->[2]) { pipe(my $r, my $w); my $pid = fork(); if (!$pid) { close $r; syswrite($w, syscall(272, $kind->[0]) == 0 ? "y" : "n"); sleep 60; POSIX::_exit(0) } close $w; sysread($r, my $said, 1); if ($said eq "y") { open(my $ns, "<", "/proc/$pid/ns/$kind->[1]") or die "$!"; push @keep, $ns; $n++ } kill 9, $pid; waitpid($pid, 0) } }`,
    );
    expect(Number(held)).toBe(users + nets);
    const [flood] = hostPidsNamed(marker);
    expect(flood, 'the flood, seen from the host').toBeDefined();
    const machineNamespace = inode(`/proc/${flood}/ns/user`);
    const owners = namespaceOwners(flood!);
    // Every one is under the machine's own user namespace, owned by the machine's base host uid.
    const expected = `${machineNamespace} ${attacker.uidRange.base}`;
    // (Made by crun as host root, they were all "<namespace> 0": host root's one allowance for every machine.)
    expect(new Set(owners.map((line) => line.split(' ').slice(1).join(' ')))).toEqual(new Set([expected]));
    expect(owners.filter((line) => line === `user ${expected}`)).toHaveLength(users);
    expect(owners.filter((line) => line === `net ${expected}`)).toHaveLength(nets);
    expect(owners.filter((line) => !line.endsWith(` ${expected}`))).toEqual([]);
    expect(attacker.uidRange.base).not.toBe(0);

    // The other machine's namespace has an owner of its own: two machines never share a count.
    expect(await machineNamespaceOwner(bystander)).toMatch(new RegExp(` ${bystander.uidRange.base}$`));

    // The process that made each machine's namespace as its host uid is gone: nothing in the host's
    // own user namespace runs as either machine's uid (a process there would hold every capability over the machine).
    const hostNamespace = inode('/proc/self/ns/user');
    const onHostAs = (uid: number) =>
      readdirSync('/proc')
        .filter((name) => /^\d+$/.test(name))
        .filter((pid) => {
          try {
            const status = readFileSync(`/proc/${pid}/status`, 'utf8');
            return new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(status) && inode(`/proc/${pid}/ns/user`) === hostNamespace;
          } catch {
            return false;
          }
        });
    expect(onHostAs(attacker.uidRange.base)).toEqual([]);
    expect(onHostAs(bystander.uidRange.base)).toEqual([]);

    // And meanwhile the other machine and host root still make namespaces.
    expect((await root(bystander, 'unshare --user --net true && echo made')).stdout.trim()).toBe('made');
    expect(execFileSync('unshare', ['--user', '--net', 'echo', 'made'], { encoding: 'utf8' }).trim()).toBe('made');
    // ^: the flood and the sleeper named themselves so; the shell running pkill did not.
    await root(attacker, `pkill -f "^${marker}"; true`);
  }, 120_000);

  it("a per-owner allowance one machine uses up (POSIX message queues' 800 KiB) leaves the other machine and host root theirs", async () => {
    // RLIMIT_MSGQUEUE (819 200 bytes here) is counted like the namespace counts: at the host's level, for all
    // of a machine's uids, against its user namespace's owner. Small enough to use up for real — but only once
    // the machine's namespace is known to be owned by its own uid: owned by host root, the flood would take
    // host root's own queues (and every machine's) for the test's duration.
    expect(await machineNamespaceOwner(attacker)).toMatch(new RegExp(` ${attacker.uidRange.base}$`));
    const limit = Number(/^Max msgqueue size\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1]);
    expect(limit).toBeGreaterThan(0);
    // mq_open (240) of queues of 10 messages of 8 KiB, ≈ 82 KB each, until the kernel says no; mq_unlink is 241.
    const queues = (name: string, count: number) =>
      `my $attr = pack("q8", 0, 10, 8192, 0, 0, 0, 0, 0); our $n = 0; our $why = ""; for my $i (1..${count}) { if (syscall(240, "${name}-$i", 0102, 0600, $attr) < 0) { $why = "$!"; last } $n++ }`;
    const name = `mq-${randomBytes(3).toString('hex')}`;
    const flood = await root(attacker, `perl -e '${queues(name, 100)} print "$n $why"'`);
    const [made, ...why] = flood.stdout.split(' ');
    // Its whole allowance: the next queue would go past it.
    expect(why.join(' ')).toBe('Too many open files');
    expect(Number(made) * 82_000).toBeGreaterThan(limit - 2 * 82_000);
    // The other machine and host root each still make one (host root's is removed at once).
    const other = await root(bystander, `perl -e '${queues(name, 1)} my $q = "${name}-1"; syscall(241, $q); print "made $n$why"'`);
    expect(other.stdout + other.stderr).toBe('made 1');
    const host = execFileSync('perl', ['-e', `${queues(name, 1)} my $q = "${name}-1"; syscall(241, $q); print "made $n$why"`], { encoding: 'utf8' });
    expect(host).toBe('made 1');
    await root(attacker, `perl -e 'syscall(241, "${name}-$_") for 1..${Number(made)}'`);
  }, 120_000);
});

describe('host-wide settings', () => {
  it('a /proc of its own (unshare --pid --fork --mount-proc, as the lesson does) writes no host-wide sysctl', async () => {
    const tried = await root(
      attacker,
      'unshare --pid --fork --mount-proc sh -c \'for s in vm/drop_caches kernel/pid_max kernel/pty/max fs/inotify/max_user_instances vm/overcommit_memory; do (echo 1 > /proc/sys/$s) 2>/dev/null && echo "$s written" || echo "$s refused"; done\'',
    );
    expect(tried.stdout.trim().split('\n')).toEqual([
      'vm/drop_caches refused',
      'kernel/pid_max refused',
      'kernel/pty/max refused',
      'fs/inotify/max_user_instances refused',
      'vm/overcommit_memory refused',
    ]);
    expect(Number(readFileSync('/proc/sys/kernel/pty/max', 'utf8'))).toBeGreaterThan(1);
  });
});

describe('kernel memory no cgroup is charged for', () => {
  it("kernel keys: root switching through its machine's uids stores none (keyrings answer ENOSYS)", async () => {
    // Each key is kernel memory outside the machine's cgroup, within a quota per host uid: one uid
    // after another, root inside stored 70 MB of the host's memory in 2000 keys when keyrings were open.
    const stored = await root(
      attacker,
      `perl -e 'use POSIX; my ($ok, $why) = (0, ""); for my $u (2000..2199) { pipe(my $r, my $w); my $pid = fork(); if (!$pid) { close $r; POSIX::setgid($u); POSIX::setuid($u); my ($t, $d, $p) = ("user", "k$u", "x" x 19000); my $k = syscall(248, $t, $d, $p, length($p), -4); syswrite($w, $k < 0 ? "$!" : "stored"); POSIX::_exit(0) } close $w; my $said = <$r>; waitpid($pid, 0); $ok++ if $said eq "stored"; $why = $said } print "$ok $why"'`,
    );
    expect(stored.stdout).toBe('0 Function not implemented');
  }, 60_000);
});

describe('disks root inside makes or fills', () => {
  it('a tmpfs of its own, bigger than the machine, costs that machine only: bounded by its memory, the others go on', async () => {
    // tmpfs pages cannot be reclaimed: the machine's memory cgroup OOM-kills inside until the writer's
    // mount namespace is gone, or its agent's keeper gives up on an agent killed again and again (then the
    // machine ends, told as a death, and is removed).
    const hog = await fixture.create('tmpfs-hog');
    const ended: string[] = [];
    hog.onExit((reason) => ended.push(reason));
    const filled = await root(
      hog,
      'unshare --mount sh -c "mount -t tmpfs -o size=4g none /mnt && dd if=/dev/zero of=/mnt/fill bs=1M count=2048 2>&1 | tail -1"',
      120_000,
    ).then(
      (result) => result.stdout,
      (error: Error) => error.message,
    );
    expect(filled).not.toMatch(/^2147483648 bytes/);
    // Either the machine answers again (the OOM killer freed the tmpfs with its writer's namespace), or it died of
    // it and says so. Between the two, its Node agent may be OOM-killed and started again by its keeper, a few
    // times (the fourth death within a minute ends the machine): ask until one or the other is plain.
    const diedRecord = () => fixture.logs.find((record) => record.msg === 'sandbox died' && record.sandbox === hog.id);
    let alive = false;
    for (const deadline = Date.now() + 120_000; !alive && !diedRecord() && Date.now() < deadline; ) {
      alive = await root(hog, 'echo still-here', 20_000).then(
        (result) => result.stdout.trim() === 'still-here',
        () => false,
      );
      if (!alive) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const died = diedRecord();
    if (!alive) {
      expect(String(died?.reason)).toMatch(/memory limit was hit \(\d+ OOM kills\)/);
      // The server tells its reader the memory was full (manager: 'out-of-memory'), not just that the machine stopped.
      expect(ended[0]).toMatch(/^the machine ran out of memory \(\d+ OOM kills\)/);
      expect(closingError('out-of-memory')).toMatchObject({ lang: 'fr', message: expect.stringContaining('sa mémoire était pleine') });
    }
    await othersStillCan();
  }, 300_000);

  it("its Docker disk, filled past its size, says « No space left » inside and takes no more of the host's disk", async () => {
    const docker = await fixture.create('docker-fill', { docker: true });
    const disk = dockerDiskPath(fixture.driver.options.dockerDiskDir, docker.id);
    const filled = await root(docker, 'dd if=/dev/zero of=/var/lib/docker/fill bs=1M count=400 2>&1 | grep -o "No space left on device"', 120_000);
    expect(filled.stdout).toMatch(/No space left on device/);
    // Sparse: the host pays what was written, and never past the disk's size (its own filesystem's metadata included).
    expect(statSync(disk).blocks * 512).toBeLessThanOrEqual(256 * 1024 ** 2);
    await othersStillCan();
    expect((await root(docker, 'rm /var/lib/docker/fill && echo freed')).stdout.trim()).toBe('freed');
  }, 180_000);
});
