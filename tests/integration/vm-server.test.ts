// The whole server on the VM driver (SANDBOX_DRIVER=vm), seen from a browser's
// side: same REST calls, same WebSocket frames, same terminal as with the
// namespace driver; only `uname -r` tells it is a VM. Then what a VM host
// lives through: QEMU killed under a running server; the server restarted
// (SIGTERM) and crashed (SIGKILL) under a running VM, which the next server
// takes over with the same shell and its screen; and a server gone for good,
// whose VM the next start without its records removes. Two VM boots (TCG here).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveVmOptions } from '../../sandbox-server/src/drivers/vm/options.ts';
import { QemuCgroup } from '../../sandbox-server/src/drivers/vm/qemu-cgroup.ts';
import { findQemuProcesses } from '../../sandbox-server/src/drivers/vm/qemu-processes.ts';
import { CloseCode } from '../../contracts/protocol.ts';
import { VmDirs } from '../../sandbox-server/src/drivers/vm/vm-dirs.ts';
import { startServer, type RunningServer } from '../support/server.ts';
import { attachTerminal, createSandbox, deleteSandbox, type AttachedTerminal, type CreatedSandbox } from '../support/server-client.ts';

const SLOW = { timeoutMs: 120_000 };
const { prefix, stateDir } = resolveVmOptions();
const dbDir = mkdtempSync(join(tmpdir(), 'vm-server-test-'));
const DB = join(dbDir, 'sandboxes.sqlite');
/** One records file for every server but the last: each restart finds the VMs of the one before. */
const VM_SERVER = { env: { SANDBOX_DRIVER: 'vm', WARM_POOL_SIZE: '0', SANDBOX_DB: DB, SANDBOXES_ON_EXIT: 'keep' }, startTimeoutMs: 900_000 };
let server: RunningServer;
let sandbox: CreatedSandbox;
let terminal: AttachedTerminal;
const sandboxIds: string[] = [];

beforeAll(async () => {
  server = await startServer(VM_SERVER);
  sandbox = await createSandbox(server);
  sandboxIds.push(sandbox.id);
  terminal = await attachTerminal(server, sandbox, '1');
  await terminal.reader.waitForPrompt(SLOW);
}, 900_000);

afterAll(async () => {
  await terminal?.client.close();
  await server?.stop();
  // A last server with the same records stops for good: whatever VM of this run is left goes with it.
  const last = await startServer({ ...VM_SERVER, env: { ...VM_SERVER.env, SANDBOXES_ON_EXIT: 'destroy' } });
  await last.stop();
  rmSync(dbDir, { recursive: true, force: true });
  // Whatever happened above, no VM of this run may outlive the server.
  expect(findQemuProcesses(prefix).filter((qemu) => sandboxIds.includes(qemu.id))).toEqual([]);
});

