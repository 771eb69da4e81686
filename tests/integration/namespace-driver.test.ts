// The namespace driver's contract, on real sandboxes: terminals (names, sizes,
// flow control, hang-up), identity per sandbox, death reports, teardown,
// leftovers of a crashed server, and helpful errors for bad input.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox-server/src/drivers/driver.ts';
import type { NamespaceSandbox } from '../../sandbox-server/src/drivers/namespace/index.ts';
import { createDriver } from '../../sandbox-server/src/drivers/index.ts';
import { DEFAULT_LIMITS, InvalidOptionsError, createNamespaceDriver } from '../../sandbox-server/src/drivers/namespace/index.ts';
import { namespaceLeftovers } from '../support/namespace-leftovers.ts';
import { NamespaceFixture } from '../support/namespace-fixture.ts';

const fixture = new NamespaceFixture();
let sandbox: NamespaceSandbox;

beforeAll(async () => {
  await fixture.prepare();
  sandbox = await fixture.create('driver');
});

afterAll(async () => {
  expect(await fixture.destroyAll()).toEqual([]);
});

describe('terminals', () => {
  it('gives each name its own shell on its own pty, on the same machine', async () => {
    const a = await fixture.open(sandbox, 'a');
    const b = await fixture.open(sandbox, 'b');
    const ttyA = (await a.reader.run('tty')).output.trim();
    const ttyB = (await b.reader.run('tty')).output.trim();
    expect(ttyA).not.toBe(ttyB);
    await a.reader.run('echo shared > /tmp/both-see-this');
    expect((await b.reader.run('cat /tmp/both-see-this')).output.trim()).toBe('shared');
  });

  it('returns the open terminal for a name already open, resized to the new size', async () => {
    const first = await fixture.open(sandbox, 'same', { cols: 80, rows: 24 });
    const again = await sandbox.openTerminal('same', { cols: 100, rows: 50 });
    expect(again).toBe(first.terminal);
    expect((await first.reader.run('stty size')).output.trim()).toBe('50 100');
  });

  it('refuses bad names and sizes with a message saying what is allowed', async () => {
    await expect(sandbox.openTerminal('../etc', { cols: 80, rows: 24 })).rejects.toThrow(/invalid terminal name: a terminal name is/);
    await expect(sandbox.openTerminal('ok', { cols: 0, rows: 0 })).rejects.toThrow(/cols must be an integer in 2\.\.500, got 0/);
    const { terminal, reader } = await fixture.open(sandbox, 'sized');
    // A bad size reaching the driver is refused and logged, never thrown (the edge refuses it first):
    // the terminal keeps its size and its shell.
    terminal.resize({ cols: 80, rows: -1 });
    expect((await reader.run('stty size')).output.trim()).toBe('40 120');
  });

  it('holds the shell back while paused and lets it finish on resume', async () => {
    const loud = await fixture.open(sandbox, 'loud');
    const watcher = await fixture.open(sandbox, 'watcher');
    loud.terminal.pause();
    const before = loud.reader.cursor;
    // Far more than the pty and socket buffers hold: seq must block on its writes.
    loud.terminal.write('seq 1 400000; echo finished-$((40+2))\r');
    const { output } = await watcher.reader.run('for i in $(seq 100); do pgrep -x seq && break; sleep 0.1; done; sleep 0.5; ps -o stat= -C seq');
    expect(output).toMatch(/^\d+\n(S|D)/); // seq exists and sleeps, blocked on the paused pty
    expect(loud.reader.text.slice(before.text)).not.toContain('finished-42');
    loud.terminal.resume();
    await loud.reader.waitFor('finished-42', { from: before.text });
    await loud.reader.waitForPrompt({ from: before.marks });
  });

  it('stays responsive to Ctrl-C while a command floods the terminal', async () => {
    const { terminal, reader } = await fixture.open(sandbox, 'flood');
    const before = reader.cursor;
    terminal.write('yes flood\r');
    await reader.waitFor(/(flood\n){1000}/, { from: before.text });
    terminal.write('\x03');
    await reader.waitForPrompt({ from: before.marks });
    expect((await reader.run('echo calm')).output.trim()).toBe('calm');
  });

  it('hangs up on close, and starts a fresh shell when the name is opened again', async () => {
    const first = await fixture.open(sandbox, 'hangup');
    const pid = (await first.reader.run('echo $$')).output.trim();
    const exited = new Promise((resolve) => first.terminal.onExit(resolve));
    first.terminal.close();
    expect(await exited).toEqual({ code: null, signal: 1 });
    const second = await fixture.open(sandbox, 'hangup');
    expect(second.terminal).not.toBe(first.terminal);
    expect((await second.reader.run('echo $$')).output.trim()).not.toBe(pid);
  });

  it('reports the exit status when the shell exits by itself', async () => {
    const { terminal } = await fixture.open(sandbox, 'exits');
    const exited = new Promise((resolve) => terminal.onExit(resolve));
    terminal.write('exit 3\r');
    expect(await exited).toEqual({ code: 3, signal: null });
  });

  it("keeps the agent out of the student's reach", async () => {
    const { reader } = await fixture.open(sandbox, 'curious');
    expect((await reader.run('ls /.sandbox/run')).output).toMatch(/Permission denied/);
  });
});

