// Finding 4: the agent's socket directory (/.sandbox/run inside) was a folder
// of the host's own disk, outside the machine's disk and memory limits (1 GiB
// in 0.6 s). Now it is a tmpfs of a few pages of its own: root inside fills
// that and gets ENOSPC.
import { readFileSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveOptions } from '../../sandbox-server/src/drivers/namespace/options.ts';
import { healthy, hostileMachine } from '../support/adversary.ts';
import { deleteSandbox, type CreatedSandbox } from '../support/server-client.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';

const TMPFS_MAGIC = 0x01021994;
/** What the attack tries to write: far more than the room it has. */
const FILL_MIB = 256;

let server: RunningServer;
let sandbox: CreatedSandbox | undefined;

beforeAll(async () => {
  server = await startServer({ env: { SANDBOX_DOCKER: 'false', LOG_LEVEL: 'info' } });
});

afterAll(async () => {
  if (sandbox) await deleteSandbox(server, sandbox);
  expect(await shutDown(server)).toEqual({ code: 0, sandboxesCreated: 1, leftovers: [] });
});

it("gives root inside a few pages there, not the host's disk", async () => {
  const machine = await hostileMachine(server);
  sandbox = machine.sandbox;
  const { stateDir } = resolveOptions();
  const hostDir = join(stateDir, 'sandboxes', sandbox.id, 'run');
  const { output } = await machine.reader.run(
    `sudo dd if=/dev/zero of=/.sandbox/run/fill bs=1M count=${FILL_MIB} 2>&1 | grep -m1 -o "No space left on device"; sudo stat -c 'size=%s' /.sandbox/run/fill`,
    { timeoutMs: 60_000 },
  );
  expect(output).toMatch(/No space left on device/);
  const size = Number(/size=(\d+)/.exec(output)?.[1]);
  expect(size).toBeLessThanOrEqual(64 * 1024);
  // The host side is a tmpfs of its own, that small.
  const host = statfsSync(hostDir);
  expect(host.type).toBe(TMPFS_MAGIC);
  expect(host.blocks * host.bsize).toBeLessThanOrEqual(1024 * 1024);
  // A symlink root inside puts there leads the host nowhere (the host connects to the agent's socket by this path).
  await machine.reader.run('sudo rm -f /.sandbox/run/fill; sudo ln -s /etc /.sandbox/run/link');
  expect(() => readFileSync(join(hostDir, 'link', 'hostname'))).toThrow(/ELOOP/);
  expect(await healthy(server)).toBe(true);
  expect((await machine.reader.run('echo still-here')).output.trim()).toBe('still-here');
});
