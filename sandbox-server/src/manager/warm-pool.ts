// Sandboxes made ahead of time so a reader gets one at once. The pool refills
// in the background one sandbox at a time, never while a reader is waiting
// for a sandbox of their own, and backs off after failures, so it never
// competes with readers for the host's few cores. Each pooled machine may
// hold a started shell (warm-shell.ts), its prompt already printed, which
// the reader who takes the machine adopts.
import type { Disposable, Sandbox } from '../drivers/driver.ts';
import type { Logger } from '../log.ts';
import type { WarmShell } from './warm-shell.ts';

/** A machine made ahead of time, and its started shell when it could start one. */
export interface PooledSandbox {
  sandbox: Sandbox;
  shell?: WarmShell | undefined;
}

export interface WarmPoolOptions {
  target: number;
  log: Logger;
  create(): Promise<PooledSandbox>;
  /** Whether the host has room for one more sandbox. */
  hasRoom(): boolean;
  /** Whether readers are waiting for sandboxes being made for them (then the pool waits). */
  readersWaiting(): boolean;
  /** A pooled sandbox died on its own or the pool is stopping: destroy it. */
  discard(sandbox: Sandbox, reason: 'died' | 'shutdown'): Promise<void>;
}

const FIRST_BACKOFF_MS = 2_000;
/**
 * After a reader takes a machine, the pool waits this long before making the
 * next one: making a machine takes a core for a while (crun, dockerd), and the
 * reader's first seconds (attach, first prompt, first keys) should not share it.
 */
export const REFILL_DELAY_MS = 2_000;
const MAX_BACKOFF_MS = 60_000;

interface Pooled extends PooledSandbox {
  exitSubscription: Disposable;
}

export class WarmPool {
  private readonly options: WarmPoolOptions;
  private readonly pooled: Pooled[] = [];
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  private backoffMs = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(options: WarmPoolOptions) {
    this.options = options;
  }

  get ready(): number {
    return this.pooled.length;
  }

  get creating(): number {
    return this.inFlight ? 1 : 0;
  }

  /** A ready sandbox, or undefined; starts a refill. */
  take(): PooledSandbox | undefined {
    const entry = this.pooled.shift();
    if (!entry) {
      this.wake();
      return undefined;
    }
    entry.exitSubscription.dispose();
    this.holdRefill(REFILL_DELAY_MS);
    return { sandbox: entry.sandbox, shell: entry.shell };
  }

  /** No refill for `ms` (the retry timer doubles as the hold: wake() waits for it). */
  private holdRefill(ms: number): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.wake();
    }, ms);
    this.retryTimer.unref();
  }

  /** Resolves when the sandbox being made now (if any) is ready or failed. */
  async settled(): Promise<void> {
    await this.inFlight;
  }

  /** Look whether a refill is due (call when room frees up or readers stop waiting). */
  wake(): void {
    if (this.stopped || this.inFlight || this.retryTimer) return;
    if (this.pooled.length >= this.options.target) return;
    if (!this.options.hasRoom() || this.options.readersWaiting()) return;
    this.inFlight = this.refillOne().finally(() => {
      this.inFlight = undefined;
      this.wake();
    });
  }

  /** Stop refilling and destroy every pooled sandbox (waits for one being made). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.inFlight;
    const entries = this.pooled.splice(0);
    await Promise.all(
      entries.map((entry) => {
        entry.exitSubscription.dispose();
        return this.options.discard(entry.sandbox, 'shutdown');
      }),
    );
  }

  private async refillOne(): Promise<void> {
    let made: PooledSandbox;
    try {
      made = await this.options.create();
    } catch (error) {
      this.backoffMs = this.backoffMs === 0 ? FIRST_BACKOFF_MS : Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
      this.options.log.error({ err: error, retryInMs: this.backoffMs }, 'warm pool could not make a sandbox');
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.wake();
      }, this.backoffMs);
      this.retryTimer.unref();
      return;
    }
    this.backoffMs = 0;
    const { sandbox, shell } = made;
    if (this.stopped) {
      await this.options.discard(sandbox, 'shutdown');
      return;
    }
    const entry: Pooled = {
      sandbox,
      shell,
      exitSubscription: sandbox.onExit((reason) => {
        const index = this.pooled.indexOf(entry);
        if (index < 0) return;
        this.pooled.splice(index, 1);
        this.options.log.warn({ sandbox: sandbox.id, reason }, 'pooled sandbox died');
        void this.options
          .discard(sandbox, 'died')
          .catch((error: unknown) => this.options.log.error({ sandbox: sandbox.id, err: error }, 'pooled sandbox clean-up failed'))
          .finally(() => this.wake());
      }),
    };
    this.pooled.push(entry);
    this.options.log.info({ sandbox: sandbox.id, ready: this.pooled.length, shell: shell !== undefined }, 'warm pool sandbox ready');
  }
}
