// A clean-up by another process (a second server starting, `npm run
// sandbox:cleanup`) while a sandbox is being made: its directory exists but
// its record is not written yet (or half written). The clean-up must spare
// what that sandbox already holds — its uid range above all, or a second
// sandbox could be given the same host uids. The driver here has a state
// directory and a prefix of its own: it touches nothing of anyone else.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespaceDriver } from '../../sandbox-server/src/drivers/namespace/index.ts';
import { UidRanges } from '../../sandbox-server/src/drivers/namespace/uid-ranges.ts';

let stateDir: string;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'leftovers-race-'));
});

afterAll(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

describe('leftover clean-up while a sandbox is being made', () => {
  it.each([
    ['no record yet', undefined],
    ['an empty record (being written)', ''],
    ['half a record', '{"id": "test-making-'],
  ])('spares the uid range and the directory of a sandbox with %s', async (_, record) => {
    const id = `test-making-${Math.random().toString(16).slice(2, 8)}`;
    const driver = createNamespaceDriver({ stateDir, prefix: `lrace${process.pid}`, uidRangeStart: 3_000_000_000, maxSandboxes: 4, log: () => {} });
    const ranges = new UidRanges(join(stateDir, 'uid-ranges'), 3_000_000_000, 4);
    const range = await ranges.allocate(id);
    const dir = join(stateDir, 'sandboxes', id);
    await mkdir(dir, { recursive: true });
    if (record !== undefined) await writeFile(join(dir, 'state.json'), record);

    await driver.cleanupLeftovers();

    expect((await ranges.held()).get(range.index)?.holder, 'the uid range was released under the sandbox being made').toBe(id);
    expect(await readdir(join(stateDir, 'sandboxes'))).toContain(id);
    await ranges.release(range.index, id);
    await rm(dir, { recursive: true, force: true });
  });

  it('releases at once the uid range of a sandbox with no record whose taker is gone', async () => {
    // A server killed between the removal of a sandbox's record and the release of its range (or
    // before the record was written): the range is fresh, but nobody is making that sandbox.
    const id = `test-taken-${Math.random().toString(16).slice(2, 8)}`;
    const driver = createNamespaceDriver({ stateDir, prefix: `lrace${process.pid}`, uidRangeStart: 3_000_000_000, maxSandboxes: 4, log: () => {} });
    const ranges = new UidRanges(join(stateDir, 'uid-ranges'), 3_000_000_000, 4);
    const module = fileURLToPath(new URL('../../sandbox-server/src/drivers/namespace/uid-ranges.ts', import.meta.url));
    const script = `import { UidRanges } from ${JSON.stringify(module)};
      const range = await new UidRanges(${JSON.stringify(join(stateDir, 'uid-ranges'))}, 3_000_000_000, 4).allocate(${JSON.stringify(id)});
      console.log(range.index);`;
    const index = Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim());
    expect((await ranges.held()).get(index)).toMatchObject({ holder: id, takerAlive: false });

    await driver.cleanupLeftovers();

    expect((await ranges.held()).has(index), 'a range whose taker died stayed held for a minute').toBe(false);
  });
});
