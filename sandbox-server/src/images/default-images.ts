// The images every class has, built at prepare time from Debian's packages
// (nothing from Docker Hub), under honest names:
//   busybox                Debian's static busybox (busybox-static), its applets as symlinks
//   debian:bookworm-slim   `debootstrap --variant=minbase bookworm` — the recipe the machines'
//                          own root starts from — without documentation, man pages and apt lists
// Each is built only when the store lacks it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { PrepareProgress } from '../drivers/driver.ts';
import { candidate, downloadAndUnpack } from '../drivers/vm/debian-packages.ts';
import { hostDebianMirror } from '../rootfs/mirror.ts';
import { parseImageName } from './image-names.ts';
import { copyIntoStore, hasImage, withWritableRegistry } from './image-store.ts';
import { writeOciLayout, type ImageConfig } from './oci-layout.ts';
import type { ImageStorePaths } from './paths.ts';

const run = promisify(execFile);
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface DefaultImage {
  name: string;
  build(tree: string, work: string, progress: PrepareProgress): Promise<ImageConfig>;
}

export const DEFAULT_IMAGES: DefaultImage[] = [
  { name: 'busybox:latest', build: buildBusybox },
  { name: 'debian:bookworm-slim', build: buildDebianSlim },
];

export async function ensureDefaultImages(paths: ImageStorePaths, progress: PrepareProgress): Promise<void> {
  const missingNow = () => DEFAULT_IMAGES.filter((image) => !hasImage(parseImageName(image.name), paths));
  if (missingNow().length === 0) {
    progress('images', `default images present: ${DEFAULT_IMAGES.map((image) => image.name).join(', ')}`);
    return;
  }
  // One build at a time per store (a server and test files may start together on a fresh host).
  const release = await takeLock(join(paths.storageDir, '.build.lock'), progress);
  try {
    const missing = missingNow(); // another process may have built them while we waited
    if (missing.length > 0) await buildImages(missing, paths, progress);
  } finally {
    await release();
  }
}

async function takeLock(lock: string, progress: PrepareProgress): Promise<() => Promise<void>> {
  await mkdir(dirname(lock), { recursive: true });
  for (let waited = 0; ; waited++) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(await readFile(lock, 'utf8').catch(() => '0')) || 0;
    if (!holder || !isAlive(holder)) {
      await rm(lock, { force: true }); // left by a build that was killed
      continue;
    }
    if (waited % 10 === 0) progress('images', `waiting for the default images being built by process ${holder}`);
    await sleep(1000);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function buildImages(missing: DefaultImage[], paths: ImageStorePaths, progress: PrepareProgress): Promise<void> {
  await mkdir('/var/tmp', { recursive: true });
  const work = await mkdtemp('/var/tmp/cours-linux-images-');
  try {
    await withWritableRegistry(paths, async (address) => {
      for (const image of missing) {
        const started = Date.now();
        progress('images', `building ${image.name} from Debian packages`);
        const tree = join(work, `${image.name.replace(/[:/]/g, '-')}-tree`);
        await mkdir(tree, { recursive: true });
        const config = await image.build(tree, work, progress);
        const layout = join(work, `${image.name.replace(/[:/]/g, '-')}-oci`);
        const name = parseImageName(image.name);
        await writeOciLayout(tree, layout, name.tag, config);
        await copyIntoStore(address, `oci:${layout}:${name.tag}`, name);
        progress('images', `${image.name} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
    });
  } finally {
    await run('rm', ['-rf', '--one-file-system', work]).catch(() => {});
  }
}

async function buildBusybox(tree: string, work: string): Promise<ImageConfig> {
  const pkg = await candidate('busybox-static');
  const unpacked = await downloadAndUnpack(pkg, join(work, 'debs'), join(work, 'busybox-static'));
  const binary = join(unpacked, 'bin', 'busybox');
  for (const dir of ['bin', 'etc', 'root', 'tmp', 'var/www', 'home', 'dev', 'proc', 'sys', 'usr/bin', 'usr/sbin', 'sbin']) {
    await mkdir(join(tree, dir), { recursive: true });
  }
  await chmod(join(tree, 'tmp'), 0o1777);
  await run('cp', [binary, join(tree, 'bin', 'busybox')]);
  // The applet list comes from the binary itself (static: it runs anywhere, and touches nothing here).
  const { stdout } = await run(binary, ['--list-full']);
  for (const applet of stdout.split('\n').filter(Boolean)) {
    if (applet === 'bin/busybox' || existsSync(join(tree, applet))) continue;
    await symlink('/bin/busybox', join(tree, applet));
  }
  await writeFile(join(tree, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n');
  await writeFile(join(tree, 'etc', 'group'), 'root:x:0:\nnobody:x:65534:\n');
  return { cmd: ['sh'], env: [PATH_ENV] };
}

async function buildDebianSlim(tree: string, _work: string, progress: PrepareProgress): Promise<ImageConfig> {
  const mirror = hostDebianMirror('bookworm');
  progress('images', `debootstrap --variant=minbase bookworm from ${mirror} (about a minute)`);
  await rm(tree, { recursive: true, force: true });
  await run('debootstrap', ['--variant=minbase', 'bookworm', tree, mirror], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', DEBIAN_FRONTEND: 'noninteractive' },
    maxBuffer: 64 * 1024 * 1024,
  });
  // What makes it slim, as Docker's own debian:*-slim does: no docs, no man pages, no apt lists.
  for (const path of ['usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale', 'var/lib/apt/lists', 'var/cache/apt', 'var/log']) {
    await run('rm', ['-rf', '--one-file-system', join(tree, path)]);
    await mkdir(join(tree, path), { recursive: true });
  }
  await mkdir(join(tree, 'var/lib/apt/lists/partial'), { recursive: true });
  await mkdir(join(tree, 'var/cache/apt/archives/partial'), { recursive: true });
  await writeFile(join(tree, 'etc/dpkg/dpkg.cfg.d/slim'), 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\n');
  // Nothing of the build host: Docker writes these per container.
  await rm(join(tree, 'etc/hostname'), { force: true });
  await rm(join(tree, 'etc/resolv.conf'), { force: true });
  await writeFile(join(tree, 'etc/machine-id'), '');
  return { cmd: ['bash'], env: [PATH_ENV] };
}
