// The guest's disk: the very root filesystem the namespace driver uses (same
// recipe, same build), plus the agent's files at the paths the namespace
// driver bind-mounts them to, plus the guest's boot script, plus the guest
// kernel's modules Docker needs (guest-boot.ts) with their modules.dep and
// modules.alias made by the root filesystem's own depmod; as one ext4
// image (`mkfs.ext4 -d`), read-only in the cache. Each VM opens it
// copy-on-write (see qemu-args.ts), so the image never changes.
//
// The free space in the image is the VM's writable space: it is part of the
// image (and of its name), one image per distinct size.
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { PrepareProgress } from '../driver.ts';
import { AGENT_NODE_OPTIONS, SANDBOX_PATHS, agentFiles } from '../../rootfs/agent-files.ts';
import { hashOf, hashTree, pruneOldBuilds, removeStaleTemporaries, vmCacheDir } from './cache.ts';
import { GUEST_FILES_DIR } from './guest-boot.ts';
import { runCommand } from './run-command.ts';

/** Bump when this file's procedure changes in a way its inputs do not show. */
const BUILD_FORMAT = 3;
const BOOT_SCRIPT = join(GUEST_FILES_DIR, 'boot.sh');
/** Joins each host session on a virtio-serial port to a guest socket (boot.sh runs it); compiled static, like native/. */
const PORT_BRIDGE_SOURCE = join(GUEST_FILES_DIR, 'vport-bridge.c');
const GUEST_PORT_BRIDGE = '/.sandbox/vm/vport-bridge';
/** Where boot.sh lives in the guest (initramfs-init.sh starts it). */
export const GUEST_BOOT_SCRIPT = '/.sandbox/vm/boot.sh';
const GUEST_AGENT_ENV = '/.sandbox/vm/agent.env';

export interface DiskImageInputs {
  cacheDir: string;
  /** The finished root filesystem (ensureRootfs). */
  rootfs: string;
  nodePath: string;
  initPath: string;
  /** The agent's JavaScript build (ensureHelpers().agent). */
  agentDir: string;
  /** Free space the reader gets inside the VM. */
  freeBytes: number;
  /** The guest's boot build (kernel release, modules tree, hash): the modules on the disk must be that kernel's. */
  boot: { release: string; modules: string; hash: string };
}

export function diskImagePath(inputs: DiskImageInputs): string {
  const sources = agentFiles({ nodePath: inputs.nodePath, initPath: inputs.initPath, agentDir: inputs.agentDir });
  const hash = hashOf(
    BUILD_FORMAT,
    basename(inputs.rootfs), // rootfs-<recipe hash>
    sources.map((file) => [file.target, hashTree(file.source)]),
    readFileSync(BOOT_SCRIPT),
    readFileSync(PORT_BRIDGE_SOURCE),
    SANDBOX_PATHS,
    AGENT_NODE_OPTIONS,
    inputs.freeBytes,
    inputs.boot.hash,
  );
  return join(vmCacheDir(inputs.cacheDir), `disk-${hash}.ext4`);
}

export async function ensureDiskImage(inputs: DiskImageInputs, progress: PrepareProgress): Promise<string> {
  const final = diskImagePath(inputs);
  if (existsSync(final)) {
    progress('vm-disk', `cached: ${final}`);
    return final;
  }
  const dir = vmCacheDir(inputs.cacheDir);
  await mkdir(dir, { recursive: true });
  await removeStaleTemporaries(dir);
  const work = `${final}.tmp-${process.pid}`;
  const tree = join(work, 'tree');
  const image = join(work, 'disk.ext4');
  const started = Date.now();
  try {
    await mkdir(work, { recursive: true });
    progress('vm-disk', `copying ${inputs.rootfs}`);
    await runCommand('cp', ['-a', '--reflink=auto', inputs.rootfs, tree]);
    progress('vm-disk', 'adding the agent and Node');
    for (const file of agentFiles({ nodePath: inputs.nodePath, initPath: inputs.initPath, agentDir: inputs.agentDir })) {
      const target = join(tree, file.target);
      await mkdir(join(target, '..'), { recursive: true });
      await copyInto(file.source, target);
    }
    progress('vm-disk', `adding the kernel modules of ${inputs.boot.release}`);
    await mkdir(join(tree, 'lib', 'modules'), { recursive: true });
    await runCommand('cp', ['-a', join(inputs.boot.modules, 'lib', 'modules', inputs.boot.release), join(tree, 'lib', 'modules')]);
    // kmod's depmod, from the guest's own root: the binary indexes (modules.alias.bin…) its modprobe reads.
    await runCommand('chroot', [tree, '/sbin/depmod', '-a', inputs.boot.release]);
    await mkdir(join(tree, '.sandbox', 'vm'), { recursive: true });
    await writeFile(join(tree, GUEST_BOOT_SCRIPT), readFileSync(BOOT_SCRIPT), { mode: 0o755 });
    progress('vm-disk', 'compiling vport-bridge.c');
    await runCommand('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-static', '-o', join(tree, GUEST_PORT_BRIDGE), PORT_BRIDGE_SOURCE]);
    // boot.sh learns from here where the agent lives, as the namespace driver mounts it.
    await writeFile(
      join(tree, GUEST_AGENT_ENV),
      `AGENT_KEEPER=${SANDBOX_PATHS.keeper}\nAGENT_NODE=${SANDBOX_PATHS.node}\nAGENT_NODE_OPTIONS='${AGENT_NODE_OPTIONS.join(' ')}'\nAGENT_MAIN=${SANDBOX_PATHS.agentMain}\n`,
      { mode: 0o644 },
    );

    const used = Number((await runCommand('du', ['-s', '--block-size=1', tree])).split(/\s/)[0]);
    // ext4's own metadata (inode tables, bitmaps) takes a few percent; the rest is the reader's
    // (measured: 128 MiB asked → ≈ 136 MiB free in `df /`; then ENOSPC, and the VM lives on).
    const mib = Math.ceil((used * 1.05 + inputs.freeBytes + 16 * 1024 * 1024) / (1024 * 1024));
    progress('vm-disk', `mkfs.ext4 -d: ${mib} MiB image, ${Math.round(inputs.freeBytes / (1024 * 1024))} MiB free`);
    await runCommand('truncate', ['-s', `${mib}M`, image]);
    // No journal: the disk lives as long as one VM and is thrown away with it.
    // One inode per 8 KiB: Docker images are many small files.
    await runCommand('mkfs.ext4', ['-q', '-F', '-L', 'cours-linux', '-m', '0', '-i', '8192', '-O', '^has_journal', '-E', 'root_owner=0:0', '-d', tree, image]);
    await chmod(image, 0o444);
    await rename(image, final).catch((error: NodeJS.ErrnoException) => {
      if (!existsSync(final)) throw error;
    });
    await pruneOldBuilds(dir, /^disk-[0-9a-f]+\.ext4$/, final, 3);
    progress('vm-disk', `ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${final}`);
    return final;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Copies a file or a tree, following symbolic links (the host's layout must not leak into the guest's). */
async function copyInto(source: string, target: string): Promise<void> {
  await runCommand('cp', ['-RL', '--preserve=mode,timestamps', source, target]);
}
