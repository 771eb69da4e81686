// `npm run browser-machine:build`: makes the browser machine's assets (see
// guest-tree.ts, boot.ts) once and caches them by the hash of their recipe:
//
//   /var/cache/cours-linux/browser-machine/<hash>/manifest.json
//                                                 state-<hash>.bin.gz
//                                                 v86-<hash>.wasm.gz
//
// The site build copies that folder into dist/browser-machine/ (see
// src/components/browser-machine-integration.ts), building it first when missing.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { GUEST_LAYOUT, type BrowserMachineManifest } from '../../src/client/browser-machine/guest-layout.ts';
import { AptI386 } from './apt-i386.ts';
import { bootAndSave, checkRestored, SEABIOS, V86_WASM } from './boot.ts';
import { cpioArchive } from './cpio.ts';
import { guestPackages, makeGuestTree, SERVER_ROOTFS_FILES, SHARED_SERVER_FILES } from './guest-tree.ts';

const here = dirname(fileURLToPath(import.meta.url));
const PROJECT_ROOT = join(here, '..', '..');
export const CACHE_ROOT = process.env.COURSE_CACHE_DIR ?? '/var/cache/cours-linux';
const MACHINE_CACHE = join(CACHE_ROOT, 'browser-machine');

type Log = (message: string) => void;

/** Hash of everything the machine is made from: this folder, the shared course files, v86's version, the layout. */
export function recipeHash(): string {
  const hash = createHash('sha256');
  const walk = (path: string) => {
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) walk(join(path, name));
    } else {
      hash.update(path.slice(PROJECT_ROOT.length)).update(readFileSync(path));
    }
  };
  // What makes the machine (not astro-integration.ts, which only copies it).
  for (const file of ['guest', 'apt-i386.ts', 'guest-tree.ts', 'cpio.ts', 'boot.ts', 'build.ts']) walk(join(here, file));
  // Only the server recipe's files the guest copies (guest-tree.ts), so that Docker changes there do not rebuild it.
  for (const file of SHARED_SERVER_FILES) walk(join(SERVER_ROOTFS_FILES, file));
  walk(join(PROJECT_ROOT, 'src', 'client', 'browser-machine', 'guest-layout.ts'));
  hash.update(readFileSync(join(PROJECT_ROOT, 'node_modules', 'v86', 'package.json')));
  return hash.digest('hex').slice(0, 16);
}

export function machineDir(hash = recipeHash()): string {
  return join(MACHINE_CACHE, hash);
}

/** The cached assets of the current recipe, or undefined if they were never built. */
export function builtMachine(): string | undefined {
  const dir = machineDir();
  return existsSync(join(dir, 'manifest.json')) ? dir : undefined;
}

async function withLock<T>(work: () => Promise<T>): Promise<T> {
  const lock = join(MACHINE_CACHE, 'build.lock');
  await mkdir(MACHINE_CACHE, { recursive: true });
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => '0'));
      if (!isAlive(holder)) await rm(lock, { recursive: true, force: true });
      else await new Promise((done) => setTimeout(done, 1000));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** Builds the machine unless the current recipe's assets are cached; returns their folder. */
