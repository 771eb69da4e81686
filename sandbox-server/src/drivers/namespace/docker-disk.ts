// The disk behind a sandbox's /var/lib/docker: a sparse ext4 image file of
// its own, whose size is the sandbox's quota for images, containers and
// volumes. The server makes the file; sandbox-launch attaches it to an
// auto-clearing loop device and mounts it inside the sandbox's mount
// namespace only, so the mount and the loop device go away with the sandbox.
// What is left for us to remove is the file.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

export function dockerDiskPath(dir: string, id: string): string {
  return join(dir, `${id}.ext4`);
}

/** Makes an empty ext4 image of `bytes` whose root directory belongs to `owner` (the sandbox's root on the host). */
export async function createDockerDisk(path: string, bytes: number, owner: number): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  const file = await open(path, 'wx', 0o600);
  try {
    await file.truncate(bytes);
  } finally {
    await file.close();
  }
  try {
    // No journal: the disk is thrown away with the sandbox, and a journal costs 64 MiB of writes.
    // No reserved blocks: nobody but the sandbox writes there.
    await promisify(execFile)('mkfs.ext4', [
      '-q',
      '-F',
      '-m',
      '0',
      '-O',
      '^has_journal',
      '-E',
      `root_owner=${owner}:${owner},lazy_itable_init=1,nodiscard`,
      path,
    ]);
  } catch (error) {
    await rm(path, { force: true });
    const detail = ((error as { stderr?: string }).stderr ?? '').trim() || (error as Error).message;
    throw new Error(`mkfs.ext4 of the Docker disk ${path} failed (e2fsprogs is needed): ${detail}`);
  }
}

/**
 * Loop devices whose backing file is `path` (the kernel's view, /sys/block).
 * A sandbox's device clears itself once its mount namespace is gone, which
 * can lag a moment behind the death of its last process.
 */
export function loopDevicesOf(path: string): string[] {
  const found: string[] = [];
  for (const name of existsSync('/sys/block') ? readdirSync('/sys/block') : []) {
    if (!name.startsWith('loop')) continue;
    let backing = '';
    try {
      backing = readFileSync(join('/sys/block', name, 'loop', 'backing_file'), 'utf8').trim();
    } catch {
      continue; // not attached
    }
    if (backing === path || backing === `${path} (deleted)`) found.push(`/dev/${name}`);
  }
  return found;
}

/** Waits (up to `timeoutMs`) for the sandbox's loop device to clear, then removes the image. */
export async function removeDockerDisk(path: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (loopDevicesOf(path).length > 0) {
    if (Date.now() > deadline) {
      await rm(path, { force: true });
      throw new Error(
        `loop device ${loopDevicesOf(path).join(', ')} of ${path} still attached after ${timeoutMs} ms (the file is removed; the device clears when its last user goes)`,
      );
    }
    await sleep(20);
  }
  await rm(path, { force: true });
}

/** Ids of the sandboxes that have a Docker disk in `dir`. */
export function dockerDiskIds(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.ext4'))
    .map((name) => name.slice(0, -'.ext4'.length));
}
