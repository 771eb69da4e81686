// Sandbox server figures, measured through the real server, the real
// namespace driver and a real WebSocket client, as a reader's browser would:
// - keystroke echo: one key in, its echo out (p50/p99 over 600 keys);
// - output throughput to a client that acknowledges as xterm would (MB/s);
// - create → first prompt through the API, cold and from the warm pool (p50/p95).
// Prints `name: value unit` lines (bench/stats.ts).
import { performance } from 'node:perf_hooks';
import { report, reportTimings } from './stats.ts';
import { startServer, type RunningServer } from '../tests/support/server.ts';
import { attachTerminal, createSandbox, deleteSandbox } from '../tests/support/server-client.ts';
import { createToPrompt, poolReady, type CreateTimings } from './perf/create-to-prompt.ts';
import { echoSamples } from './perf/echo.ts';

const KEYS = 600;
const FLOOD_BYTES = 32 * 1024 * 1024;
const CREATE_RUNS = 8;

async function echoLatency(server: RunningServer): Promise<void> {
  const sandbox = await createSandbox(server);
  const { client: terminal, reader } = await attachTerminal(server, sandbox, '1', { cols: 200, rows: 50 });
  try {
    await reader.waitForPrompt();
    reportTimings('keystroke echo', await echoSamples(terminal, KEYS), [50, 99]);
  } finally {
    await terminal.close();
    await deleteSandbox(server, sandbox);
  }
}

async function throughput(server: RunningServer): Promise<void> {
  const sandbox = await createSandbox(server);
  const { client: terminal, reader } = await attachTerminal(server, sandbox, '1');
  try {
    await reader.waitForPrompt();
    reader.dispose();
    terminal.keepOutput = false;
    const done = 'THROUGHPUT-DONE';
    const finished = new Promise<void>((resolve) => {
      let tail = '';
      const subscription = terminal.onData((chunk) => {
        // Keep a little of the previous chunk in case the marker straddles two frames.
        const window = tail + chunk.toString('latin1');
        tail = window.slice(-done.length);
        if (window.includes(done)) {
          subscription.dispose();
          resolve();
        }
      });
    });
    const before = terminal.receivedBytes;
    const started = performance.now();
    // The marker is split in the command so its echo does not match.
    terminal.type(`head -c ${FLOOD_BYTES} /dev/zero | base64; echo THROUGHPUT-""DONE\r`);
    await finished;
    const seconds = (performance.now() - started) / 1000;
    const bytes = terminal.receivedBytes - before;
    report('output throughput', bytes / seconds / 1e6, 'MB/s');
    report('output bytes', bytes, 'B');
    report('server rss after flood', (await server.metric('process_resident_memory_bytes')) / 2 ** 20, 'MiB');
  } finally {
    await terminal.close();
    await deleteSandbox(server, sandbox);
  }
}

function reportCreate(label: string, timings: CreateTimings): void {
  reportTimings(`create to first prompt (${label})`, timings.prompt);
  reportTimings(`create to terminal attached (${label})`, timings.attached);
}

async function main(): Promise<void> {
  const cold = await startServer({ env: { WARM_POOL_SIZE: '0', LOG_LEVEL: 'info' } });
  try {
    await echoLatency(cold);
    await throughput(cold);
    reportCreate('cold', await createToPrompt(cold, CREATE_RUNS, async () => {}));
  } finally {
    await cold.stop();
  }
  const warm = await startServer({ env: { WARM_POOL_SIZE: '1', LOG_LEVEL: 'info' } });
  try {
    reportCreate('warm pool', await createToPrompt(warm, CREATE_RUNS, () => poolReady(warm)));
  } finally {
    await warm.stop();
  }
}

await main();
