// The « Vue des namespaces », measured:
// - one snapshot in the agent (its own time, as it reports it, the round
//   trip from the host, and the bytes of the SnapshotDone frame), in a
//   machine of 10 and of 300 processes;
// - what an open panel receives through the real server: the first whole
//   snapshot, then bytes per second while the machine is idle, while a
//   command runs (and starts a process a second), and per command typed.
// Run as root: `npm run bench -- namespaces`. Prints `name: value unit` lines (bench/stats.ts).
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Sandbox } from '../sandbox-server/src/drivers/driver.ts';
import { DEFAULT_LIMITS, createNamespaceDriver } from '../sandbox-server/src/drivers/namespace/index.ts';
import { MAX_SNAPSHOT_PROCESSES } from '../contracts/process-snapshot.ts';
import { NamespaceClient } from '../tests/support/namespace-client.ts';
import { startServer } from '../tests/support/server.ts';
import { attachTerminal, createSandbox, deleteSandbox } from '../tests/support/server-client.ts';
import { percentile, report, reportTimings } from './stats.ts';

const SAMPLES = Number(process.env.BENCH_RUNS ?? 20);
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 20_000);
/** The agent answers a request within 200 ms of the previous one from its cache: wait longer than that. */
const AGENT_THROTTLE_MS = 200;

async function snapshotCost(): Promise<void> {
  const driver = createNamespaceDriver({ log: (record) => record.level === 'error' && console.error(JSON.stringify(record)) });
  await driver.checkHost();
  await driver.prepare(() => {});
  const sandbox: Sandbox = await driver.create({ id: `bench-ns-${process.pid}`, limits: { ...DEFAULT_LIMITS, pids: 1024 }, docker: false });
  try {
    const terminal = await sandbox.openTerminal('1', { cols: 80, rows: 24 });
    await sleep(500);
    for (const target of [10, 300]) {
      const now = (await sandbox.processSnapshot!(MAX_SNAPSHOT_PROCESSES)).total;
      if (target > now) {
        // Started outside the terminals' cgroup (whose pids limit is lower), detached so exec returns at once.
        await sandbox.exec(['/bin/sh', '-c', `for i in $(seq ${target - now}); do setsid sleep 3600 </dev/null >/dev/null 2>&1 & done`]);
      }
      let total = 0;
      for (let attempt = 0; attempt < 100 && total < target; attempt++) {
        await sleep(AGENT_THROTTLE_MS + 10);
        total = (await sandbox.processSnapshot!(MAX_SNAPSHOT_PROCESSES)).total;
      }
      const costs: number[] = [];
      const rounds: number[] = [];
      let bytes = 0;
      for (let index = 0; index < SAMPLES; index++) {
        await sleep(AGENT_THROTTLE_MS + 10);
        const started = performance.now();
        const snapshot = await sandbox.processSnapshot!(MAX_SNAPSHOT_PROCESSES);
        rounds.push(performance.now() - started);
        costs.push(snapshot.costMs);
        bytes = Buffer.byteLength(JSON.stringify(snapshot));
        total = snapshot.total;
      }
      report(`snapshot ${target} processes: machine holds`, total, 'processes');
      reportTimings(`snapshot ${target} processes: agent time`, costs);
      reportTimings(`snapshot ${target} processes: round trip from the host`, rounds);
      report(`snapshot ${target} processes: frame payload`, bytes, 'bytes');
    }
    terminal.close();
  } finally {
    await sandbox.destroy();
  }
}

async function panelTraffic(): Promise<void> {
  const server = await startServer({ env: { SANDBOX_DOCKER: 'true', LOG_LEVEL: 'info' } });
  const sandbox = await createSandbox(server);
  try {
    const one = await attachTerminal(server, sandbox, '1');
    await one.reader.waitForPrompt();
    // The lesson's machine: dockerd up before anything is measured.
    await one.reader.run('for i in $(seq 150); do [ -S /run/docker.sock ] && break; sleep 0.2; done', { timeoutMs: 60_000 });
    await sleep(2_000);
    const view = await NamespaceClient.connect(server, sandbox);
    await view.waitFor((client) => client.picture !== undefined, 'a first snapshot');
    report('panel: first snapshot', view.receivedBytes, 'bytes');
    report('panel: processes described', view.picture!.processes.size);

    const rate = async (label: string, during: () => Promise<void>) => {
      const before = { bytes: view.receivedBytes, messages: view.messages.length };
      const started = performance.now();
      await during();
      const seconds = (performance.now() - started) / 1000;
      report(`panel: ${label}`, (view.receivedBytes - before.bytes) / seconds, 'bytes/s');
      report(`panel: ${label}, messages`, (view.messages.length - before.messages) / seconds, 'per s');
    };
    await rate('idle', () => sleep(PHASE_MS));
    const seconds = Math.round(PHASE_MS / 1000);
    await rate('a command running (a new process each second)', async () => {
      await one.reader.run(`for i in $(seq ${seconds}); do sleep 1; done`, { timeoutMs: PHASE_MS + 30_000 });
    });

    const perCommand: number[] = [];
    for (const command of ['hostname', 'sudo unshare --uts /bin/bash', 'hostname my.name.is.bob', 'hostname', 'exit', 'true']) {
      const before = view.receivedBytes;
      await one.reader.run(command, { timeoutMs: 30_000 });
      await sleep(1_000); // the refresh after the command's end
      perCommand.push(view.receivedBytes - before);
    }
    report('panel: per command typed p50', percentile(perCommand, 50), 'bytes');
    report('panel: per command typed max', Math.max(...perCommand), 'bytes');
    await view.close();
    await one.client.close();
  } finally {
    await deleteSandbox(server, sandbox);
    await server.stop();
  }
}

await snapshotCost();
await panelTraffic();
