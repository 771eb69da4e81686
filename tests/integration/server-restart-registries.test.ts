// The class image store's registries do not outlive their server: a server
// killed with SIGKILL (a crash, an OOM kill, the restart tests) takes them with
// it, and any one left by an owner that died before it could tell them (or by a
// server older than this rule) is stopped by the next server start and by the
// clean-up (`npm run sandbox:cleanup` calls stopOrphanedRegistries). The
// machine kept across the kill still pulls images, through the next server's
// registries. Only registries whose owner this file started are judged here.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveOptions } from '../../sandbox-server/src/drivers/namespace/options.ts';
import { markedRegistries, registryRuns, stopOrphanedRegistries, type MarkedRegistry } from '../../sandbox-server/src/images/registry-owner.ts';
import { until } from '../support/agent-harness.ts';
import { waitForDockerd } from '../support/lesson-exercises.ts';
import { namespaceLeftovers } from '../support/namespace-leftovers.ts';
import { attachTerminal, createSandbox } from '../support/server-client.ts';
import { createdSandboxIds, startServer, type RunningServer } from '../support/server.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dbDir = mkdtempSync(join(tmpdir(), 'registries-test-'));
const env = { SANDBOX_DB: join(dbDir, 'sandboxes.sqlite'), SANDBOXES_ON_EXIT: 'keep' };
const servers: RunningServer[] = [];
/** Owners this file started (servers, stand-in owners): the only registries it judges. */
const owners = new Set<number>();
/** The stand-in owners' registry files (removed at the end: a registry still starting would die of it, not of our stop). */
const standInDirs: string[] = [];
const { prefix, stateDir, dockerDiskDir } = resolveOptions();

async function start(extra: Record<string, string> = {}): Promise<RunningServer> {
  const server = await startServer({ env: { ...env, ...extra } });
  servers.push(server);
  owners.add(server.process.pid!);
  return server;
}

async function registriesOf(pid: number): Promise<MarkedRegistry[]> {
  return (await markedRegistries()).filter((registry) => registry.ownerPid === pid);
}

afterAll(async () => {
  for (const server of servers) await server.stop();
  const last = await start({ SANDBOXES_ON_EXIT: 'destroy' });
  await last.stop();
  for (const dir of [dbDir, ...standInDirs]) rmSync(dir, { recursive: true, force: true });
  const ids = servers.flatMap((server) => createdSandboxIds(server));
  expect(namespaceLeftovers({ prefix, stateDir, dockerDiskDir, ids })).toEqual([]);
  const ours = (await markedRegistries()).filter((registry) => owners.has(registry.ownerPid) && registryRuns(registry));
  expect(ours).toEqual([]);
});

/**
 * A registry left the way servers before this rule left theirs: marked with
 * its owner, told nothing about the owner's death, and the owner SIGKILLed.
 */
async function orphanedRegistry(): Promise<MarkedRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'orphan-registry-'));
  const script = `
    import { spawn } from 'node:child_process';
    import { writeFileSync } from 'node:fs';
    import { registryConfig, REGISTRY_BINARY } from './sandbox-server/src/images/registry-process.ts';
    import { registryOwnerEnv } from './sandbox-server/src/images/registry-owner.ts';
    const config = ${JSON.stringify(join(dir, 'orphan.yml'))};
    writeFileSync(config, registryConfig({ name: 'orphan', storageDir: ${JSON.stringify(join(dir, 'storage'))}, configDir: ${JSON.stringify(dir)},
      listen: { unixSocket: ${JSON.stringify(join(dir, 'orphan.sock'))} }, readOnly: true }));
    const child = spawn(REGISTRY_BINARY, ['serve', config], { detached: true, stdio: 'ignore', env: { ...process.env, ...registryOwnerEnv() } });
    child.unref();
    console.log(child.pid);
    setInterval(() => {}, 1000);
  `;
  const owner = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  owners.add(owner.pid!);
  const pid = await new Promise<number>((resolve, reject) => {
    owner.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    owner.once('exit', (code) => reject(new Error(`the stand-in owner exited (${code}) before starting its registry`)));
  });
  // Serving (its socket answers), so that it is a registry that runs, not one still starting.
  await until(() => existsSync(join(dir, 'orphan.sock')), `registry ${pid} of the stand-in owner to listen`, 15_000);
  const registry = (await registriesOf(owner.pid!)).find((found) => found.pid === pid);
  if (!registry) throw new Error(`registry ${pid} of the stand-in owner not found with its mark`);
  const gone = new Promise((resolve) => owner.once('exit', resolve));
  owner.kill('SIGKILL');
  await gone;
  standInDirs.push(dir);
  expect(registryRuns(registry)).toBe(true);
  return registry;
}

describe('the image registries of a server', () => {
  it('end with a server killed by SIGKILL; the machine it kept pulls through the next server', async () => {
    const first = await start();
    const registries = await registriesOf(first.process.pid!);
    // The class's images and the readers' (a third, the cache, only with IMAGE_STORE_UPSTREAM).
    expect(registries).toHaveLength(2);
    const sandbox = await createSandbox(first);
    const before = await attachTerminal(first, sandbox, '1');
    await before.reader.waitForPrompt();
    await waitForDockerd(before.reader);
    await before.client.close();

    first.process.kill('SIGKILL');
    expect(await first.stop()).toEqual({ code: null, signal: 'SIGKILL' });
    await until(() => registries.every((registry) => !registryRuns(registry)), "the killed server's registries to end");

    const second = await start();
    await second.waitForLog((line) => line.msg === 'sandbox taken over after a restart' && line.sandbox === sandbox.id);
    expect(await registriesOf(second.process.pid!)).toHaveLength(2);
    const after = await attachTerminal(second, sandbox, '1');
    await after.client.waitForBytes(after.ready.replayBytes);
    const pulled = await after.reader.run('docker pull -q busybox >/dev/null && docker run --rm busybox echo pulled-$((6*7))', { timeoutMs: 120_000 });
    expect(pulled).toEqual({ output: 'pulled-42\n', exitCode: 0 });
    await after.client.close();
    await second.stop();
  });

  it('left by an owner that died first are stopped by the next server start and by the clean-up', async () => {
    const left = await orphanedRegistry();
    const server = await start({ SANDBOX_DOCKER: 'false' });
    expect(registryRuns(left)).toBe(false);
    expect(server.logs.find((line) => line.msg === 'stopped image registries left running by a server that died')?.pids).toContain(left.pid);
    await server.stop();

    // What `npm run sandbox:cleanup` runs (the whole command also removes other runs' machines: not here).
    const another = await orphanedRegistry();
    expect(await stopOrphanedRegistries({ only: (registry) => owners.has(registry.ownerPid) })).toEqual([another.pid]);
    expect(registryRuns(another)).toBe(false);
  });
});
