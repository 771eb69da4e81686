// When to try again after losing the connection: exponential backoff with a
// ceiling, and jitter so that a server restart does not see every reader
// come back in the same millisecond.

export interface BackoffOptions {
  /** Delay before the first retry. */
  initialMs?: number;
  factor?: number;
  maxMs?: number;
  /** Each delay is spread over ± this fraction of itself (0 = exact schedule). */
  jitter?: number;
  /** Random numbers in [0, 1). */
  random?: () => number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly factor: number;
  private readonly maxMs: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private failures = 0;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 500;
    this.factor = options.factor ?? 2;
    this.maxMs = options.maxMs ?? 10_000;
    this.jitter = options.jitter ?? 0.2;
    this.random = options.random ?? Math.random;
    if (!(this.initialMs > 0 && this.factor >= 1 && this.maxMs >= this.initialMs && this.jitter >= 0 && this.jitter < 1)) {
      throw new RangeError('Backoff needs initialMs > 0, factor >= 1, maxMs >= initialMs and 0 <= jitter < 1');
    }
  }

  /** Retries made since the last success. */
  get attempts(): number {
    return this.failures;
  }

  /** The delay before the next retry (and counts it). */
  next(): number {
    const exact = Math.min(this.maxMs, this.initialMs * this.factor ** this.failures);
    this.failures++;
    const spread = exact * this.jitter * (2 * this.random() - 1);
    return Math.round(Math.min(this.maxMs, Math.max(0, exact + spread)));
  }

  /** The connection works again: the next failure starts from the first delay. */
  reset(): void {
    this.failures = 0;
  }
}
