// Namespace sandboxes, measured: create → first prompt, destroy, idle memory
// (cgroup charge and host MemAvailable), the agent's own cost, CPU quota, fork
// bomb recovery, and how many sandboxes with dockerd this host holds at once.
// Run as root: `npm run bench -- sandbox` (or `node bench/sandbox.bench.ts [part…]`).
// Every sandbox made here is destroyed before the end, also on Ctrl-C.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Sandbox } from '../sandbox-server/src/drivers/driver.ts';
import { DEFAULT_LIMITS, createNamespaceDriver } from '../sandbox-server/src/drivers/namespace/index.ts';
import { TerminalReader } from '../tests/support/terminal-reader.ts';
import { activityBetween, processesInCgroup, readCounters } from './idle/task-counters.ts';
import { percentile, report, reportTimings } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 12);
const CAPACITY_TARGET = Number(process.env.BENCH_CAPACITY ?? 50);
const CAPACITY_BUDGET_MS = 5 * 60_000;
const MIB = 1024 * 1024;

const driver = createNamespaceDriver({ log: (record) => record.level === 'error' && console.error(JSON.stringify(record)) });
const { prefix } = driver.options;
const alive = new Set<Sandbox>();
let counter = 0;

process.on('SIGINT', () => {
  void destroyAll().finally(() => process.exit(130));
});

async function create(docker: boolean): Promise<Sandbox> {
  const sandbox = await driver.create({ id: `bench-${process.pid}-${counter++}`, limits: DEFAULT_LIMITS, docker });
  alive.add(sandbox);
  return sandbox;
}

async function destroy(sandbox: Sandbox): Promise<void> {
  alive.delete(sandbox);
  await sandbox.destroy();
}

async function destroyAll(): Promise<void> {
  await Promise.allSettled([...alive].map((sandbox) => destroy(sandbox)));
}

async function firstPrompt(sandbox: Sandbox): Promise<TerminalReader> {
  const terminal = await sandbox.openTerminal('1', { cols: 80, rows: 24 });
  const reader = new TerminalReader(terminal, (text) => terminal.write(text));
  await reader.waitForPrompt();
  return reader;
}

function memAvailable(): number {
  return Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
}

function cgroupFile(sandbox: Sandbox, hierarchy: string, file: string): string {
  return readFileSync(`/sys/fs/cgroup/${hierarchy}/${prefix}/${sandbox.id}/${file}`, 'utf8');
}

/** Host pids of a sandbox's processes whose command line starts with `name`. */
function processesNamed(sandbox: Sandbox, name: string): number[] {
  return cgroupFile(sandbox, 'pids', 'cgroup.procs')
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]!.split('/').pop()!.startsWith(name);
      } catch {
        return false;
      }
    });
}

function pssBytes(pid: number): number {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return Number(/^Pss:\s+(\d+) kB/m.exec(rollup)![1]) * 1024;
}

async function waitForDocker(reader: TerminalReader): Promise<void> {
  await reader.run('for i in $(seq 150); do [ -S /run/docker.sock ] && break; sleep 0.2; done', { timeoutMs: 60_000 });
}

async function startupAndDestroy(docker: boolean): Promise<void> {
  const label = docker ? 'with dockerd' : 'without dockerd';
  const startMs: number[] = [];
  const destroyMs: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    const sandbox = await create(docker);
    await firstPrompt(sandbox);
    startMs.push(performance.now() - started);
    const stopping = performance.now();
    await destroy(sandbox);
    destroyMs.push(performance.now() - stopping);
  }
  reportTimings(`create to first prompt ${label}`, startMs);
  reportTimings(`destroy ${label}`, destroyMs);
}