describe('exec', () => {
  it('runs a command as root without a terminal, with its status and output', async () => {
    expect(await sandbox.exec(['sh', '-c', 'id -u; hostname; echo oops >&2; exit 3'])).toEqual({
      code: 3,
      signal: null,
      stdout: '0\ntp-docker\n',
      stderr: 'oops\n',
      truncated: false,
    });
  });

  it('kills a command that outlives its timeout, and keeps only the start of a flood', async () => {
    expect(await sandbox.exec(['sleep', '30'], { timeoutMs: 200 })).toMatchObject({ code: null, signal: 9 });
    const flood = await sandbox.exec(['sh', '-c', 'yes | head -c 1000000']);
    expect(flood.truncated).toBe(true);
    expect(flood.stdout.length).toBe(64 * 1024);
  });

  it('says when the command does not exist', async () => {
    expect((await sandbox.exec(['/no/such/command'])).error).toMatch(/ENOENT/);
  });
});

describe('identity', () => {
  it('gives every sandbox, and every reset, a new machine id and its own uid range', async () => {
    const other = await fixture.create('identity');
    const read = async (box: Sandbox) => {
      const { reader, terminal } = await fixture.open(box, 'id');
      const result = (await reader.run('cat /etc/machine-id /proc/self/uid_map')).output;
      terminal.close();
      return result;
    };
    const [machineA, mapA] = (await read(sandbox)).trim().split('\n');
    const [machineB, mapB] = (await read(other)).trim().split('\n');
    expect(machineA).toMatch(/^[0-9a-f]{32}$/);
    expect(machineB).toMatch(/^[0-9a-f]{32}$/);
    expect(machineA).not.toBe(machineB);
    const base = (map: string | undefined) => Number(map?.trim().split(/\s+/)[1]);
    expect(base(mapA)).toBeGreaterThanOrEqual(fixture.driver.options.uidRangeStart);
    expect(Math.abs(base(mapA) - base(mapB))).toBeGreaterThanOrEqual(65536);
    // "Reset": destroy and create again under the same id.
    const id = other.id;
    await other.destroy();
    const reset = await fixture.driver.create({ id, limits: DEFAULT_LIMITS, docker: false });
    try {
      const [machineC] = (await read(reset)).trim().split('\n');
      expect(machineC).toMatch(/^[0-9a-f]{32}$/);
      expect(machineC).not.toBe(machineB);
    } finally {
      await reset.destroy();
    }
  });

  it("reports usage from the sandbox's cgroups", async () => {
    const usage = await sandbox.usage();
    expect(usage.pids).toBeGreaterThan(fixture.driver.options.holdPids);
    expect(usage.memoryBytes).toBeGreaterThan(0);
    expect(usage.cpuSeconds).toBeGreaterThan(0);
  });
});

