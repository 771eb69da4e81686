// Sandbox maintenance from the command line (as root):
//
//   node sandbox-server/src/cli.ts prepare   check the host, compile the helpers, build the root
//                                            filesystem if missing (progress shown), start a test
//                                            sandbox to prove it all works, build the class store's
//                                            default images if missing            (npm run sandbox:prepare)
//   node sandbox-server/src/cli.ts cleanup   stop for good every machine no live server runs: those
//                                            a stopped server kept for its next start (and their
//                                            records in SANDBOX_DB), what crashed runs left (cgroups,
//                                            uid ranges, image registries), and old root filesystem builds when no
//                                            sandbox is alive                     (npm run sandbox:cleanup)
//   node sandbox-server/src/cli.ts shell     a sandbox with your terminal attached to it, destroyed
//                                            when its shell exits (for trying things by hand)
//
// Options come from the same place as the server's would: none needed here,
// the defaults of the namespace driver apply.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { PrepareProgress } from './drivers/driver.ts';
import { HintedError } from '../../contracts/errors.ts';
import { DEFAULT_LIMITS, createNamespaceDriver, type NamespaceDriver } from './drivers/namespace/index.ts';
import { ensureDefaultImages } from './images/default-images.ts';
import { ClassImageStore, listImages } from './images/image-store.ts';
import { DEFAULT_IMAGE_STORE_PATHS, removeStaleServerStores } from './images/paths.ts';
import { stopOrphanedRegistries } from './images/registry-owner.ts';
import { loadConfig, sandboxRecordsPath } from './config.ts';
import { SandboxRecords } from './manager/sandbox-records.ts';
import { rootfsPath } from './rootfs/build.ts';
import { readRecipe } from './rootfs/recipe.ts';

const USAGE = 'usage: node sandbox-server/src/cli.ts prepare|cleanup|shell';

async function main(command: string | undefined): Promise<number> {
  // Sandbox logs would bury the progress lines: only problems are shown.
  const driver = createNamespaceDriver({
    log: (record) => {
      if (record.level === 'warn' || record.level === 'error') console.error(`  ! ${record.msg}${record.error ? `: ${String(record.error)}` : ''}`);
    },
  });
  switch (command) {
    case 'prepare':
      return prepare(driver);
    case 'cleanup':
      return cleanup(driver);
    case 'shell':
      return shell(driver);
    default:
      console.error(USAGE);
      return 2;
  }
}

async function prepare(driver: NamespaceDriver): Promise<number> {
  console.error('» checking the host');
  await driver.checkHost();
  const started = Date.now();
  await driver.prepare(progressPrinter());
  endStatusLine();
  console.error(`» prepared in ${((Date.now() - started) / 1000).toFixed(1)} s; starting a test sandbox`);
  const sandboxStarted = Date.now();
  const sandbox = await driver.create({ id: `prepare-${randomBytes(4).toString('hex')}`, limits: DEFAULT_LIMITS, docker: false });
  try {
    const terminal = await sandbox.openTerminal('1', { cols: 80, rows: 24 });
    let output = '';
    terminal.onData((chunk) => (output += chunk.toString('utf8')));
    terminal.write(`printf 'ok from %s@%s\\n' "$(whoami)" "$(hostname)"; exit\r`);
    await new Promise<void>((resolve) => terminal.onExit(() => resolve()));
    const proof = /ok from \w+@[\w.-]+/.exec(output)?.[0];
    if (!proof) throw new Error(`the test sandbox's shell did not answer as expected; it printed:\n${output}`);
    console.error(`✓ test sandbox answered "${proof}" ${Date.now() - sandboxStarted} ms after its creation began`);
  } finally {
    await sandbox.destroy();
  }
  if (ClassImageStore.available()) {
    await ensureDefaultImages(DEFAULT_IMAGE_STORE_PATHS, progressPrinter());
    endStatusLine();
    console.error(
      `✓ class image store: ${listImages()
        .map((image) => image.name)
        .join(', ')}`,
    );
  } else {
    console.error('! no class image store (apt-get install docker-registry skopeo): docker pull will fail in the machines');
  }
  return 0;
}

async function cleanup(driver: NamespaceDriver): Promise<number> {
  // The records first: once a machine is gone, nobody must try to take it over.
  const config = loadConfig();
  const records = SandboxRecords.open(sandboxRecordsPath(config));
  const forgotten = records.orphans();
  for (const record of forgotten) records.delete(record.id);
  records.close();
  if (forgotten.length > 0) console.error(`✓ forgot ${forgotten.length} machine record(s) of stopped servers in ${records.path}`);
  const removed = await driver.cleanupLeftovers({ all: true });
  // The class store's registries a killed server or `npm run images` left running, and their sockets' directories.
  const registries = await stopOrphanedRegistries();
  removeStaleServerStores();
  if (registries.length > 0)
    console.error(`✓ stopped ${registries.length} image registr${registries.length === 1 ? 'y' : 'ies'} whose server was gone (pids ${registries.join(', ')})`);
  console.error(`✓ removed ${removed} leftover sandbox${removed === 1 ? '' : 'es'}`);
  const { cacheDir, stateDir } = driver.options;
  const alive = await readdir(join(stateDir, 'sandboxes')).catch(() => []);
  if (alive.length > 0) {
    console.error(`  ${alive.length} sandbox(es) still alive: old root filesystem builds kept`);
    return 0;
  }
  const recipe = readRecipe();
  const keep = new Set([rootfsPath(cacheDir, recipe), join(cacheDir, `debootstrap-${recipe.baseHash}`)]);
  for (const name of await readdir(cacheDir).catch(() => [])) {
    const path = join(cacheDir, name);
    if (!/^(rootfs|debootstrap)-[0-9a-f]+$/.test(name) || keep.has(path)) continue;
    await rm(path, { recursive: true, force: true });
    console.error(`✓ removed old build ${path}`);
  }
  return 0;
}

async function shell(driver: NamespaceDriver): Promise<number> {
  await driver.checkHost();
  const sandbox = await driver.create({ id: `shell-${randomBytes(4).toString('hex')}`, limits: DEFAULT_LIMITS, docker: true });
  const size = () => ({ cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 });
  try {
    const terminal = await sandbox.openTerminal('1', size());
    terminal.onData((chunk) => process.stdout.write(chunk));
    process.stdin.setRawMode?.(true);
    process.stdin.on('data', (chunk) => terminal.write(chunk));
    process.stdout.on('resize', () => terminal.resize(size()));
    const exit = await new Promise<{ code: number | null }>((resolve) => terminal.onExit(resolve));
    return exit.code ?? 1;
  } finally {
    process.stdin.setRawMode?.(false);
    process.stdin.pause();
    await sandbox.destroy();
  }
}

// Debootstrap prints hundreds of lines: on a terminal they share one status line.
let statusLineOpen = false;
function progressPrinter(): PrepareProgress {
  return (step, detail) => {
    const line = `» ${step}${detail ? `: ${detail}` : ''}`;
    const transient = process.stderr.isTTY && step === 'debootstrap' && detail && !/ s$|minute/.test(detail);
    if (transient) {
      process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns || 80) - 1)}`);
      statusLineOpen = true;
    } else {
      endStatusLine();
      console.error(line);
    }
  };
}
function endStatusLine(): void {
  if (statusLineOpen) process.stderr.write('\r\x1b[K');
  statusLineOpen = false;
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (error: unknown) => {
    endStatusLine();
    // Any error with a hint (host unfit, no apt mirror, …) says what to do.
    if (error instanceof HintedError) console.error(`✗ ${error.message}\n  → ${error.hint}`);
    else console.error(`✗ ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
