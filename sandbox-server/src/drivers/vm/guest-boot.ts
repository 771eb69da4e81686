// The guest's kernel and initramfs, built into the cache:
//   Debian's own kernel (linux-image-amd64's current dependency), unpacked
//   from its package — never installed on the host — and stored
//   uncompressed: QEMU then boots it directly in 64-bit mode (PVH), skipping
//   the real-mode setup and the XZ decompression, ≈ 3 s under emulation;
//   a ≈ 2 MB initramfs: busybox (from busybox-static, unpacked the same way),
//   the few modules the guest needs to reach its disk and the host
//   (kernel-modules.ts), and sandbox-server/vm/initramfs-init.sh as /init;
//   the modules Docker loads later (netfilter, bridge, veth, vxlan, …), as a
//   lib/modules/<release>/ tree that disk-image.ts puts on the guest's disk.
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PrepareProgress } from '../driver.ts';
import { hashOf, pruneOldBuilds, removeStaleTemporaries, vmCacheDir } from './cache.ts';
import { candidate, downloadAndUnpack, type DebianPackage } from './debian-packages.ts';
import { GUEST_DISK_MODULE_DIRS, GUEST_MODULES, loadOrder, modulesUnder, parseBuiltin, parseModulesDep } from './kernel-modules.ts';
import { runCommand } from './run-command.ts';

/** Bump when this file's procedure changes in a way its inputs do not show. */
const BUILD_FORMAT = 3;
export const GUEST_FILES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../vm');
const INIT_SCRIPT = join(GUEST_FILES_DIR, 'initramfs-init.sh');

export interface GuestBoot {
  /** An uncompressed ELF vmlinux (PVH boot) when the kernel supports it, else the bzImage. */
  kernel: string;
  initrd: string;
  /** The guest kernel's release, e.g. 6.1.0-56-amd64 (what `uname -r` says inside). */
  release: string;
  /** A tree holding lib/modules/<release>/ with the modules Docker needs (no modules.dep: the disk's depmod makes it). */
  modules: string;
  /** Names the build: part of the accelerator probe's cache key. */
  hash: string;
}