describe('lifetime', () => {
  it('reports a sandbox whose init was killed, and removes what it held', async () => {
    const doomed = await fixture.create('doomed');
    const reason = new Promise<string>((resolve) => doomed.onExit(resolve));
    await fixture.open(doomed, '1');
    const [init] = readFileSync(`/sys/fs/cgroup/pids/${fixture.driver.options.prefix}/${doomed.id}/cgroup.procs`, 'utf8').split('\n');
    process.kill(Number(init), 'SIGKILL');
    expect(await reason).toMatch(/agent connection closed/);
    await doomed.destroy(); // idempotent after a death
    expect(namespaceLeftovers({ ...scope(), ids: [doomed.id] })).toEqual([]);
  });

  it('destroys idempotently, concurrent calls included', async () => {
    const twice = await fixture.create('twice');
    await Promise.all([twice.destroy(), twice.destroy()]);
    await twice.destroy();
    expect(namespaceLeftovers({ ...scope(), ids: [twice.id] })).toEqual([]);
    await expect(twice.openTerminal('1', { cols: 80, rows: 24 })).rejects.toThrow(/not running/);
  });

  it('removes the sandboxes of a server that was killed', async () => {
    const id = fixture.newId('crashed');
    // A separate Node process plays the server, creates a sandbox and dies without a word.
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
      import { createNamespaceDriver, DEFAULT_LIMITS } from ${JSON.stringify(new URL('../../sandbox-server/src/drivers/namespace/index.ts', import.meta.url).pathname)};
      const driver = createNamespaceDriver({ log: () => {} });
      await driver.create({ id: ${JSON.stringify(id)}, limits: DEFAULT_LIMITS, docker: true });
      console.log('created');
      setInterval(() => {}, 1000);
    `,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => line === 'created' && resolve());
      child.once('exit', (code) => reject(new Error(`the crashing server exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const left = namespaceLeftovers({ ...scope(), ids: [id] });
    expect(left.length).toBeGreaterThan(0);
    // Its Docker disk (an image file on an auto-clearing loop device) is among what it left.
    expect(left).toEqual(
      expect.arrayContaining([expect.stringMatching(/^Docker disk .*\.ext4$/), expect.stringMatching(/^loop device \/dev\/loop\d+ backed by /)]),
    );

    const removed = await fixture.driver.cleanupLeftovers();
    expect(removed).toBeGreaterThanOrEqual(1);
    expect(namespaceLeftovers({ ...scope(), ids: [id] })).toEqual([]);
    // Our own live sandbox is not a leftover.
    const { reader } = await fixture.open(sandbox, 'after-cleanup');
    expect((await reader.run('echo still-here')).output.trim()).toBe('still-here');
  });
});

describe('bad input', () => {
  it('names the option that is wrong', () => {
    expect(() => createNamespaceDriver({ hostname: 'my_name_is_bob' })).toThrow(InvalidOptionsError);
    expect(() => createNamespaceDriver({ stateDir: 'relative/dir' })).toThrow(/stateDir: must be an absolute path/);
    expect(() => createDriver('podman')).toThrow(/unknown sandbox driver "podman": use "namespace" or "vm"/);
  });

  it('refuses ids and limits that would break the host side, saying why', async () => {
    await expect(fixture.driver.create({ id: '../../etc', limits: DEFAULT_LIMITS, docker: false })).rejects.toThrow(/sandbox id must match/);
    await expect(
      fixture.driver.create({ id: 'test-bad-limits', limits: { ...DEFAULT_LIMITS, diskBytes: DEFAULT_LIMITS.memoryBytes }, docker: false }),
    ).rejects.toThrow(/diskBytes .* must stay well below limits.memoryBytes/);
    await expect(fixture.driver.create({ id: 'test-bad-pids', limits: { ...DEFAULT_LIMITS, pids: 50 }, docker: false })).rejects.toThrow(/limits.pids must be/);
  });
});

function scope() {
  const { prefix, stateDir, dockerDiskDir } = fixture.driver.options;
  return { prefix, stateDir, dockerDiskDir };
}
