// Where a keystroke's echo goes, hop by hop, on the real path (a probe, not a
// benchmark: `node bench/perf/echo-hops.ts`). Each stage adds one hop to the
// one before, so the differences between stages are the hops' costs:
//   host pty            bash in a host node-pty, in this process;
//   bare ws             the same behind a plain `ws` server (the perf baseline);
//   agent socket        a real machine's agent, spoken to straight over its
//                       unix socket (no server code): the machine's cgroups,
//                       namespaces, seccomp, the agent's Node and its pty;
//   driver stream       the same machine through the driver (AgentSession,
//                       HostTerminal), still in this process;
//   server              the whole public path (WebSocket → server → agent),
//                       as the perf benchmark takes it (warm pool of one).
// For the machine stages it also prints, per key, how long the agent, the
// shell and the server waited on a run queue after being woken
// (/proc/PID/schedstat), how often they ran, and whether the machine's cpu
// group was throttled by its CFS quota meanwhile (cpu.stat).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { percentile } from '../stats.ts';
import { echoSamples, type EchoTarget } from './echo.ts';
import { BareClient, spawnBareShell, startBareServer } from './bare-terminal.ts';
import { DOCKER_CPU_GROUP } from '../../sandbox-server/agent/docker-cpu.ts';
import { FLOW_ACK_EVERY_BYTES } from '../../contracts/wire.ts';
import { FrameDecoder, FrameKind, encodeControl, encodeData } from '../../contracts/agent-protocol.ts';
import { DEFAULT_LIMITS, createNamespaceDriver } from '../../sandbox-server/src/drivers/namespace/index.ts';
import { resolveOptions } from '../../sandbox-server/src/drivers/namespace/options.ts';
import { SandboxDirs } from '../../sandbox-server/src/drivers/namespace/sandbox-state.ts';
import { startServer } from '../../tests/support/server.ts';
import { attachTerminal, createSandbox, deleteSandbox } from '../../tests/support/server-client.ts';