async function idleMemory(docker: boolean, count: number): Promise<void> {
  const label = docker ? 'with dockerd' : 'without dockerd';
  await sleep(1000);
  const before = memAvailable();
  const boxes: { sandbox: Sandbox; reader: TerminalReader }[] = [];
  for (let i = 0; i < count; i++) {
    const sandbox = await create(docker);
    boxes.push({ sandbox, reader: await firstPrompt(sandbox) });
  }
  if (docker) for (const { reader } of boxes) await waitForDocker(reader);
  await sleep(3000); // let daemons settle
  const after = memAvailable();
  const charged = boxes.map(({ sandbox }) => Number(cgroupFile(sandbox, 'memory', 'memory.usage_in_bytes')));
  const rss = boxes.map(({ sandbox }) => Number(/^total_rss (\d+)$/m.exec(cgroupFile(sandbox, 'memory', 'memory.stat'))![1]));
  report(`idle memory charged to the cgroup ${label} p50`, percentile(charged, 50) / MIB, 'MiB');
  report(`idle memory rss in the cgroup ${label} p50`, percentile(rss, 50) / MIB, 'MiB');
  report(`host MemAvailable drop per sandbox ${label}`, (before - after) / count / MIB, 'MiB');
  const { sandbox } = boxes[0]!;
  report(`agent PSS ${label}`, pssBytes(processesNamed(sandbox, 'sandbox-agent')[0]!) / MIB, 'MiB');
  report(`terminal keeper PSS ${label}`, pssBytes(processesNamed(sandbox, 'terminal-keeper')[0]!) / MIB, 'MiB');
  if (docker) {
    report('dockerd PSS', pssBytes(processesNamed(sandbox, 'dockerd')[0]!) / MIB, 'MiB');
    report('containerd PSS', pssBytes(processesNamed(sandbox, 'containerd')[0]!) / MIB, 'MiB');
  }
  report(`tasks per idle sandbox ${label}`, Number(cgroupFile(sandbox, 'pids', 'pids.current')));
  for (const box of boxes) await destroy(box.sandbox);
}

async function cpuQuota(): Promise<void> {
  const sandbox = await create(false);
  const reader = await firstPrompt(sandbox);
  const usage = () => Number(cgroupFile(sandbox, 'cpuacct', 'cpuacct.usage')) / 1e9;
  const cpuBefore = usage();
  const wallBefore = performance.now();
  // Two busy loops: without the quota they would take both cores.
  await reader.run('timeout 3 sh -c "while :; do :; done" & timeout 3 sh -c "while :; do :; done"; wait');
  const cores = (usage() - cpuBefore) / ((performance.now() - wallBefore) / 1000);
  report(`cores used by two busy loops (quota ${DEFAULT_LIMITS.cpus})`, cores);
  report('cpu throttled periods', Number(/nr_throttled (\d+)/.exec(cgroupFile(sandbox, 'cpu', 'cpu.stat'))![1]));
  await destroy(sandbox);
}

async function forkBombRecovery(): Promise<void> {
  const sandbox = await create(false);
  const reader = await firstPrompt(sandbox);
  const started = performance.now();
  const from = reader.cursor;
  // Same name: the terminal already open, to type into.
  (await sandbox.openTerminal('1', { cols: 80, rows: 24 })).write(':(){ :|:& };:\r');
  await reader.waitFor(/Limite de processus atteinte/, { from: from.text, timeoutMs: 120_000 });
  const stopped = performance.now() - started;
  await reader.run('true', { timeoutMs: 120_000 });
  report('fork bomb: start to stopped', stopped, 'ms');
  report('fork bomb: start to next command done', performance.now() - started, 'ms');
  await destroy(sandbox);
}

