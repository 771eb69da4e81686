// Node's process metrics on /metrics (sandbox-server/src/event-loop-metrics.ts):
// every family prom-client's default set has, without its 10 ms event-loop
// timer; the loop's busy time counted at scrape; and a once-a-second probe
// whose lag gauges say how late it ran (not the second between probes).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LAG_PROBE_MS } from '../../sandbox-server/src/event-loop-metrics.ts';
import { Metrics } from '../../sandbox-server/src/metrics.ts';
import { sumMetric } from '../support/server.ts';

const idleState = {
  sandboxes: () => ({ assigned: 0, pool: 0, creating: 0 }),
  terminals: () => ({ open: 0, attached: 0, paused: 0, unackedBytes: 0, bufferedBytes: 0 }),
};

const familyNames = (text: string) => new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((match) => match[1]!));

function busyFor(ms: number): void {
  for (const until = performance.now() + ms; performance.now() < until; );
}

describe("the server's process metrics", () => {
  it("has every family of prom-client's default set, and the loop's busy time", async () => {
    const ours = familyNames(await new Metrics(idleState).text());
    // prom-client's own set, on a registry of its own (its 10 ms timer runs in this test process only).
    const reference = new Registry();
    collectDefaultMetrics({ register: reference });
    for (const name of familyNames(await reference.metrics())) expect(ours).toContain(name);
    expect(ours).toContain('nodejs_eventloop_active_seconds_total');
    expect(ours).toContain('sandboxes_active');
  });

  it('counts the time the loop was kept busy, with no timer of its own', async () => {
    const metrics = new Metrics(idleState);
    const active = async () => sumMetric(await metrics.text(), 'nodejs_eventloop_active_seconds_total');
    const before = await active();
    busyFor(300);
    expect((await active()) - before).toBeGreaterThanOrEqual(0.29);
  });

  it('shows a loop blocked past the probe as lag, without the second between probes', async () => {
    const metrics = new Metrics(idleState);
    // Node times each probe from the previous one: the first only starts the clock. Once it ran, the loop is held
    // 1.5 s, so the next probe, due a second after the first, runs ≥ 0.5 s late.
    await new Promise((resolve) => setTimeout(resolve, LAG_PROBE_MS + 100));
    busyFor(1500);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the probe runs in this timers phase
    const text = await metrics.text();
    expect(sumMetric(text, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.4);
    expect(sumMetric(text, 'nodejs_eventloop_lag_max_seconds')).toBeLessThan(1.5);
  });

  it('lets an idle process sleep: a few wake-ups in 2 s, where a 10 ms timer makes ≈ 200', () => {
    // A fresh process with only the metrics in it, counting its main thread's sleeps (each one ends in a wake-up).
    const script = `
      import { readFileSync } from 'node:fs';
      import { Metrics } from ${JSON.stringify(fileURLToPath(new URL('../../sandbox-server/src/metrics.ts', import.meta.url)))};
      const switches = () => Number(/^voluntary_ctxt_switches:\\s+(\\d+)/m.exec(readFileSync('/proc/thread-self/status', 'utf8'))[1]);
      new Metrics({
        sandboxes: () => ({ assigned: 0, pool: 0, creating: 0 }),
        terminals: () => ({ open: 0, attached: 0, paused: 0, unackedBytes: 0, bufferedBytes: 0 }),
      });
      const before = switches();
      setTimeout(() => console.log(switches() - before), 2000);
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(run.stderr).toBe('');
    const wakeUps = Number(run.stdout.trim());
    expect(wakeUps).toBeGreaterThanOrEqual(1);
    expect(wakeUps).toBeLessThan(30);
  });
});