const KEYS = Number(process.env.PERF_KEYS ?? 600);
/** Pause between keys (0: back to back; 25: the perf bench's typing pace). */
const GAP_MS = Number(process.env.PERF_TYPING_GAP_MS ?? 0);
const STAGES = new Set((process.env.HOPS ?? 'pty,bare,agent,driver,server').split(','));
const PROMPT = /[$#] (\x1b\]133;B\x07)?$/;

function show(stage: string, samples: number[], extra = ''): void {
  const fixed = (value: number) => value.toFixed(3);
  console.log(
    `${stage.padEnd(16)} p50 ${fixed(percentile(samples, 50))} ms  p90 ${fixed(percentile(samples, 90))}  p99 ${fixed(percentile(samples, 99))}  max ${fixed(Math.max(...samples))}  (${samples.length} keys)${extra}`,
  );
}

/** A byte source that remembers its text, so a prompt can be waited for. */
function listenable() {
  const listeners = new Set<(chunk: Buffer) => void>();
  let text = '';
  return {
    push(chunk: Buffer) {
      text = (text + chunk.toString('latin1')).slice(-4096);
      for (const listener of listeners) listener(chunk);
    },
    onData(listener: (chunk: Buffer) => void) {
      listeners.add(listener);
      return { dispose: () => listeners.delete(listener) };
    },
    async prompt() {
      const deadline = Date.now() + 30_000;
      while (!PROMPT.test(text)) {
        if (Date.now() > deadline) throw new Error(`no prompt within 30 s; got ${JSON.stringify(text.slice(-200))}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
  };
}

// ── what the kernel says about the processes on the path ───────────────────

interface Sched {
  waitNs: number;
  runNs: number;
  slices: number;
  /** Times run and CPU time (ns), by thread name (which of a process's threads wake per key, and what they cost). */
  byThread: Map<string, { runs: number; runNs: number }>;
}
/** Run-queue wait, CPU time and times run, summed over the process's threads. */
function sched(pid: number): Sched {
  const total: Sched = { waitNs: 0, runNs: 0, slices: 0, byThread: new Map() };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let fields: number[];
    let name: string;
    try {
      fields = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      continue; // the thread ended meanwhile
    }
    const [run, wait, count] = fields;
    total.runNs += run!;
    total.waitNs += wait!;
    total.slices += count!;
    const thread = total.byThread.get(name) ?? { runs: 0, runNs: 0 };
    total.byThread.set(name, { runs: thread.runs + count!, runNs: thread.runNs + run! });
  }
  return total;
}
function throttling(cgroup: string): { throttled: number; throttledNs: number } {
  const text = readFileSync(join('/sys/fs/cgroup/cpu', cgroup, 'cpu.stat'), 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { throttled: field('nr_throttled'), throttledNs: field('throttled_time') };
}
/** Watches `pids` and the cpu group `cgroup` over one stage; `done()` says what each cost per key. */
function watch(pids: Record<string, number>, cgroup: string | undefined): { done(keys: number): string } {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, sched(pid)]));
  const throttledBefore = cgroup ? throttling(cgroup) : undefined;
  const dockerBefore = cgroup && existsSync(join('/sys/fs/cgroup/cpu', cgroup, DOCKER_CPU_GROUP)) ? throttling(`${cgroup}/${DOCKER_CPU_GROUP}`) : undefined;
  return {
    done(keys) {
      const parts = Object.entries(pids).map(([name, pid]) => {
        const after = sched(pid);
        const then = before[name]!;
        const waitUs = (after.waitNs - then.waitNs) / keys / 1000;
        const cpuUs = (after.runNs - then.runNs) / keys / 1000;
        const runs = (after.slices - then.slices) / keys;
        const threads = [...after.byThread]
          .map(([thread, { runs, runNs }]) => {
            const earlier = then.byThread.get(thread) ?? { runs: 0, runNs: 0 };
            return [thread, (runs - earlier.runs) / keys, (runNs - earlier.runNs) / keys / 1000] as const;
          })
          .filter(([, perKey]) => perKey >= 0.05)
          .map(([thread, perKey, cpu]) => `${thread} ${perKey.toFixed(1)}× ${cpu.toFixed(0)} µs`)
          .join(', ');
        return `${name}: cpu ${cpuUs.toFixed(1)} µs/key, waited ${waitUs.toFixed(1)} µs/key, ran ${runs.toFixed(1)}×/key (${threads})`;
      });
      if (cgroup && throttledBefore) {
        const after = throttling(cgroup);
        parts.push(
          `machine throttled ${after.throttled - throttledBefore.throttled}× for ${((after.throttledNs - throttledBefore.throttledNs) / 1e6).toFixed(1)} ms`,
        );
      }
      if (dockerBefore && cgroup) {
        const after = throttling(`${cgroup}/${DOCKER_CPU_GROUP}`);
        parts.push(
          `its Docker group throttled ${after.throttled - dockerBefore.throttled}× for ${((after.throttledNs - dockerBefore.throttledNs) / 1e6).toFixed(1)} ms`,
        );
      }
      return parts.map((part) => `\n${' '.repeat(17)}${part}`).join('');
    },
  };
}

/** The cpu settings on the way from the root group to the machine's terminals. */
function cpuSettings(prefix: string, id: string): string {
  const read = (dir: string, file: string) => readFileSync(join('/sys/fs/cgroup/cpu', dir, file), 'utf8').trim();
  return [prefix, `${prefix}/${id}`, `${prefix}/${id}/terminals`]
    .map((dir) => `${dir}: shares ${read(dir, 'cpu.shares')}, quota ${read(dir, 'cpu.cfs_quota_us')}/${read(dir, 'cpu.cfs_period_us')} µs`)
    .join('; ');
}

/** The host pids of a machine's agent and of the shell of its terminal `name`. */
function machinePids(prefix: string, id: string, name: string): { agent: number; shell: number } {
  const procs = (dir: string) =>
    readFileSync(join('/sys/fs/cgroup/pids', dir, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(Number);
  // On the echo path: the agent's terminal keeper (terminal-keeper.c), or the Node agent itself before it.
  const named = (comm: string) => procs(`${prefix}/${id}`).find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm);
  const agent = named('terminal-keeper') ?? named('sandbox-agent');
  const shell = procs(`${prefix}/${id}/terminals/${name}`).find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'bash');
  if (!agent || !shell) throw new Error(`machine ${id}: agent ${agent}, shell ${shell} not found`);
  return { agent, shell };
}

// ── the stages ──────────────────────────────────────────────────────────────

async function hostPty(): Promise<void> {
  const shell = spawnBareShell();
  const source = listenable();
  shell.onData((chunk: string | Buffer) => source.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)));
  await source.prompt();
  const watching = watch({ shell: shell.pid, self: process.pid }, undefined);
  const samples = await echoSamples({ type: (key) => shell.write(key), onData: source.onData }, KEYS, GAP_MS);
  show('host pty', samples, watching.done(KEYS));
  shell.kill();
}

async function bareWs(): Promise<void> {
  const server = await startBareServer();
  const client = await BareClient.connect(server.url);
  await client.waitForPrompt();
  show('bare ws', await echoSamples(client, KEYS, GAP_MS));
  await client.close();
  await server.close();
}

/** Speaks the agent protocol over `socket` and opens terminal `name`. */
async function rawAgentTerminal(socket: net.Socket, name: string): Promise<EchoTarget & { prompt(): Promise<void> }> {
  const decoder = new FrameDecoder();
  const source = listenable();
  let channel = 0;
  const opened = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        if (frame.kind === FrameKind.Opened) resolve();
        else if (frame.kind === FrameKind.Error) reject(new Error(frame.payload.toString()));
        else if (frame.kind === FrameKind.Data && frame.channel === channel) source.push(frame.payload);
      }
    });
  });
  channel = 900;
  socket.write(encodeControl(FrameKind.Open, channel, { name, cols: 120, rows: 40 }));
  await opened;
  return { type: (key) => socket.write(encodeData(channel, Buffer.from(key))[0]!), onData: source.onData, prompt: source.prompt };
}

async function machineStages(): Promise<void> {
  const options = resolveOptions({ log: () => {} });
  const first = createNamespaceDriver({ log: () => {} });
  await first.prepare(() => {});
  const id = `probe-echo-${process.pid}`;
  // As the server makes them (dockerd inside), so the machine is as busy as a reader's.
  const spec = { id, limits: DEFAULT_LIMITS, docker: true };
  const sandbox = await first.create(spec);
  try {
    await new Promise((resolve) => setTimeout(resolve, 3000)); // dockerd settles
    console.log(`cpu groups: ${cpuSettings(options.prefix, id)}`);
    if (STAGES.has('agent')) {
      // Let the driver go (the machine keeps running) and talk to its agent ourselves.
      await sandbox.detach();
      const socket = net.connect(new SandboxDirs(options.stateDir, id).socket);
      await new Promise((resolve) => socket.once('connect', resolve));
      const terminal = await rawAgentTerminal(socket, 'raw');
      await terminal.prompt();
      const pids = machinePids(options.prefix, id, 'raw');
      const watching = watch(pids, `${options.prefix}/${id}`);
      show('agent socket', await echoSamples(terminal, KEYS, GAP_MS), watching.done(KEYS));
      socket.destroy();
    }
  } finally {
    const second = createNamespaceDriver({ log: () => {} });
    await second.prepare(() => {});
    const again = STAGES.has('agent') ? await second.adopt(spec) : sandbox;
    try {
      if (STAGES.has('driver')) {
        const stream = await again.openTerminal('drv', { cols: 120, rows: 40 });
        const source = listenable();
        stream.onData((chunk) => source.push(chunk));
        await source.prompt();
        const pids = machinePids(options.prefix, id, 'drv');
        const watching = watch({ ...pids, self: process.pid }, `${options.prefix}/${id}`);
        show('driver stream', await echoSamples({ type: (key) => stream.write(key), onData: source.onData }, KEYS, GAP_MS), watching.done(KEYS));
      }
    } finally {
      await again.destroy();
    }
  }
}

/**
 * The whole path, as bench/perf.bench.ts measures it: a server with a warm
 * pool of one, whose machine is taken and typed into at once (its Docker
 * daemon may still be starting, and the pool refills meanwhile).
 */
async function wholePath(): Promise<void> {
  const options = resolveOptions({ log: () => {} });
  const server = await startServer({ env: { WARM_POOL_SIZE: '1', LOG_LEVEL: 'info' } });
  try {
    const deadline = Date.now() + 120_000;
    while ((await server.metric('sandboxes_active', { kind: 'pool' })) < 1) {
      if (Date.now() > deadline) throw new Error('the warm pool made no machine within 120 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sandbox = await createSandbox(server);
    const { client, reader } = await attachTerminal(server, sandbox, '1', {
      ackEveryBytes: process.env.HOPS_ACK_EVERY_CHUNK === '1' ? 0 : FLOW_ACK_EVERY_BYTES,
    });
    await reader.waitForPrompt();
    const pids = machinePids(options.prefix, sandbox.id, '1');
    const watching = watch({ ...pids, server: server.process.pid! }, `${options.prefix}/${sandbox.id}`);
    show('server', await echoSamples(client, KEYS, GAP_MS), watching.done(KEYS));
    await client.close();
    await deleteSandbox(server, sandbox);
  } finally {
    await server.stop();
  }
}

console.log(`load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
if (STAGES.has('pty')) await hostPty();
if (STAGES.has('bare')) await bareWs();
if (STAGES.has('agent') || STAGES.has('driver')) await machineStages();
if (STAGES.has('server')) await wholePath();
console.log(`load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
