// One machine's picture for the namespace panels open on it: asks the agent
// for a snapshot when a panel opens, shortly after a shell finishes a
// command or shows a prompt, every few seconds while a command runs, and
// rarely otherwise; sends each panel a whole snapshot first, then only what
// changed (nothing at all when nothing did). While no panel is open it does
// nothing: the watch is made for the first panel and stopped with the last.
//
// Bounded on both sides: one request in flight, never two within
// MIN_INTERVAL_MS, at most MAX_SNAPSHOT_PROCESSES described (the agent
// counts the rest); a panel whose socket is backed up is skipped and gets a
// whole snapshot once it has caught up.
import type { Disposable } from '../drivers/driver.ts';
import type { Logger } from '../log.ts';
import type { ShellActivity } from '../manager/shell-activity.ts';
import type { ErrorInfo, NamespaceServerMessage } from '../../../contracts/protocol.ts';
import { MAX_SNAPSHOT_PROCESSES, type ProcessSnapshot } from '../../../contracts/process-snapshot.ts';
import { diffProcesses } from './snapshot-diff.ts';

export interface NamespaceWatchTiming {
  /** Never two snapshot requests closer than this. */
  minIntervalMs: number;
  /** After a command's end (or a prompt): let its children settle, and coalesce commands typed in a row. */
  settleMs: number;
  /** While some terminal runs a command. */
  busyIntervalMs: number;
  /** Otherwise (dockerd starting, background jobs). */
  idleIntervalMs: number;
}

export const DEFAULT_TIMING: NamespaceWatchTiming = { minIntervalMs: 500, settleMs: 150, busyIntervalMs: 2_000, idleIntervalMs: 15_000 };

/** One open panel: where its messages go. */
export interface NamespacePanel {
  send(message: NamespaceServerMessage): void;
  /** Its connection holds too much unsent data: skip it this time. */
  congested(): boolean;
}

export interface NamespaceWatchOptions {
  machine: string;
  take(maxProcesses: number): Promise<ProcessSnapshot>;
  activity: ShellActivity;
  log: Logger;
  timing?: NamespaceWatchTiming;
}

interface PanelState {
  panel: NamespacePanel;
  seq: number;
  /** What it has been sent; undefined: it needs a whole snapshot. */
  has: ProcessSnapshot | undefined;
}

export class NamespaceWatch {
  readonly #options: NamespaceWatchOptions;
  readonly #timing: NamespaceWatchTiming;
  readonly #panels = new Set<PanelState>();
  #latest: { snapshot: ProcessSnapshot; at: string } | undefined;
  #activity: Disposable | undefined;
  #timer: NodeJS.Timeout | undefined;
  #dueAt = Number.POSITIVE_INFINITY;
  #inFlight = false;
  #again = false;
  #lastRequestAt = Number.NEGATIVE_INFINITY;
  #failures = 0;
  #stopped = false;

  constructor(options: NamespaceWatchOptions) {
    this.#options = options;
    this.#timing = options.timing ?? DEFAULT_TIMING;
  }

  get panels(): number {
    return this.#panels.size;
  }

  add(panel: NamespacePanel): Disposable {
    const state: PanelState = { panel, seq: 0, has: undefined };
    this.#panels.add(state);
    this.#activity ??= this.#options.activity.listen(({ kind }) => {
      this.#schedule(kind === 'started' ? this.#timing.busyIntervalMs : this.#timing.settleMs);
    });
    // Someone new is looking: show them the present, not the last picture.
    this.#schedule(0);
    return { dispose: () => this.#remove(state) };
  }

  /** Ends the watch (the sandbox is going away); panels are closed by their owner. */
  stop(): void {
    this.#stopped = true;
    this.#panels.clear();
    this.#quiet();
  }

  #remove(state: PanelState): void {
    this.#panels.delete(state);
    if (this.#panels.size === 0) this.#quiet();
  }

  #quiet(): void {
    this.#activity?.dispose();
    this.#activity = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#dueAt = Number.POSITIVE_INFINITY;
  }

  /** Asks for a snapshot in `delayMs` (or sooner if one is already due sooner), respecting the minimum interval. */
  #schedule(delayMs: number): void {
    if (this.#stopped || this.#panels.size === 0) return;
    if (this.#inFlight) {
      this.#again = true;
      return;
    }
    const now = performance.now();
    const at = Math.max(now + delayMs, this.#lastRequestAt + this.#timing.minIntervalMs);
    if (at >= this.#dueAt) return;
    clearTimeout(this.#timer);
    this.#dueAt = at;
    this.#timer = setTimeout(() => void this.#refresh(), Math.max(0, at - now));
    this.#timer.unref();
  }

  async #refresh(): Promise<void> {
    this.#timer = undefined;
    this.#dueAt = Number.POSITIVE_INFINITY;
    if (this.#stopped || this.#panels.size === 0) return;
    this.#inFlight = true;
    this.#lastRequestAt = performance.now();
    try {
      const snapshot = await this.#options.take(MAX_SNAPSHOT_PROCESSES);
      this.#failures = 0;
      this.#latest = { snapshot, at: new Date().toISOString() };
      this.#publish();
    } catch (error) {
      this.#failures++;
      this.#options.log.warn({ err: error, failures: this.#failures }, 'namespace snapshot failed');
      // Said once, not at every retry.
      if (this.#failures === 1) {
        this.#broadcastError({
          code: 'namespaces-failed',
          message: "La machine n'a pas pu décrire ses processus.",
          hint: "La vue se met à jour d'elle-même dès que la machine répond.",
        });
      }
    } finally {
      this.#inFlight = false;
    }
    if (this.#again) {
      this.#again = false;
      this.#schedule(0);
    } else {
      this.#schedule(this.#options.activity.busy ? this.#timing.busyIntervalMs : this.#timing.idleIntervalMs);
    }
  }

  #publish(): void {
    const latest = this.#latest;
    if (!latest) return;
    const { snapshot, at } = latest;
    const base = { machine: this.#options.machine, at, total: snapshot.total, omitted: snapshot.omitted, terminals: snapshot.terminals };
    for (const state of this.#panels) {
      if (state.panel.congested()) {
        state.has = undefined; // it will need everything once it has caught up
        continue;
      }
      if (state.has === undefined) {
        state.panel.send({ type: 'snapshot', seq: ++state.seq, ...base, processes: snapshot.processes });
      } else {
        const { upserted, removed } = diffProcesses(state.has.processes, snapshot.processes);
        const sameHeader =
          state.has.total === snapshot.total && sameJson(state.has.omitted, snapshot.omitted) && sameJson(state.has.terminals, snapshot.terminals);
        if (upserted.length === 0 && removed.length === 0 && sameHeader) continue;
        state.panel.send({ type: 'diff', seq: ++state.seq, ...base, upserted, removed });
      }
      state.has = snapshot;
    }
  }

  #broadcastError(error: ErrorInfo): void {
    for (const state of this.#panels) if (!state.panel.congested()) state.panel.send({ type: 'error', ...error });
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