export async function ensureGuestBoot(cacheDir: string, progress: PrepareProgress): Promise<GuestBoot> {
  const dir = vmCacheDir(cacheDir);
  const kernelPackage = await candidate('linux-image-amd64', 'linux-image-');
  const busyboxPackage = await candidate('busybox-static');
  const initScript = readFileSync(INIT_SCRIPT);
  const hash = hashOf(BUILD_FORMAT, kernelPackage, busyboxPackage, initScript, GUEST_MODULES, GUEST_DISK_MODULE_DIRS);
  const final = join(dir, `boot-${hash}`);
  const result = (): GuestBoot => ({
    kernel: existsSync(join(final, 'vmlinux')) ? join(final, 'vmlinux') : join(final, 'vmlinuz'),
    initrd: join(final, 'initrd.img'),
    release: readFileSync(join(final, 'release'), 'utf8').trim(),
    modules: join(final, 'modules'),
    hash,
  });
  if (existsSync(final)) {
    progress('vm-boot', `cached: ${final}`);
    return result();
  }

  await mkdir(dir, { recursive: true });
  await removeStaleTemporaries(dir);
  const work = `${final}.tmp-${process.pid}`;
  const started = Date.now();
  try {
    progress('vm-boot', `unpacking ${kernelPackage.name} ${kernelPackage.version} and ${busyboxPackage.name} ${busyboxPackage.version}`);
    const kernelTree = await downloadAndUnpack(kernelPackage, join(work, 'debs'), join(work, 'kernel'));
    const busyboxTree = await downloadAndUnpack(busyboxPackage, join(work, 'debs'), join(work, 'busybox'));
    const busybox = join(busyboxTree, 'bin', 'busybox');
    const release = await kernelRelease(kernelTree, kernelPackage);

    // The package ships no modules.dep (its postinst runs depmod): make one.
    await runCommand(busybox, ['depmod', '-b', kernelTree, release]);
    const modulesDir = join(kernelTree, 'lib', 'modules', release);
    const modules = parseModulesDep(readFileSync(join(modulesDir, 'modules.dep'), 'utf8'));
    const builtin = parseBuiltin(readFileSync(join(modulesDir, 'modules.builtin'), 'utf8'));
    const order = loadOrder(GUEST_MODULES, modules, builtin);

    progress('vm-boot', `initramfs with busybox and ${order.length} modules: ${order.join(' ')}`);
    const root = join(work, 'initramfs');
    for (const sub of ['bin', 'dev', 'proc', 'sys', 'newroot', 'modules']) await mkdir(join(root, sub), { recursive: true });
    await copyFile(busybox, join(root, 'bin', 'busybox'));
    await chmod(join(root, 'bin', 'busybox'), 0o755);
    await copyFile(INIT_SCRIPT, join(root, 'init'));
    await chmod(join(root, 'init'), 0o755);
    for (const name of order) await copyFile(join(modulesDir, modules.paths.get(name)!), join(root, 'modules', `${name}.ko`));
    await writeFile(join(root, 'modules', 'order'), order.map((name) => `${name}.ko\n`).join(''));
    // The kernel opens /dev/console for /init before anything is mounted.
    await runCommand('mknod', ['-m', '600', join(root, 'dev', 'console'), 'c', '5', '1']);

    const out = join(work, 'out');
    await mkdir(out);
    await runCommand('sh', [
      '-c',
      `cd "$1" && find . | "$2" cpio -o -H newc -R 0:0 2>/dev/null | gzip -9 > "$3"`,
      'sh',
      root,
      busybox,
      join(out, 'initrd.img'),
    ]);
    const diskModules = modulesUnder(GUEST_DISK_MODULE_DIRS, modules);
    progress('vm-boot', `${diskModules.length} modules for the guest's disk (netfilter, bridge, veth, vxlan, overlay…)`);
    const diskModulesDir = join(out, 'modules', 'lib', 'modules', release);
    for (const path of diskModules) {
      await mkdir(dirname(join(diskModulesDir, path)), { recursive: true });
      await copyFile(join(modulesDir, path), join(diskModulesDir, path));
    }
    // What depmod reads besides the modules: which ones are built in, and their order.
    for (const file of ['modules.builtin', 'modules.builtin.modinfo', 'modules.order']) {
      if (existsSync(join(modulesDir, file))) await copyFile(join(modulesDir, file), join(diskModulesDir, file));
    }
    const bzImage = join(kernelTree, 'boot', `vmlinuz-${release}`);
    const kernelConfig = readFileSync(join(kernelTree, 'boot', `config-${release}`), 'utf8');
    const vmlinux = /^CONFIG_PVH=y$/m.test(kernelConfig) ? extractVmlinux(readFileSync(bzImage)) : undefined;
    if (vmlinux) await writeFile(join(out, 'vmlinux'), vmlinux);
    else await copyFile(bzImage, join(out, 'vmlinuz'));
    await writeFile(join(out, 'release'), `${release}\n`);
    await rename(out, final).catch((error: NodeJS.ErrnoException) => {
      // Another process finished the same build first: theirs is as good.
      if (!existsSync(final)) throw error;
    });
    await pruneOldBuilds(dir, /^boot-[0-9a-f]+$/, final);
    progress('vm-boot', `ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${final}`);
    return result();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function kernelRelease(tree: string, pkg: DebianPackage): Promise<string> {
  const releases = await readdir(join(tree, 'lib', 'modules')).catch(() => [] as string[]);
  if (releases.length !== 1) throw new Error(`${pkg.name} ${pkg.version} holds ${releases.length} module trees, expected one`);
  return releases[0]!;
}

/**
 * The ELF kernel inside a bzImage, found by its compressed payload's magic
 * (what the kernel's scripts/extract-vmlinux does). Debian compresses with
 * XZ; gzip is handled too. Undefined when no payload decompresses to an ELF.
 */
function extractVmlinux(bzImage: Buffer): Buffer | undefined {
  const formats: { magic: Buffer; decompress: (data: Buffer) => Buffer }[] = [
    { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), decompress: (data) => xzDecompress(data) },
    { magic: Buffer.from([0x1f, 0x8b, 0x08]), decompress: (data) => gunzipSync(data) },
  ];
  for (const { magic, decompress } of formats) {
    for (let at = bzImage.indexOf(magic); at >= 0; at = bzImage.indexOf(magic, at + 1)) {
      try {
        const elf = decompress(bzImage.subarray(at));
        if (elf.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return elf;
      } catch {
        // Not a payload after all (the magic bytes also occur by chance): keep looking.
      }
    }
  }
  return undefined;
}

/** Node has no XZ: the host's xz (xz-utils, in every Debian) reads one stream and ignores what follows. */
function xzDecompress(data: Buffer): Buffer {
  const result = spawnSync('xz', ['-dc', '--single-stream', '-q'], { input: data, maxBuffer: 512 * 1024 * 1024 });
  if (result.status !== 0 || result.stdout.length === 0) throw new Error('xz could not decompress');
  return result.stdout;
}
