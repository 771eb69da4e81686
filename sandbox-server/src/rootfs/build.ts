// Builds the shared, read-only root filesystem of every sandbox from the
// recipe (recipe.ts), into the cache:
//
//   <cacheDir>/debootstrap-<baseHash>/   debootstrap --variant=minbase --include=<packages>
//   <cacheDir>/rootfs-<hash>/            a copy of it + files/ + setup.sh
//
// Two stages so that editing a file of the recipe costs a copy (seconds), not
// a new debootstrap (a minute). Each stage is built in a temporary directory
// and renamed into place: a killed build never leaves a half tree under a
// final name. One build at a time per cache (a lock file naming its pid).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PrepareProgress } from '../drivers/driver.ts';
import { hostDebianMirror } from './mirror.ts';
import { readRecipe, type Recipe } from './recipe.ts';

export interface RootfsBuildOptions {
  cacheDir: string;
  recipe?: Recipe;
  /** Default: the host's apt mirror. */
  mirror?: string;
  progress: PrepareProgress;
}

export function rootfsPath(cacheDir: string, recipe: Recipe): string {
  return join(cacheDir, `rootfs-${recipe.hash}`);
}

/** The finished root filesystem for the recipe, built first if missing. */
export async function ensureRootfs(options: RootfsBuildOptions): Promise<string> {
  const recipe = options.recipe ?? readRecipe();
  const final = rootfsPath(options.cacheDir, recipe);
  if (existsSync(final)) {
    options.progress('rootfs', `cached: ${final}`);
    return final;
  }
  await mkdir(options.cacheDir, { recursive: true });
  const release = await takeBuildLock(options.cacheDir, options.progress);
  try {
    // Another process may have finished it while we waited for the lock.
    if (existsSync(final)) return final;
    await removeStaleTemporaries(options.cacheDir);
    const base = await ensureBase(options, recipe);
    const started = Date.now();
    const temporary = `${final}.tmp`;
    options.progress('rootfs', 'copying the debootstrap stage');
    await run('cp', ['-a', '--reflink=auto', base, temporary]);
    options.progress('rootfs', `adding ${recipe.files.length} files from the recipe`);
    for (const file of recipe.files) {
      const target = join(temporary, file.path);
      await mkdir(dirname(target), { recursive: true });
      await copyFile(file.source, target);
      await chown(target, 0, 0);
      await chmod(target, file.mode);
    }
    options.progress('rootfs', 'running setup.sh in the new tree');
    const script = '/tmp/cours-linux-setup.sh';
    await writeFile(join(temporary, script), recipe.setupScript, { mode: 0o755 });
    await run('chroot', [temporary, '/bin/sh', script], {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', DEBIAN_FRONTEND: 'noninteractive' },
      onLine: (line) => options.progress('rootfs', `setup: ${line}`),
    });
    await rm(join(temporary, script), { force: true });
    await rename(temporary, final);
    options.progress('rootfs', `ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${final}`);
    return final;
  } finally {
    await release();
  }
}

async function ensureBase(options: RootfsBuildOptions, recipe: Recipe): Promise<string> {
  const base = join(options.cacheDir, `debootstrap-${recipe.baseHash}`);
  if (existsSync(base)) return base;
  const mirror = options.mirror ?? hostDebianMirror(recipe.suite);
  const temporary = `${base}.tmp`;
  const started = Date.now();
  options.progress('debootstrap', `${recipe.suite} ${recipe.variant} + ${recipe.packages.length} packages from ${mirror} (about a minute)`);
  await run('debootstrap', [`--variant=${recipe.variant}`, `--include=${recipe.packages.join(',')}`, recipe.suite, temporary, mirror], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', DEBIAN_FRONTEND: 'noninteractive' },
    onLine: (line) => options.progress('debootstrap', line.replace(/^I: /, '')),
  }).catch(async (error: Error) => {
    const log = join(temporary, 'debootstrap', 'debootstrap.log');
    const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '';
    throw new Error(`${error.message}${tail ? `\nlast lines of ${log}:\n${tail}` : ''}`);
  });
  await unmountUnder(temporary); // debootstrap leaves nothing mounted when it succeeds; make sure.
  await rm(join(temporary, 'var/cache/apt/archives'), { recursive: true, force: true });
  await mkdir(join(temporary, 'var/cache/apt/archives/partial'), { recursive: true });
  await rename(temporary, base);
  options.progress('debootstrap', `done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return base;
}

async function takeBuildLock(cacheDir: string, progress: PrepareProgress): Promise<() => Promise<void>> {
  const lock = join(cacheDir, '.build.lock');
  for (let waited = 0; ; waited++) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileSync(lock, 'utf8') || 0);
    if (!holder || !isAlive(holder)) {
      await rm(lock, { force: true }); // left by a build that was killed
      continue;
    }
    if (waited % 10 === 0) progress('rootfs', `waiting for the build running in process ${holder}`);
    await sleep(1000);
  }
}

/** Temporary trees of killed builds (we hold the lock: nobody is using them). */
async function removeStaleTemporaries(cacheDir: string): Promise<void> {
  for (const name of await readdir(cacheDir)) {
    if (!name.endsWith('.tmp')) continue;
    const path = join(cacheDir, name);
    await unmountUnder(path); // a killed debootstrap leaves /proc and /sys mounted in its target
    await run('rm', ['-rf', '--one-file-system', path]);
  }
}

async function unmountUnder(dir: string): Promise<void> {
  const mountPoints = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint === dir || mountPoint.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const mountPoint of mountPoints) await run('umount', ['-l', mountPoint]).catch(() => {});
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; onLine?: (line: string) => void } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lastLines: string[] = [];
    const collect = (line: string) => {
      lastLines.push(line);
      if (lastLines.length > 20) lastLines.shift();
      options.onLine?.(line);
    };
    createInterface({ input: child.stdout }).on('line', collect);
    createInterface({ input: child.stderr }).on('line', collect);
    child.once('error', (error) => reject(new Error(`${command}: ${error.message} (is it installed? see scripts/install.sh)`)));
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.slice(0, 3).join(' ')}… failed (${signal ?? `exit ${code}`}):\n${lastLines.join('\n')}`));
    });
  });
}