export async function ensureBrowserMachine(log: Log = () => undefined): Promise<string> {
  const hash = recipeHash();
  const dir = machineDir(hash);
  if (existsSync(join(dir, 'manifest.json'))) return dir;
  return withLock(async () => {
    if (existsSync(join(dir, 'manifest.json'))) return dir;
    // Work folders of builds that were killed.
    for (const name of readdirSync(MACHINE_CACHE)) {
      const pid = Number(/^work-(\d+)$/.exec(name)?.[1] ?? 0);
      if (pid > 0 && !isAlive(pid)) await rm(join(MACHINE_CACHE, name), { recursive: true, force: true });
    }
    if (!existsSync(SEABIOS)) throw new Error(`the browser machine needs SeaBIOS: ${SEABIOS} is missing (apt-get install seabios)`);
    const work = join(MACHINE_CACHE, `work-${process.pid}`);
    try {
      await build(hash, work, log);
      await rm(dir, { recursive: true, force: true });
      await rename(join(work, 'out'), dir);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return dir;
  });
}

async function build(hash: string, work: string, log: Log): Promise<void> {
  const started = Date.now();
  // The apt state and downloaded .debs are kept between recipes: a change of the init script re-downloads nothing.
  const apt = new AptI386(join(MACHINE_CACHE, 'apt-i386'));
  log("reading the i386 package lists from the host's apt sources");
  await apt.update();
  const { kernel, userland } = await guestPackages(apt);
  log(`kernel ${kernel.name} ${kernel.version}; userland: ${userland.length} packages`);
  const kernelTree = join(work, 'kernel');
  await AptI386.unpack(await apt.download(kernel), kernelTree);
  const bootDir = join(kernelTree, 'boot');
  const vmlinuz = readdirSync(bootDir).find((name) => name.startsWith('vmlinuz-'));
  if (vmlinuz === undefined) throw new Error(`${kernel.name} has no /boot/vmlinuz-*`);
  const kernelImage = await readFile(join(bootDir, vmlinuz));
  await rm(kernelTree, { recursive: true, force: true });

  const root = join(work, 'root');
  await makeGuestTree(apt, userland, root);
  const archive = cpioArchive(root, (path) => (path === 'home/student' || path.startsWith('home/student/') ? { uid: 1000, gid: 1000 } : { uid: 0, gid: 0 }));
  // Not compressed: it is only booted here, once, and the emulated CPU unpacks a plain archive much faster.
  const initrd = archive;
  log(`initramfs: ${mb(archive.length)}; kernel ${mb(kernelImage.length)}`);

  log('booting it in v86 (once, in Node)');
  const verbose = process.env.BROWSER_MACHINE_VERBOSE === '1';
  const saved = await bootAndSave({ kernel: kernelImage, initrd }, (line) => verbose && log(`console: ${line}`));
  log(`two prompts after ${(saved.bootMs / 1000).toFixed(1)} s; state ${mb(saved.state.byteLength)}`);
  // The answer follows the C mark (BEL) of the command line.
  const check = await checkRestored(saved.state, 'sudo -n hostname', /\x07tp-docker\r\n/);
  log(`restored in ${check.restoreMs} ms; \`sudo -n hostname\` answered in ${check.answerMs} ms`);

  const out = join(work, 'out');
  await mkdir(out, { recursive: true });
  const state = gzipSync(Buffer.from(saved.state), { level: 9 });
  const wasmRaw = await readFile(V86_WASM);
  const wasm = gzipSync(wasmRaw, { level: 9 });
  const manifest: BrowserMachineManifest = {
    version: 1,
    id: hash,
    wasm: { file: `v86-${hash}.wasm.gz`, bytes: wasm.length, rawBytes: wasmRaw.length },
    state: { file: `state-${hash}.bin.gz`, bytes: state.length, rawBytes: saved.state.byteLength },
    screens: saved.screens.map((bytes) => Buffer.from(bytes).toString('base64')),
    kernel: `${kernel.name} ${kernel.version}`,
    packages: userland.length,
  };
  await writeFile(join(out, manifest.state.file), state);
  await writeFile(join(out, manifest.wasm.file), wasm);
  await writeFile(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(
    join(out, 'build-log.txt'),
    [
      `built ${new Date().toISOString()} in ${((Date.now() - started) / 1000).toFixed(0)} s`,
      `kernel ${manifest.kernel}, ${GUEST_LAYOUT.memoryBytes >> 20} MiB RAM`,
      `packages: ${userland.map((pkg) => `${pkg.name}=${pkg.version}`).join(' ')}`,
      `initramfs ${archive.length} bytes`,
      `boot to two prompts ${saved.bootMs} ms; restore ${check.restoreMs} ms; first answer ${check.answerMs} ms`,
      `state ${saved.state.byteLength} raw, ${state.length} gzip; wasm ${wasmRaw.length} raw, ${wasm.length} gzip`,
      '--- console ---',
      saved.console,
    ].join('\n'),
  );
  log(`assets: state ${mb(state.length)}, wasm ${mb(wasm.length)} (gzip)`);
}

function isAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const log: Log = (message) => console.log(`browser-machine: ${message}`);
  ensureBrowserMachine(log).then(
    (dir) => console.log(`browser-machine: ready in ${dir}`),
    (error: unknown) => {
      console.error(`browser-machine: build failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