describe('the server with SANDBOX_DRIVER=vm', () => {
  it('logs that it runs the vm driver', () => {
    expect(server.logs.find((line) => line.msg === 'listening')?.driver).toBe('vm');
  });

  it("serves the same terminal as the namespace driver, on the guest's own kernel", async () => {
    expect(terminal.reader.text).toMatch(/^student@tp-docker:~\$ $/m);
    expect((await terminal.reader.run('id -un; hostname')).output).toBe('student\ntp-docker\n');
    const kernel = (await terminal.reader.run('uname -r')).output.trim();
    expect(kernel).toMatch(/-amd64$/);
    expect(kernel).not.toBe(release());
  });

  it("passes resizes from the socket to the guest's pty", async () => {
    expect((await terminal.reader.run('stty size')).output.trim()).toBe('40 120');
    terminal.client.control({ type: 'resize', cols: 100, rows: 30 });
    // The resize and the next command travel in order on the same socket.
    expect((await terminal.reader.run('stty size')).output.trim()).toBe('30 100');
  });

  it("carries a burst of output larger than the guest's port bridge holds at once (64 KiB)", async () => {
    const { output, exitCode } = await terminal.reader.run("head -c 300000 /dev/zero | tr '\\0' x; echo; echo burst-done", SLOW);
    expect(exitCode).toBe(0);
    expect(output.replace(/\r?\n/g, '')).toBe(`${'x'.repeat(300_000)}burst-done`);
  });

  it('notices a VM that crashes (QEMU killed), tells the browser, and leaves nothing behind', async () => {
    const qemu = findQemuProcesses(prefix).find((process) => process.id === sandbox.id);
    expect(qemu).toBeDefined();
    process.kill(qemu!.pid, 'SIGKILL');
    const closed = await terminal.client.closed;
    expect([1000, CloseCode.gone]).toContain(closed.code);
    const died = await server.waitForLog((line) => line.msg === 'sandbox died' && line.sandbox === sandbox.id, 60_000);
    expect(String(died.reason)).toMatch(/QEMU exited|agent gone/);
    await server.waitForLog((line) => line.msg === 'sandbox destroyed' && line.sandbox === sandbox.id, 60_000);
    expect(existsSync(new VmDirs(stateDir, prefix, sandbox.id).root)).toBe(false);
    for (const file of QemuCgroup.for(prefix, sandbox.id)?.procsFiles() ?? []) expect(existsSync(file)).toBe(false);
    // The API remembers it died (410 Gone): the page tells the reader and offers a new one.
    expect((await deleteSandbox(server, sandbox)).status).toBe(410);
  });

  it('keeps the VM across a restart (SIGTERM): same shell, its screen replayed', async () => {
    const kept = await createSandbox(server);
    sandboxIds.push(kept.id);
    const shell = await busyShell(kept);
    const qemu = findQemuProcesses(prefix).find((process) => process.id === kept.id);
    expect(qemu).toBeDefined();

    expect(await server.stop()).toEqual({ code: 0, signal: null });
    expect(server.logs.some((line) => line.msg === 'sandboxes detached for the next server process' && line.kept === 1)).toBe(true);
    expect(running(qemu!.pid)).toBe(true);

    server = await startServer(VM_SERVER);
    await server.waitForLog((line) => line.msg === 'sandbox taken over after a restart' && line.sandbox === kept.id);
    await expectSameShell(kept, shell, 'sigterm');
    lastKept = { sandbox: kept, shell };
  }, 900_000);

  it('keeps the VM across a crash of the server (SIGKILL): same shell, its screen replayed', async () => {
    const { sandbox: kept, shell } = lastKept!;
    server.process.kill('SIGKILL');
    expect(await server.stop()).toEqual({ code: null, signal: 'SIGKILL' });

    server = await startServer(VM_SERVER);
    await server.waitForLog((line) => line.msg === 'sandbox taken over after a restart' && line.sandbox === kept.id);
    await expectSameShell(kept, shell, 'sigkill');
  }, 900_000);

  it('removes the VM of a server gone for good (no records left) at the next start: QEMU, directory, cgroup', async () => {
    const { sandbox: orphan } = lastKept!;
    const qemu = findQemuProcesses(prefix).find((process) => process.id === orphan.id);
    expect(qemu).toBeDefined();
    server.process.kill('SIGKILL');
    await server.stop();
    rmSync(DB, { force: true });
    // Still running, for a server that never comes back…
    expect(running(qemu!.pid)).toBe(true);
    const dirs = new VmDirs(stateDir, prefix, orphan.id);
    expect(existsSync(dirs.root)).toBe(true);

    server = await startServer(VM_SERVER);
    const removed = await server.waitForLog((line) => line.msg === 'removed VMs left by an earlier run');
    expect(removed.ids).toContain(orphan.id);
    // …until the next start, which finds it in no records file.
    expect(running(qemu!.pid)).toBe(false);
    expect(existsSync(dirs.root)).toBe(false);
    for (const file of QemuCgroup.for(prefix, orphan.id)?.procsFiles() ?? []) expect(existsSync(file)).toBe(false);
  }, 900_000);
});

let lastKept: { sandbox: CreatedSandbox; shell: string } | undefined;

/** Leaves a shell the way a reader does: a variable, a job in the background, some output; returns its pid. */
async function busyShell(kept: CreatedSandbox): Promise<string> {
  const attached = await attachTerminal(server, kept, '1');
  await attached.reader.waitForPrompt(SLOW);
  const { output } = await attached.reader.run('export KEPT=vm; sleep 900 & echo "shell $$"', SLOW);
  await attached.client.close();
  return /shell (\d+)/.exec(output)![1]!;
}

async function expectSameShell(kept: CreatedSandbox, shell: string, marker: string): Promise<void> {
  const { reader, ready, client } = await attachTerminal(server, kept, '1');
  expect(ready.resumed).toBe(true);
  // The screen from before the restart, replayed: nothing was typed yet, so these bytes can only be
  // the agent's replay (under TCG they may come just after "ready", hence no check of replayBytes).
  await reader.waitFor(`shell ${shell}`, SLOW);
  await reader.waitForPrompt(SLOW);
  const { output } = await reader.run(`echo "$$ $KEPT ${marker}"; jobs`, SLOW);
  expect(output).toMatch(new RegExp(`^${shell} vm ${marker}\\n\\[1\\]\\+ +Running +sleep 900 &`));
  await client.close();
}

/** The process runs (a zombie waiting for its reaper does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}
