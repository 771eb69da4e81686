// Finding 5: a tree deeper than PATH_MAX in the machine's socket directory
// made teardown fail (ENAMETOOLONG) and stay on disk; then the server refused
// to start and `npm run sandbox:cleanup` failed until someone removed it by
// hand. Now removal detaches mounts and walks with directory descriptors
// (any depth), and one leftover that cannot be removed never stops a start.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveOptions } from '../../sandbox-server/src/drivers/namespace/options.ts';
import { attack, healthy, hostileMachine } from '../support/adversary.ts';
import { deleteSandbox } from '../support/server-client.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';

const { stateDir } = resolveOptions();
/** 24 levels of 250-character names: ≈ 6000 bytes of path, past PATH_MAX (4096). */
const LEVELS = 24;
/** A leftover of a crashed older server, with such a tree in it (no record, older than a minute). */
const leftover = join(stateDir, 'sandboxes', `test-deep-${randomBytes(4).toString('hex')}`);

let server: RunningServer;

beforeAll(async () => {
  mkdirSync(join(leftover, 'run'), { recursive: true });
  execFileSync('perl', [
    '-e',
    `chdir $ARGV[0] or die; for (1..${LEVELS}) { mkdir 'd' x 250 or die "mkdir: $!"; chdir 'd' x 250 or die }`,
    join(leftover, 'run'),
  ]);
  const old = new Date(Date.now() - 10 * 60_000);
  utimesSync(leftover, old, old);
  server = await startServer({ env: { SANDBOX_DOCKER: 'false', LOG_LEVEL: 'info' } });
});

afterAll(async () => {
  if (existsSync(leftover)) execFileSync('rm', ['-rf', '--one-file-system', leftover]);
  expect(await shutDown(server)).toEqual({ code: 0, sandboxesCreated: 1, leftovers: [] });
});

it('starts despite a leftover tree deeper than PATH_MAX, and removes it', async () => {
  expect(await healthy(server)).toBe(true);
  expect(existsSync(leftover)).toBe(false);
});

it('tears down a machine whose root made the deepest tree it could in its socket directory', async () => {
  const machine = await hostileMachine(server);
  const from = machine.reader.cursor.text;
  await machine.reader.run(attack('deeptree', ['/.sandbox/run', LEVELS], 20), { timeoutMs: 60_000 });
  // It runs out of room (inodes) first, or gets all the way: either way teardown must leave nothing.
  expect(machine.reader.text.slice(from)).toMatch(/mkdir: No space left on device|adversary: deeptree done/);
  expect((await deleteSandbox(server, machine.sandbox)).status).toBe(204);
  expect(existsSync(join(stateDir, 'sandboxes', machine.sandbox.id))).toBe(false);
});
