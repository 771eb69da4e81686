// Finding 8: page cache charged to a machine's memory cgroup kept the group
// "dying" in the kernel after the machine was deleted (1078 of 1500), and the
// kernel has only 65 535 memory-cgroup ids: a reader could eventually stop
// every new machine on the host. Now teardown empties each memory group
// (memory.force_empty) before removing it, and the groups are really freed.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveOptions } from '../../sandbox-server/src/drivers/namespace/options.ts';
import { rootfsPath } from '../../sandbox-server/src/rootfs/build.ts';
import { readRecipe } from '../../sandbox-server/src/rootfs/recipe.ts';
import { attachTerminal, createSandbox, deleteSandbox } from '../support/server-client.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';

const MACHINES = 5;
/** Files of the shared root filesystem that machines rarely read: each machine reads them after the host dropped them from its cache, so their pages are charged to it. */
const FILES_DIR = 'usr/share/zoneinfo';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ env: { SANDBOX_DOCKER: 'false', LOG_LEVEL: 'info' } });
});

afterAll(async () => {
  expect(await shutDown(server)).toEqual({ code: 0, sandboxesCreated: MACHINES, leftovers: [] });
});

/** Drops the files' pages from the host's page cache (posix_fadvise DONTNEED, syscall 221 on x86_64). */
function dropFromCache(dir: string): void {
  execFileSync('perl', [
    '-MFile::Find',
    '-e',
    'find({ no_chdir => 1, wanted => sub { return unless -f $_; open(my $f, "<", $_) or return; syscall(221, fileno($f), 0, 0, 4) } }, $ARGV[0])',
    dir,
  ]);
}

/** Memory cgroups the kernel holds (/proc/cgroups) minus those still in the hierarchy: the dying ones. */
function dying(): number {
  const total = Number(/^memory\s+\d+\s+(\d+)/m.exec(readFileSync('/proc/cgroups', 'utf8'))?.[1]);
  const live = Number(execFileSync('find', ['/sys/fs/cgroup/memory', '-type', 'd'], { encoding: 'utf8' }).trim().split('\n').length);
  if (!(total > 0)) throw new Error('no cgroup v1 memory hierarchy on this host');
  return total - live;
}

it('frees the memory cgroups of machines that read files into the page cache', async () => {
  const hostFiles = join(rootfsPath(resolveOptions().cacheDir, readRecipe()), FILES_DIR);
  expect(readdirSync(hostFiles).length).toBeGreaterThan(10);
  const before = dying();
  for (let machine = 0; machine < MACHINES; machine++) {
    const sandbox = await createSandbox(server);
    const { client, reader } = await attachTerminal(server, sandbox, '1');
    await reader.waitForPrompt();
    dropFromCache(hostFiles);
    const { output } = await reader.run(`find /${FILES_DIR} -type f -exec cat {} + | wc -c`, { timeoutMs: 60_000 });
    expect(Number(output.trim())).toBeGreaterThan(100_000);
    // The pages are charged to the machine (read from the host: the kernel's count, not the driver's).
    const stat = readFileSync(`/sys/fs/cgroup/memory/${resolveOptions().prefix}/${sandbox.id}/memory.stat`, 'utf8');
    expect(Number(/^total_cache (\d+)$/m.exec(stat)?.[1])).toBeGreaterThan(100_000);
    await client.close();
    expect((await deleteSandbox(server, sandbox)).status).toBe(204);
    const destroyed = await server.waitForLog((line) => line.msg === 'sandbox destroyed' && line.sandbox === sandbox.id && 'memoryLeftBytes' in line);
    expect(Number(destroyed.memoryLeftBytes)).toBeLessThan(64 * 1024);
  }
  // Freed groups go within moments (RCU, and the kernel's own offline work): wait for it, bounded. Dying ones
  // stay as long as their pages do, so without the fix the count stays up and the wait ends at its bound.
  let after = dying();
  for (let wait = 0; wait < 100 && after - before >= MACHINES - 2; wait++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    after = dying();
  }
  // Other work on the host may add or free a group meanwhile; ours alone would add at least MACHINES.
  console.log(`dying memory cgroups: ${before} before, ${after} after ${MACHINES} machines`);
  expect(after - before).toBeLessThan(MACHINES - 2);
});
