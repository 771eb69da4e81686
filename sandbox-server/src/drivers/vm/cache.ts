// The VM driver's part of the shared cache (beside the root filesystem that
// both drivers build from the same recipe):
//
//   <cacheDir>/vm/boot-<hash>/               vmlinuz + initrd.img (+ release), see guest-boot.ts
//   <cacheDir>/vm/disk-<hash>.ext4           the guest's disk, see disk-image.ts
//   <cacheDir>/vm/accelerator-<hash>.json    the result of the KVM probe, see accelerator.ts
//
// Every name carries a hash of everything that went into it: a changed input
// gives a new name, an unchanged one is never rebuilt. Each is built under a
// temporary name and renamed into place, so a killed build leaves no half
// artefact under a final name.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

export function vmCacheDir(cacheDir: string): string {
  return join(cacheDir, 'vm');
}

export function hashOf(...parts: unknown[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(Buffer.isBuffer(part) ? part : JSON.stringify(part)).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/** Hash of a file or a whole tree: paths, modes and contents (big files: size and mtime, enough to notice a rebuild). */
export function hashTree(path: string): string {
  const hash = createHash('sha256');
  const walk = (current: string, relative: string) => {
    const stat = statSync(current);
    if (stat.isDirectory()) {
      hash.update(`d ${relative} ${stat.mode & 0o7777}\n`);
      for (const name of readdirSync(current).sort()) walk(join(current, name), `${relative}/${name}`);
    } else if (stat.size > 8 * 1024 * 1024) {
      hash.update(`F ${relative} ${stat.mode & 0o7777} ${stat.size} ${stat.mtimeMs}\n`);
    } else {
      hash.update(`f ${relative} ${stat.mode & 0o7777}\n`).update(readFileSync(current));
    }
  };
  walk(path, '');
  return hash.digest('hex').slice(0, 16);
}

/** Temporary artefacts left by builds that were killed (name ends in .tmp-<pid> with that process gone). */
export async function removeStaleTemporaries(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const match = /\.tmp-(\d+)$/.exec(name);
    if (!match || isAlive(Number(match[1]))) continue;
    await rm(join(dir, name), { recursive: true, force: true });
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes older builds of one kind (names matching `pattern`), keeping the
 * `keep` newest and `current`: every change of the agent or the recipe makes
 * a new ≈ 800 MB disk image, and the old ones would pile up. A VM still
 * running on a removed image keeps it open: Linux frees it when QEMU exits.
 */
export async function pruneOldBuilds(dir: string, pattern: RegExp, current: string, keep = 2): Promise<void> {
  const entries: { path: string; mtimeMs: number }[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!pattern.test(name)) continue;
    const path = join(dir, name);
    if (path === current) continue;
    const info = await stat(path).catch(() => undefined);
    if (info) entries.push({ path, mtimeMs: info.mtimeMs });
  }
  entries.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const { path } of entries.slice(Math.max(0, keep - 1))) await rm(path, { recursive: true, force: true });
}
