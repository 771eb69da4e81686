// Uid-range locks (drivers/namespace/uid-ranges.ts): taking and releasing a
// range are both atomic, so that two releasers of one dead sandbox (a server's
// teardown and another process's clean-up) never free the range a third
// sandbox has taken in between. Plain files in a directory of the test's own.
import { mkdir, mkdtemp, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UidRanges } from '../../sandbox-server/src/drivers/namespace/uid-ranges.ts';

let dir: string;
let ranges: UidRanges;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'uid-ranges-'));
  ranges = new UidRanges(dir, 3_000_000_000, 4);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const holderOf = async (index: number) => (await ranges.held()).get(index)?.holder;

describe('uid range locks', () => {
  it('a lock is one file named after its holder, saying who took it; released, the range is given again', async () => {
    const range = await ranges.allocate('machine-a');
    expect(range).toEqual({ index: 0, base: 3_000_000_000, count: 65536 });
    expect(await readdir(join(dir, '0'))).toEqual(['holder-machine-a']);
    expect((await ranges.held()).get(0)).toMatchObject({ holder: 'machine-a', takerAlive: true });
    expect((await ranges.allocate('machine-b')).index).toBe(1);

    await ranges.release(0, 'machine-a');
    expect(await holderOf(0)).toBeUndefined();
    expect((await readdir(dir)).filter((name) => /^\d+$/.test(name))).toEqual(['1']);
    expect((await ranges.allocate('machine-c')).index).toBe(0);
  });

  it("a late releaser of a sandbox whose range another one has taken since leaves that one's lock", async () => {
    await ranges.allocate('dead');
    await ranges.release(0, 'dead');
    expect((await ranges.allocate('new')).index).toBe(0);
    await ranges.release(0, 'dead');
    expect(await holderOf(0)).toBe('new');
  });

  it('the second step (the directory) spares a lock another sandbox renamed onto the emptied directory', async () => {
    // Between a releaser's unlink of holder-dead and its rmdir, the directory is empty, and
    // rename may put another sandbox's lock in its place: rmdir must then leave it.
    await ranges.allocate('dead');
    await unlink(join(dir, '0', 'holder-dead'));
    const ready = join(dir, '.lock-other');
    await mkdir(ready);
    await writeFile(join(ready, 'holder-new'), `${process.pid} 0`);
    await rename(ready, join(dir, '0'));
    await ranges.removeIfEmpty(0);
    expect(await holderOf(0)).toBe('new');
    // Emptied and left so (its releaser died between the two steps): nobody holds it, and it goes.
    await unlink(join(dir, '0', 'holder-new'));
    expect((await ranges.held()).get(0)?.holder).toBeUndefined();
    await ranges.removeIfEmpty(0);
    expect((await ranges.held()).has(0)).toBe(false);
  });

  it("an older server's lock (files sandbox and taker) is read and released by its holder only", async () => {
    await mkdir(join(dir, '2'));
    await writeFile(join(dir, '2', 'sandbox'), 'old-machine');
    await writeFile(join(dir, '2', 'taker'), '1 1');
    expect((await ranges.held()).get(2)).toMatchObject({ holder: 'old-machine' });
    await ranges.release(2, 'someone-else');
    expect(await holderOf(2)).toBe('old-machine');
    await ranges.release(2, 'old-machine');
    expect((await ranges.held()).has(2)).toBe(false);
  });
});
