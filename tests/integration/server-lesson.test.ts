// The lesson "Les Namespaces" typed through the sandbox server as the page
// does it: REST to get a sandbox, two terminals over WebSockets, binary
// frames for keys and screen, acknowledgements as xterm sends them. Then
// reattaching: the same shell comes back with its recent output.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../sandbox-server/src/protocol.ts';
import { createdSandboxIds, startServer, serverLeftovers, type RunningServer } from '../support/server.ts';
import { TerminalClient, attachTerminal, createSandbox, deleteSandbox, type AttachedTerminal, type CreatedSandbox } from '../support/server-client.ts';

let server: RunningServer;
let sandbox: CreatedSandbox;
let one: AttachedTerminal;
let two: AttachedTerminal;
let dockerdPid: string;

beforeAll(async () => {
  server = await startServer({ env: { SANDBOX_DOCKER: 'true' } });
  sandbox = await createSandbox(server);
  one = await attachTerminal(server, sandbox, '1');
  two = await attachTerminal(server, sandbox, '2');
  await one.reader.waitForPrompt();
  await two.reader.waitForPrompt();
  // dockerd starts in the background; the prompt does not wait for it, the lesson does.
  dockerdPid = (await one.reader.run('for i in $(seq 100); do pidof dockerd && break; sleep 0.2; done')).output.trim();
});

afterAll(async () => {
  if (sandbox) await deleteSandbox(server, sandbox);
  const exit = await server?.stop();
  expect(exit?.code).toBe(0);
  expect(createdSandboxIds(server)).toHaveLength(1);
  expect(serverLeftovers(server)).toEqual([]);
});

describe('two terminals on one sandbox', () => {
  it('opens both at the requested size, as the student', async () => {
    expect(one.ready).toMatchObject({ terminal: '1', cols: 120, rows: 40, resumed: false, replayBytes: 0 });
    expect(two.ready).toMatchObject({ terminal: '2', resumed: false });
    expect((await one.reader.run('stty size')).output.trim()).toBe('40 120');
    expect((await two.reader.run('id -un')).output.trim()).toBe('student');
    one.client.control({ type: 'resize', cols: 90, rows: 30 });
    expect((await one.reader.run('stty size')).output.trim()).toBe('30 90');
  });

  it('UTS: a host name changed in terminal 1\'s namespace only', async () => {
    await one.reader.run('sudo unshare --uts /bin/bash');
    expect((await one.reader.run('hostname my.name.is.bob')).exitCode).toBe(0);
    expect((await one.reader.run('hostname')).output.trim()).toBe('my.name.is.bob');
    expect((await two.reader.run('hostname')).output.trim()).toBe('tp-docker');
    await one.reader.run('exit');
    expect((await one.reader.run('hostname')).output.trim()).toBe('tp-docker');
  });

  it('mnt: a tmpfs on /tmp in terminal 1 only', async () => {
    await two.reader.run('echo from-terminal-2 > /tmp/seen-by-the-machine');
    await one.reader.run('sudo unshare --mount /bin/bash');
    expect((await one.reader.run('mount -t tmpfs none /tmp')).exitCode).toBe(0);
    expect((await one.reader.run('ls -l /tmp')).output.trim()).toBe('total 0');
    expect((await two.reader.run('ls -l /tmp')).output).toContain('seen-by-the-machine');
    await one.reader.run('exit');
  });

  it('pid: the machine\'s processes are visible but out of reach without --mount-proc', async () => {
    expect(dockerdPid).toMatch(/^\d+$/);
    await one.reader.run('sudo unshare --pid --fork /bin/bash');
    const ps = await one.reader.run('ps aux');
    expect(ps.exitCode).toBe(0);
    expect(ps.output).toContain('dockerd');
    const kill = await one.reader.run('kill -9 $(pidof dockerd)');
    expect(kill.output).toContain(`bash: kill: (${dockerdPid}) - No such process`);
    await one.reader.run('exit');
    expect((await one.reader.run('pidof dockerd')).output.trim()).toBe(dockerdPid);
  });

  it('pid: only bash and ps with --mount-proc', async () => {
    await one.reader.run('sudo unshare --pid --fork --mount-proc /bin/bash');
    const lines = (await one.reader.run('ps aux')).output.trim().split('\n');
    expect(lines[0]).toMatch(/^USER\s+PID/);
    expect(lines.slice(1).map((line) => line.split(/\s+/).slice(10).join(' '))).toEqual(['/bin/bash', 'ps aux']);
    await one.reader.run('exit');
  });

  it('user: nobody in a user namespace made without sudo', async () => {
    await one.reader.run('unshare --user /bin/bash');
    expect((await one.reader.run('id')).output.trim()).toBe('uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)');
    await one.reader.run('exit');
  });

  it('ns: root lists the namespaces of PID 1 and dockerd', async () => {
    const init = await one.reader.run('sudo ls -l /proc/1/ns');
    expect(init.exitCode).toBe(0);
    expect(init.output).toMatch(/uts -> 'uts:\[\d+\]'/);
    const docker = await one.reader.run('sudo ls -l /proc/$(pidof dockerd)/ns');
    expect(docker.output).toMatch(/pid -> 'pid:\[\d+\]'/);
  });
});

describe('reattaching', () => {
  it('returns to the same shell and replays its recent output', async () => {
    await one.reader.run('export LESSON_MARK=still-here-$((6*7))');
    await one.reader.run('echo visible-before-reload');
    await one.client.close();
    const again = await attachTerminal(server, sandbox, '1', { cols: 100, rows: 30 });
    expect(again.ready).toMatchObject({ terminal: '1', resumed: true, cols: 100, rows: 30 });
    expect(again.ready.replayBytes).toBeGreaterThan(0);
    await again.reader.waitFor('visible-before-reload');
    expect((await again.reader.run('echo $LESSON_MARK')).output.trim()).toBe('still-here-42');
    expect((await again.reader.run('stty size')).output.trim()).toBe('30 100');
    one = again;
  });

  it('takes over from a connection still attached (4409 to the old one)', async () => {
    const newer = await attachTerminal(server, sandbox, '2');
    expect(newer.ready.resumed).toBe(true);
    const closed = await two.client.closed;
    expect(closed.code).toBe(CloseCode.takenOver);
    expect(two.client.messages.at(-1)).toMatchObject({ type: 'error', code: 'taken-over' });
    expect((await newer.reader.run('echo took-over')).output.trim()).toBe('took-over');
    two = newer;
  });

  it('reports the shell\'s exit, closes 1000, and starts a new shell on the next attach', async () => {
    two.client.type('exit 3\r');
    expect(await two.client.waitForMessage('exit')).toMatchObject({ code: 3 });
    expect((await two.client.closed).code).toBe(CloseCode.normal);
    const fresh = await attachTerminal(server, sandbox, '2');
    expect(fresh.ready).toMatchObject({ resumed: false, replayBytes: 0 });
    await fresh.reader.waitForPrompt();
    await fresh.client.close();
  });

  it('keeps serving a reader who attaches by cookie, as the page on this origin does', async () => {
    const byCookie = await TerminalClient.connect(server, sandbox.id, '1', { cookie: sandbox.cookie });
    expect((await byCookie.waitForMessage('ready')).resumed).toBe(true);
    expect((await one.client.closed).code).toBe(CloseCode.takenOver);
    await byCookie.close();
  });
});
