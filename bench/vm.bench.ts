// VM driver figures, through the driver API with real QEMU VMs:
// - which accelerator the host gives (KVM, or TCG emulation);
// - create → first prompt in terminal 1 (a few boots, one after the other);
// - a keystroke's echo through virtio-serial (p50/p95);
// - what one idle VM costs the host once dockerd runs: QEMU's RSS and PSS, CPU;
// - two VMs booting at once (2 cores here): create → both prompts;
// - destroy → QEMU gone.
// Prints `name: value unit` lines (bench/stats.ts).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createVmDriver } from '../sandbox-server/src/drivers/vm/index.ts';
import type { VmSandbox } from '../sandbox-server/src/drivers/vm/vm-sandbox.ts';
import { TerminalReader } from '../tests/support/terminal-reader.ts';
import { report, reportTimings } from './stats.ts';

const BOOTS = 3;
const KEYS = 100;
const LIMITS = { memoryBytes: 256 * 1024 * 1024, pids: 512, cpus: 1, diskBytes: 128 * 1024 * 1024 };
/** Let dockerd and the guest's page cache settle before measuring memory. */
const SETTLE_MS = 15_000;
const IDLE_WINDOW_MS = 10_000;

const driver = createVmDriver({ log: (record) => record.level === 'error' && console.error(JSON.stringify(record)) });
await driver.checkHost();
await driver.cleanupLeftovers();
await driver.prepare(() => {});
report('vm accelerator', driver.accelerator ?? 'unknown');
report('vm guest kernel', driver.guestKernelRelease ?? 'unknown');

const bootMs: number[] = [];
const destroyMs: number[] = [];
for (let run = 0; run < BOOTS; run++) {
  const started = performance.now();
  const sandbox = (await driver.create({ id: `bench-${randomBytes(3).toString('hex')}`, limits: LIMITS, docker: true })) as VmSandbox;
  try {
    const terminal = await sandbox.openTerminal('1', { cols: 120, rows: 40 });
    const reader = new TerminalReader(terminal, (text) => terminal.write(text));
    await reader.waitForPrompt({ timeoutMs: 120_000 });
    bootMs.push(performance.now() - started);

    if (run === 0) {
      const echoes: number[] = [];
      for (let i = 0; i < KEYS; i++) {
        const key = String.fromCharCode(97 + (i % 26));
        const from = reader.cursor.text;
        const sent = performance.now();
        terminal.write(key);
        await reader.waitFor(key, { from });
        echoes.push(performance.now() - sent);
        if (i % 40 === 39) terminal.write('\x15'); // Ctrl-U keeps the line short
      }
      terminal.write('\x15');
      await sleep(200);
      reportTimings('vm keystroke echo', echoes);

      await reader.run('for i in $(seq 600); do pidof dockerd >/dev/null && break; sleep 0.2; done', { timeoutMs: 120_000 });
      await sleep(SETTLE_MS);
      const pid = sandbox.qemuPid!;
      const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      const pss = Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
      report('vm guest memory', Math.max(LIMITS.memoryBytes, driver.options.minMemoryBytes) / 1024 / 1024, 'MiB');
      report('vm qemu rss idle with dockerd', rss / 1024, 'MiB');
      report('vm qemu pss idle with dockerd', pss / 1024, 'MiB');
      const before = await sandbox.usage();
      await sleep(IDLE_WINDOW_MS);
      const after = await sandbox.usage();
      report('vm qemu cpu time to boot and settle', before.cpuSeconds, 's');
      report('vm idle cpu with dockerd', ((after.cpuSeconds - before.cpuSeconds) / (IDLE_WINDOW_MS / 1000)) * 100, '% of a core');
    }
  } finally {
    const stopping = performance.now();
    await sandbox.destroy();
    destroyMs.push(performance.now() - stopping);
  }
}
reportTimings('vm create to first prompt', bootMs);
reportTimings('vm destroy', destroyMs);

// Two readers arriving together.
{
  const started = performance.now();
  const sandboxes = await Promise.all([0, 1].map(() => driver.create({ id: `bench-${randomBytes(3).toString('hex')}`, limits: LIMITS, docker: true })));
  try {
    await Promise.all(
      sandboxes.map(async (sandbox) => {
        const terminal = await sandbox.openTerminal('1', { cols: 120, rows: 40 });
        await new TerminalReader(terminal).waitForPrompt({ timeoutMs: 180_000 });
      }),
    );
    report('vm 2 at once create to both prompts', performance.now() - started, 'ms');
  } finally {
    await Promise.all(sandboxes.map((sandbox) => sandbox.destroy()));
  }
}