async function capacity(): Promise<void> {
  const deadline = Date.now() + CAPACITY_BUDGET_MS;
  const before = memAvailable();
  const startMs: number[] = [];
  const boxes: { sandbox: Sandbox; reader: TerminalReader }[] = [];
  let failure = '';
  while (boxes.length < CAPACITY_TARGET && Date.now() < deadline) {
    const started = performance.now();
    try {
      const sandbox = await create(true);
      boxes.push({ sandbox, reader: await firstPrompt(sandbox) });
      startMs.push(performance.now() - started);
    } catch (error) {
      failure = (error as Error).message.split('\n')[0]!;
      break;
    }
  }
  for (const { reader } of boxes) await waitForDocker(reader);
  await sleep(3000);
  const used = before - memAvailable();
  const cpuOf = () => boxes.reduce((sum, { sandbox }) => sum + Number(cgroupFile(sandbox, 'cpuacct', 'cpuacct.usage')), 0) / 1e9;
  const pids = boxes.flatMap(({ sandbox }) => processesInCgroup(`/sys/fs/cgroup/pids/${prefix}/${sandbox.id}`));
  const countersBefore = readCounters(pids);
  const cpuBefore = cpuOf();
  await sleep(5000);
  const idleCores = (cpuOf() - cpuBefore) / 5 / boxes.length;
  const wakeUps = [...activityBetween(countersBefore, readCounters(pids)).values()].reduce((sum, { wakeUps }) => sum + wakeUps, 0);
  report('capacity: idle CPU per sandbox with dockerd', idleCores * 100, '% of a core');
  report('capacity: idle wake-ups per sandbox with dockerd (all its processes)', wakeUps / 5 / boxes.length, '/s');
  let responsive = 0;
  for (const { reader } of boxes) if ((await reader.run('echo ok', { timeoutMs: 60_000 })).output.trim() === 'ok') responsive++;
  const tasks = boxes.reduce((sum, { sandbox }) => sum + Number(cgroupFile(sandbox, 'pids', 'pids.current')), 0);
  const charged = boxes.reduce((sum, { sandbox }) => sum + Number(cgroupFile(sandbox, 'memory', 'memory.usage_in_bytes')), 0);
  // MemAvailable moves with everything else on a shared host: never count less than what the cgroups hold.
  const perSandbox = Math.max(used, charged) / boxes.length;
  report('capacity: host MemAvailable drop per sandbox with dockerd', used / boxes.length / MIB, 'MiB');
  report('capacity: memory charged per sandbox with dockerd', charged / boxes.length / MIB, 'MiB');
  const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  report('capacity: sandboxes with dockerd started', boxes.length);
  if (failure) report('capacity: stopped by', JSON.stringify(failure));
  report('capacity: sandboxes answering a command', responsive);
  reportTimings(`create to first prompt while ${boxes.length} run`, startMs.slice(-10));
  report('capacity: memory counted per sandbox with dockerd', perSandbox / MIB, 'MiB');
  report('capacity: tasks per sandbox with dockerd', tasks / boxes.length);
  const byMemory = Math.floor((memAvailable() + used) / perSandbox);
  const byPids = Math.floor(pidMax / (tasks / boxes.length));
  report('capacity: extrapolated by memory', byMemory, 'sandboxes');
  report(`capacity: extrapolated by pid_max (${pidMax})`, byPids, 'sandboxes');
  // Idle daemons alone would fill every core at this count (nobody typing yet).
  const byCpu = Math.floor(availableParallelism() / idleCores);
  report(`capacity: extrapolated by idle CPU (${availableParallelism()} cores)`, byCpu, 'sandboxes');
  report("capacity: extrapolated (the smallest, and the driver's maxSandboxes)", Math.min(byMemory, byPids, byCpu, driver.options.maxSandboxes), 'sandboxes');
  const stopping = performance.now();
  await Promise.all(boxes.map(({ sandbox }) => destroy(sandbox)));
  report(`destroy ${boxes.length} at once`, performance.now() - stopping, 'ms');
}

// `node bench/sandbox.bench.ts capacity` runs only the named parts.
const parts: Record<string, () => Promise<void>> = {
  startup: async () => {
    await startupAndDestroy(false);
    await startupAndDestroy(true);
  },
  memory: async () => {
    await idleMemory(false, 10);
    await idleMemory(true, 10);
  },
  cpu: cpuQuota,
  forkbomb: forkBombRecovery,
  capacity,
};
const wanted = process.argv.slice(2);
try {
  await driver.checkHost();
  await driver.prepare(() => {});
  for (const [name, part] of Object.entries(parts)) if (wanted.length === 0 || wanted.includes(name)) await part();
} finally {
  await destroyAll();
}
