// Every exercise of the lesson "Les Namespaces", typed as the student would,
// in a real sandbox with a real dockerd, through the driver API only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox-server/src/drivers/driver.ts';
import { NamespaceFixture, type OpenedTerminal } from '../support/namespace-fixture.ts';

const fixture = new NamespaceFixture();
let sandbox: Sandbox;
let one: OpenedTerminal;
let two: OpenedTerminal;
let dockerdPid: string;

beforeAll(async () => {
  await fixture.prepare();
  sandbox = await fixture.create('lesson', { docker: true });
  one = await fixture.open(sandbox, '1');
  two = await fixture.open(sandbox, '2');
  // dockerd starts in the background; the prompt does not wait for it, the lesson does.
  const { output } = await one.reader.run('for i in $(seq 100); do pidof dockerd && break; sleep 0.2; done');
  dockerdPid = output.trim();
});

afterAll(async () => {
  expect(await fixture.destroyAll()).toEqual([]);
});

describe('the machine the student finds', () => {
  it('greets with the course VM prompt, in the student home, as a login shell', async () => {
    expect(one.reader.text).toMatch(/^student@tp-docker:~\$ $/m);
    expect((await one.reader.run('pwd')).output.trim()).toBe('/home/student');
    expect((await one.reader.run('shopt -q login_shell && echo login')).output.trim()).toBe('login');
  });

  it('is student (uid 1000) with passwordless sudo', async () => {
    expect((await one.reader.run('id')).output.trim()).toBe('uid=1000(student) gid=1000(student) groups=1000(student)');
    const root = await one.reader.run('sudo -n id -u');
    expect(root).toEqual({ output: '0\n', exitCode: 0 });
  });

  it('runs in a real terminal that knows its size and type', async () => {
    expect((await one.reader.run('tty')).output.trim()).toMatch(/^\/dev\/pts\/\d+$/);
    expect((await one.reader.run('stty size')).output.trim()).toBe('40 120');
    expect((await one.reader.run('echo $TERM')).output.trim()).toBe('xterm-256color');
    one.terminal.resize({ cols: 90, rows: 30 });
    expect((await one.reader.run('stty size')).output.trim()).toBe('30 90');
  });

  it('reports exit statuses through the OSC 133 D mark', async () => {
    expect((await one.reader.run('false')).exitCode).toBe(1);
    expect((await one.reader.run('(exit 42)')).exitCode).toBe(42);
    expect((await one.reader.run('true')).exitCode).toBe(0);
  });

  it('has a real dockerd whose namespaces root can list', async () => {
    expect(dockerdPid).toMatch(/^\d+$/);
    const ns = await one.reader.run(`sudo ls -l /proc/${dockerdPid}/ns`);
    expect(ns.exitCode).toBe(0);
    for (const kind of ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'user', 'uts']) expect(ns.output).toMatch(new RegExp(`${kind} -> '?${kind}:\\[\\d+\\]`));
  });

  it('shows /proc/1/ns to root only, as on the VM', async () => {
    const denied = await one.reader.run('ls -l /proc/1/ns');
    expect(denied.output).toMatch(/Permission denied/);
    const allowed = await one.reader.run('sudo ls -l /proc/1/ns');
    expect(allowed.exitCode).toBe(0);
    expect(allowed.output).toMatch(/uts -> 'uts:\[\d+\]'/);
  });
});

describe('UTS', () => {
  it('changes the host name in the new namespace only', async () => {
    expect((await one.reader.run('hostname')).output.trim()).toBe('tp-docker');
    await one.reader.run('sudo unshare --uts /bin/bash');
    expect(one.reader.text).toMatch(/root@tp-docker:\/home\/student# $/);
    // The lesson's underscore version is refused by Debian's hostname, on the VM too.
    expect((await one.reader.run('hostname my_name_is_bob')).output).toMatch(/invalid/);
    expect((await one.reader.run('hostname my.name.is.bob')).exitCode).toBe(0);
    expect((await one.reader.run('hostname')).output.trim()).toBe('my.name.is.bob');
    // "Ouvrir un nouveau terminal et vérifier le hostname de la VM."
    expect((await two.reader.run('hostname')).output.trim()).toBe('tp-docker');
    await one.reader.run('exit');
    expect((await one.reader.run('hostname')).output.trim()).toBe('tp-docker');
  });
});

describe('mnt', () => {
  it('mounts a private /tmp that the second terminal does not see', async () => {
    await two.reader.run('echo from-terminal-2 > /tmp/seen-by-the-machine');
    await one.reader.run('sudo unshare --mount /bin/bash');
    expect((await one.reader.run('mount -t tmpfs none /tmp')).exitCode).toBe(0);
    const inside = await one.reader.run('ls -l /tmp');
    expect(inside.output.trim()).toBe('total 0');
    const outside = await two.reader.run('ls -l /tmp');
    expect(outside.output).toMatch(/seen-by-the-machine/);
    await one.reader.run('exit');
    expect((await one.reader.run('cat /tmp/seen-by-the-machine')).output.trim()).toBe('from-terminal-2');
  });
});

describe('pid', () => {
  it('still shows the machine\'s processes without --mount-proc, but cannot touch them', async () => {
    await one.reader.run('sudo unshare --pid --fork /bin/bash');
    const ps = await one.reader.run('ps aux');
    expect(ps.exitCode).toBe(0);
    expect(ps.output).not.toMatch(/fatal library error/);
    expect(ps.output).toMatch(/dockerd/);
    expect((await one.reader.run('pidof dockerd')).output.trim()).toBe(dockerdPid);
    const kill = await one.reader.run('kill -9 $(pidof dockerd)');
    expect(kill.output).toMatch(new RegExp(`bash: kill: \\(${dockerdPid}\\) - No such process`));
    await one.reader.run('exit');
    // dockerd lived through it.
    expect((await one.reader.run('pidof dockerd')).output.trim()).toBe(dockerdPid);
  });

  it('shows only bash and ps with --mount-proc', async () => {
    await one.reader.run('sudo unshare --pid --fork --mount-proc /bin/bash');
    const ps = await one.reader.run('ps aux');
    const lines = ps.output.trim().split('\n');
    expect(lines[0]).toMatch(/^USER\s+PID/);
    expect(lines.slice(1).map((line) => line.split(/\s+/).slice(10).join(' '))).toEqual(['/bin/bash', 'ps aux']);
    expect(lines[1]!.split(/\s+/)[1]).toBe('1');
    await one.reader.run('exit');
  });
});

describe('user', () => {
  it('makes the student nobody in a user namespace made without sudo', async () => {
    await one.reader.run('unshare --user /bin/bash');
    expect((await one.reader.run('id')).output.trim()).toBe('uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)');
    await one.reader.run('exit');
    expect((await one.reader.run('id -u')).output.trim()).toBe('1000');
  });
});
