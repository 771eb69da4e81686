// Node's process metrics for /metrics, without the timer that kept an idle
// server awake.
//
// prom-client's collectDefaultMetrics samples event-loop delay with
// monitorEventLoopDelay at a 10 ms resolution: a libuv timer firing ≈ 100
// times a second for ever. On this kind of host each wake-up of a Node
// process costs ≈ 200–400 µs of CPU, and it lands between a reader's
// keystroke and its echo (measured with echo probes: server wake-ups per
// typed key 5.9 → 3.0 without it). So this file registers prom-client's
// default metrics one by one, all but that one, and gives the operator two
// event-loop figures that cost (nearly) nothing while nobody types:
//
// - nodejs_eventloop_active_seconds_total: time the loop spent running
//   callbacks rather than waiting for events, read at scrape time from
//   performance.eventLoopUtilization() — no timer, every millisecond
//   counted. rate() over a window is the loop's utilisation: near 1, every
//   reader's keystrokes queue behind each other's. This is what says the
//   server is saturated.
// - nodejs_eventloop_lag_*_seconds (prom-client's names, so existing
//   dashboards keep working): how late a probe that fires once a second ran,
//   over the probes since the previous scrape. It sees every stall of a
//   second or more and a 100 ms stall one time in ten: enough to show long
//   synchronous work (a big synchronous read, an SQLite write) over a few
//   scrapes; GC pauses are counted exactly in nodejs_gc_duration_seconds.
//   Node records the interval between firings, not the delay: the second is
//   taken off here (prom-client's gauges at 10 ms always read ≥ 10 ms).
import { createRequire } from 'node:module';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Counter, Gauge, type Registry, collectDefaultMetrics } from 'prom-client';

/** How often the loop-delay probe fires: one wake-up a second. */
export const LAG_PROBE_MS = 1000;

type DefaultMetric = (registry: Registry, config: object) => void;

// prom-client registers each default metric from its own module (lib/metrics/<name>.js, listed in metricsList);
// eventLoopLag is the one with the timer. A prom-client whose layout changed fails here at start, loudly.
const require = createRequire(import.meta.url);
const defaultMetricsButLag = collectDefaultMetrics.metricsList
  .filter((name) => name !== 'eventLoopLag')
  .map((name) => require(`prom-client/lib/metrics/${name}.js`) as DefaultMetric);

export function registerProcessMetrics(registry: Registry): void {
  for (const register of defaultMetricsButLag) register(registry, {});
  registerEventLoopMetrics(registry);
}

function registerEventLoopMetrics(registry: Registry): void {
  const registers = [registry];
  const start = performance.eventLoopUtilization();
  new Counter({
    name: 'nodejs_eventloop_active_seconds_total',
    help: 'Time the event loop spent running callbacks (not waiting for events) since the server started; its rate() is the loop utilisation (near 1: saturated, keystrokes wait).',
    registers,
    collect() {
      this.reset();
      this.inc(performance.eventLoopUtilization(start).active / 1000);
    },
  });

  const probe = monitorEventLoopDelay({ resolution: LAG_PROBE_MS });
  probe.enable();
  const lateSeconds = (intervalNs: number) => Math.max(0, intervalNs / 1e9 - LAG_PROBE_MS / 1000);
  const gauges = {
    min: () => lateSeconds(probe.min),
    max: () => lateSeconds(probe.max),
    mean: () => lateSeconds(probe.mean),
    stddev: () => probe.stddev / 1e9,
    p50: () => lateSeconds(probe.percentile(50)),
    p90: () => lateSeconds(probe.percentile(90)),
    p99: () => lateSeconds(probe.percentile(99)),
  };
  // As prom-client did: the time from a scrape to the loop's next check phase, shown at the next scrape.
  let lastLag = 0;
  new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'Time from the previous scrape to the event loop running its next immediate callback.',
    registers,
    collect() {
      this.set(lastLag);
      const asked = process.hrtime.bigint();
      setImmediate(() => (lastLag = Number(process.hrtime.bigint() - asked) / 1e9));
      // No probe since the previous scrape (scrapes less than a second apart): the gauges keep their values.
      if (probe.count > 0) for (const [key, read] of Object.entries(gauges)) lag[key]!.set(read());
      probe.reset();
    },
  });
  // Registered after the gauge above, whose collect() sets them: a scrape shows this scrape's values.
  const lag = Object.fromEntries(
    Object.keys(gauges).map((key) => [
      key,
      new Gauge({
        name: `nodejs_eventloop_lag_${key}_seconds`,
        help: `How late a once-a-second event-loop probe fired, ${key} over the probes since the previous scrape.`,
        registers,
      }),
    ]),
  );
}
