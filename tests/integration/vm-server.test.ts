// The whole server on the VM driver (SANDBOX_DRIVER=vm), seen from a browser's
// side: same REST calls, same WebSocket frames, same terminal as with the
// namespace driver; only `uname -r` tells it is a VM. Then the two crashes a
// VM host lives through: QEMU killed under a running server, and the server
// killed under a running VM (whose guest then powers itself off, and whose
// leftovers the next server start removes). Two VM boots (TCG here).
import { existsSync } from 'node:fs';
import { release } from 'node:os';
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
const VM_SERVER = { env: { SANDBOX_DRIVER: 'vm', WARM_POOL_SIZE: '0' }, startTimeoutMs: 900_000 };
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

  it('survives its own crash: the orphaned VM powers itself off, the next start removes what is left', async () => {
    const orphan = await createSandbox(server);
    sandboxIds.push(orphan.id);
    const attached = await attachTerminal(server, orphan, '1');
    await attached.reader.waitForPrompt(SLOW);
    const qemu = findQemuProcesses(prefix).find((process) => process.id === orphan.id);
    expect(qemu).toBeDefined();

    server.process.kill('SIGKILL');
    await server.stop();
    // The agent saw the host go, ended, and the guest powered off: QEMU exits without anyone killing it.
    await waitUntil(() => !existsSync(`/proc/${qemu!.pid}`), 120_000);
    const dirs = new VmDirs(stateDir, prefix, orphan.id);
    expect(existsSync(dirs.root)).toBe(true); // nobody was left to remove it…

    server = await startServer(VM_SERVER);
    const removed = await server.waitForLog((line) => line.msg === 'removed VMs left by an earlier run');
    expect(removed.ids).toContain(orphan.id);
    expect(existsSync(dirs.root)).toBe(false); // …until the next start
    for (const file of QemuCgroup.for(prefix, orphan.id)?.procsFiles() ?? []) expect(existsSync(file)).toBe(false);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
