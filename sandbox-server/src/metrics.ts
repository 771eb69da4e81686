// Prometheus metrics (text exposition at <base>metrics), on a registry of our
// own so tests and several servers in one process never share counters.
// Gauges that describe the current state are read from the manager at scrape
// time rather than kept in step by hand.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerProcessMetrics } from './event-loop-metrics.ts';

export interface MetricsState {
  sandboxes(): { assigned: number; pool: number; creating: number };
  terminals(): { open: number; attached: number; paused: number; unackedBytes: number; bufferedBytes: number };
}

export type DestroyReason =
  | 'delete'
  | 'idle'
  | 'max-age'
  | 'shutdown'
  | 'died'
  | 'out-of-memory'
  | 'lost'
  | 'misbehaved'
  | 'create-failed'
  | 'instructor'
  | 'revoked';
export type RejectReason =
  | 'unauthorized'
  | 'forbidden'
  | 'origin'
  | 'not-found'
  | 'gone'
  | 'host-capacity'
  | 'client-capacity'
  | 'terminal-capacity'
  | 'bad-request'
  | 'bad-frame'
  | 'shutting-down'
  | 'rate-limited';

export class Metrics {
  readonly registry = new Registry();
  readonly sandboxesCreated = new Counter({
    name: 'sandboxes_created_total',
    help: 'Sandboxes made by the driver, by what asked for them (pool: warm pool refill; request: a reader waiting).',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly sandboxesDestroyed = new Counter({
    name: 'sandboxes_destroyed_total',
    help: 'Sandboxes destroyed, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly sandboxesHandedOut = new Counter({
    name: 'sandboxes_handed_out_total',
    help: 'Sandboxes given to readers, by where they came from (pool or cold).',
    labelNames: ['from'] as const,
    registers: [this.registry],
  });
  readonly sandboxStartSeconds = new Histogram({
    name: 'sandbox_start_seconds',
    help: 'Time the driver took to create a sandbox.',
    labelNames: ['source'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });
  readonly terminalBytesIn = new Counter({
    name: 'terminal_bytes_in_total',
    help: 'Bytes of terminal input received from clients.',
    registers: [this.registry],
  });
  readonly terminalBytesOut = new Counter({
    name: 'terminal_bytes_out_total',
    help: 'Bytes of terminal output sent to clients (replays included).',
    registers: [this.registry],
  });
  readonly failuresContained = new Counter({
    name: 'failures_contained_total',
    help: 'Exceptions caught before they could end the process, by where (each one closed one connection or was logged with its ids).',
    labelNames: ['site'] as const,
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'requests_rejected_total',
    help: 'Requests and connections refused, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor(state: MetricsState) {
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    new Gauge({
      name: 'sandboxes_active',
      help: 'Sandboxes alive now, by kind (assigned to a reader, ready in the warm pool, being created).',
      labelNames: ['kind'] as const,
      registers: [this.registry],
      collect() {
        const now = state.sandboxes();
        this.set({ kind: 'assigned' }, now.assigned);
        this.set({ kind: 'pool' }, now.pool);
        this.set({ kind: 'creating' }, now.creating);
      },
    });
    gauge('terminals_open', 'Terminals open (a shell is running), attached or not.', () => state.terminals().open);
    gauge('terminals_attached', 'Terminals with a client connected.', () => state.terminals().attached);
    gauge('terminals_paused', 'Terminals paused by flow control.', () => state.terminals().paused);
    gauge('terminal_unacked_bytes', 'Output bytes sent to clients and not yet acknowledged, all terminals together.', () => state.terminals().unackedBytes);
    gauge(
      'terminal_buffered_bytes',
      'Output bytes held in server memory on their way to clients (coalescing + WebSocket send buffers), all terminals together.',
      () => state.terminals().bufferedBytes,
    );
    // Node's process metrics, without prom-client's 10 ms event-loop timer (see event-loop-metrics.ts).
    registerProcessMetrics(this.registry);
  }

  contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
