// What idle machines cost the host while nobody types: the real server with
// IDLE_MACHINES (default 20) machines ready in its warm pool (each an agent
// and a started login shell; no dockerd unless IDLE_DOCKER=true), left alone,
// then measured over IDLE_WINDOWS windows of IDLE_WINDOW_S seconds:
// wake-ups per second (threads going back to sleep, from the kernel's
// per-thread counters, bench/idle/task-counters.ts) and CPU, of the server
// and of each machine (all its processes), and the whole host's CPU.
// Each wake-up of a Node process costs ≈ 200–400 µs of CPU on a nested VM
// and lands between some reader's keystroke and its echo: an idle machine
// should cost none. Prints medians over the windows, with the load average.
// Run as root: `npm run bench -- idle` (or `node bench/idle.bench.ts`).
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ACTIVE_WINDOW_MS } from '../sandbox-server/agent/terminal-groups.ts';
import { resolveOptions } from '../sandbox-server/src/drivers/namespace/options.ts';
import { startServer } from '../tests/support/server.ts';
import { activityBetween, hostCpu, processesInCgroup, readCounters } from './idle/task-counters.ts';
import { percentile, report } from './stats.ts';

const MACHINES = Number(process.env.IDLE_MACHINES ?? 20);
const WINDOWS = Number(process.env.IDLE_WINDOWS ?? 3);
const WINDOW_S = Number(process.env.IDLE_WINDOW_S ?? 10);
const DOCKER = process.env.IDLE_DOCKER === 'true';
/**
 * Long enough for start-up work (JIT, GC, the pool's last refill) to be over before measuring, and longer than the
 * agents' fork-bomb watch keeps checking after a terminal's use (the warm shell's prompt is one; ACTIVE_WINDOW_MS).
 */
const SETTLE_MS = ACTIVE_WINDOW_MS + 5000;
/** Where the figures are extrapolated to: the hosts this is for hold up to ≈ 200 machines. */
const HOST_MACHINES = 200;

const { prefix } = resolveOptions();
const server = await startServer({
  env: { WARM_POOL_SIZE: String(MACHINES), MAX_SANDBOXES: String(MACHINES), SANDBOX_DOCKER: String(DOCKER), LOG_LEVEL: 'info' },
});
process.on('SIGINT', () => void server.stop().finally(() => process.exit(130)));
try {
  const deadline = Date.now() + 10 * 60_000;
  while ((await server.metric('sandboxes_active', { kind: 'pool' })) < MACHINES || (await server.metric('sandboxes_active', { kind: 'creating' })) > 0) {
    if (Date.now() > deadline) throw new Error(`the warm pool did not reach ${MACHINES} machines in 10 minutes`);
    await sleep(500);
  }
  await sleep(SETTLE_MS);
  const ids = server.logs.filter((line) => line.msg === 'sandbox created').map((line) => String(line.sandbox));
  const serverPid = server.process.pid!;
  const figures = { serverWakeUps: [] as number[], serverCpu: [] as number[], machineWakeUps: [] as number[], agentWakeUps: [] as number[] };
  const perMachine = { cpu: [] as number[], host: [] as number[] };
  const byName = new Map<string, number[]>();
  const loads: number[] = [];
  for (let window = 0; window < WINDOWS; window++) {
    const machinePids = ids.flatMap((id) => processesInCgroup(`/sys/fs/cgroup/pids/${prefix}/${id}`));
    const machineCpu = () => ids.reduce((sum, id) => sum + cpuacct(`${prefix}/${id}`), 0);
    const before = { server: readCounters([serverPid]), machines: readCounters(machinePids), cpu: machineCpu(), host: hostCpu() };
    await sleep(WINDOW_S * 1000);
    const after = { server: readCounters([serverPid]), machines: readCounters(machinePids), cpu: machineCpu(), host: hostCpu() };
    loads.push(loadavg()[0]!);
    const serverActivity = activityBetween(before.server, after.server).get(serverPid)!;
    figures.serverWakeUps.push(serverActivity.wakeUps / WINDOW_S);
    figures.serverCpu.push((serverActivity.cpuSeconds / WINDOW_S) * 100);
    const machines = activityBetween(before.machines, after.machines);
    const names = new Map<string, number>();
    for (const { name, wakeUps } of machines.values()) names.set(name, (names.get(name) ?? 0) + wakeUps);
    for (const [name, wakeUps] of names) byName.set(name, [...(byName.get(name) ?? []), wakeUps / WINDOW_S / ids.length]);
    figures.machineWakeUps.push([...machines.values()].reduce((sum, { wakeUps }) => sum + wakeUps, 0) / WINDOW_S / ids.length);
    figures.agentWakeUps.push((names.get('sandbox-agent') ?? 0) / WINDOW_S / ids.length);
    perMachine.cpu.push(((after.cpu - before.cpu) / 1e9 / WINDOW_S / ids.length) * 100);
    perMachine.host.push(((after.host.busy - before.host.busy) / (after.host.total - before.host.total)) * 100);
  }
  const median = (values: number[]) => percentile(values, 50);
  const label = `${ids.length} idle machines${DOCKER ? ' with dockerd' : ''}`;
  report(`idle: load average (1 min) during the windows, ${label}`, `${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}`);
  report(`idle: server wake-ups, ${label}`, median(figures.serverWakeUps), '/s');
  report(`idle: server CPU, ${label}`, median(figures.serverCpu), '% of a core');
  report('idle: wake-ups per idle machine (all its processes)', median(figures.machineWakeUps), '/s');
  report('idle: wake-ups per idle machine, its agent', median(figures.agentWakeUps), '/s');
  for (const [name, values] of [...byName].sort()) if (name !== 'sandbox-agent') report(`idle: wake-ups per idle machine, ${name}`, median(values), '/s');
  report('idle: CPU per idle machine (cgroup)', median(perMachine.cpu), '% of a core');
  report(`idle: host CPU busy (all ${availableParallelism()} cores, everything on the host)`, median(perMachine.host), '%');
  const hostWakeUps = median(figures.serverWakeUps) + HOST_MACHINES * median(figures.machineWakeUps);
  report(`idle: wake-ups per second of a host with ${HOST_MACHINES} idle machines (extrapolated)`, hostWakeUps, '/s');
  report(
    `idle: CPU of ${HOST_MACHINES} idle machines and the server (extrapolated)`,
    median(figures.serverCpu) + HOST_MACHINES * median(perMachine.cpu),
    '% of a core',
  );
} finally {
  await server.stop();
}

function cpuacct(group: string): number {
  try {
    return Number(readFileSync(`/sys/fs/cgroup/cpuacct/${group}/cpuacct.usage`, 'utf8'));
  } catch {
    return 0;
  }
}
