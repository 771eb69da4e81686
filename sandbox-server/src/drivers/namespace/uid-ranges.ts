// Host uid/gid ranges for sandboxes: each live sandbox maps its 65536 ids
// (root inside included) onto a range of its own, so two sandboxes never share
// an owner on the host, and no sandbox's root is anybody on the host.
//
// A range is taken by renaming a ready lock directory to the range's number:
// rename onto an existing non-empty directory fails, so this is atomic, also
// between processes (the server and a test run may share a host). Freed ranges
// are reused, live ones never.
//
// The lock directory holds one file, named after the sandbox that holds the
// range (holder-<id>), whose content names the process that took it (pid +
// start time): a range whose sandbox has no record and whose taker is gone is
// a leftover however fresh it is. Releasing is atomic too: unlinking that file
// is the compare step (only a releaser of the holder itself can, and only one),
// then the emptied directory is removed — unless another sandbox has renamed
// its lock onto it meanwhile (rename may replace an empty directory), which
// rmdir then refuses (ENOTEMPTY) and leaves alone.
//
// Older servers wrote N/sandbox (the holder's id) and N/taker: such locks are
// still read, and released as those servers did.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processIsAlive, processStartTime } from '../../process-start.ts';

export const IDS_PER_SANDBOX = 65536;

const HOLDER_PREFIX = 'holder-';

export interface UidRange {
  index: number;
  /** Host id that is root inside the sandbox. */
  base: number;
  count: number;
}

export interface HeldRange {
  holder: string | undefined;
  sinceMs: number;
  takerAlive: boolean | undefined;
}

export class UidRanges {
  #dir: string;
  #start: number;
  #slots: number;

  constructor(dir: string, start: number, slots: number) {
    this.#dir = dir;
    this.#start = start;
    this.#slots = slots;
  }

  async allocate(sandboxId: string): Promise<UidRange> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const taken = new Set((await readdir(this.#dir)).filter(isIndex).map(Number));
    const ready = join(this.#dir, `.lock-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(ready);
    await writeFile(join(ready, `${HOLDER_PREFIX}${sandboxId}`), `${process.pid} ${processStartTime(process.pid) ?? 0}`);
    try {
      for (let index = 0; index < this.#slots; index++) {
        if (taken.has(index)) continue;
        try {
          await rename(ready, join(this.#dir, String(index)));
          return this.range(index);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error; // else another process was faster
        }
      }
    } finally {
      await rm(ready, { recursive: true, force: true });
    }
    throw new Error(`all ${this.#slots} uid ranges are in use: too many sandboxes alive (raise maxSandboxes, or destroy some)`);
  }

  range(index: number): UidRange {
    return { index, base: this.#start + index * IDS_PER_SANDBOX, count: IDS_PER_SANDBOX };
  }

  /** Frees `index` if `sandboxId` still holds it (atomic: see the top of this file). */
  async release(index: number, sandboxId: string): Promise<void> {
    const lock = join(this.#dir, String(index));
    try {
      await unlink(join(lock, `${HOLDER_PREFIX}${sandboxId}`));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // Not held by it (any more), or a lock in an older server's format.
      const legacy = await readFile(join(lock, 'sandbox'), 'utf8').catch(() => undefined);
      if (legacy === sandboxId) await rm(lock, { recursive: true, force: true });
      return;
    }
    await this.removeIfEmpty(index);
  }

  /** Removes lock `index` if nobody holds it (left empty by a releaser that died between its two steps). */
  async removeIfEmpty(index: number): Promise<void> {
    try {
      await rmdir(join(this.#dir, String(index)));
    } catch (error) {
      // Taken again meanwhile (ENOTEMPTY, EEXIST on some filesystems), or already gone.
      if (!['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
  }

  /**
   * Ranges held, by index: the sandbox holding each (undefined: an empty
   * lock, which nobody holds), since when (ms since the epoch), and whether the
   * process that took it still runs (undefined: a lock that did not say).
   */
  async held(): Promise<Map<number, HeldRange>> {
    const held = new Map<number, HeldRange>();
    for (const name of (await readdir(this.#dir).catch(() => [])).filter(isIndex)) {
      const lock = join(this.#dir, name);
      const entries = await readdir(lock).catch(() => [] as string[]);
      const holderFile = entries.find((entry) => entry.startsWith(HOLDER_PREFIX));
      const holder = holderFile ? holderFile.slice(HOLDER_PREFIX.length) : await readFile(join(lock, 'sandbox'), 'utf8').catch(() => undefined);
      const sinceMs = (await stat(lock).catch(() => undefined))?.mtimeMs ?? 0;
      const takerText = await readFile(join(lock, holderFile ?? 'taker'), 'utf8').catch(() => '');
      const taker = /^(\d+) (\d+)$/.exec(takerText.trim());
      held.set(Number(name), { holder, sinceMs, takerAlive: taker ? processIsAlive(Number(taker[1]), Number(taker[2])) : undefined });
    }
    return held;
  }
}

function isIndex(name: string): boolean {
  return /^\d+$/.test(name);
}
