// Rate limits on credential checks, per remote address, as token buckets:
// every check takes a token from a generous bucket (a class behind one NAT
// shares an address), and every failed check one from a strict bucket, so
// guessing links is slow without slowing a class down. An empty bucket means
// "429, retry after N seconds" for that address — for failed attempts only:
// a valid link is never refused for what others behind its address did (one
// student guessing links behind the school's NAT must not lock the class out).

export interface BucketSpec {
  /** Tokens available at once. */
  burst: number;
  /** Tokens regained per second. */
  perSecond: number;
}

/** Every check: 400 at once, then 20 per second (a class of 100 behind one address polls well below). */
export const ALL_CHECKS: BucketSpec = { burst: 400, perSecond: 20 };
/** Failed checks: 20 at once, then one every 5 s (a mistyped link is retried a few times, not thousands). */
export const FAILED_CHECKS: BucketSpec = { burst: 20, perSecond: 0.2 };

/** Forget addresses whose buckets are full again; checked every this many calls. */
const SWEEP_EVERY = 1000;

interface Bucket {
  tokens: number;
  at: number;
}

class Buckets {
  readonly #spec: BucketSpec;
  readonly #byAddress = new Map<string, Bucket>();

  constructor(spec: BucketSpec) {
    this.#spec = spec;
  }

  #current(address: string, now: number): Bucket {
    const bucket = this.#byAddress.get(address) ?? { tokens: this.#spec.burst, at: now };
    bucket.tokens = Math.min(this.#spec.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#spec.perSecond);
    bucket.at = now;
    this.#byAddress.set(address, bucket);
    return bucket;
  }

  /** Seconds until a token is available (0: one is). */
  waitSeconds(address: string, now: number): number {
    const bucket = this.#current(address, now);
    return bucket.tokens >= 1 ? 0 : Math.ceil((1 - bucket.tokens) / this.#spec.perSecond);
  }

  take(address: string, now: number): void {
    this.#current(address, now).tokens -= 1;
  }

  sweep(now: number): void {
    for (const [address, bucket] of this.#byAddress) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.#spec.perSecond >= this.#spec.burst) this.#byAddress.delete(address);
    }
  }

  get size(): number {
    return this.#byAddress.size;
  }
}

export class CredentialRateLimiter {
  readonly #all: Buckets;
  readonly #failed: Buckets;
  readonly #now: () => number;
  #calls = 0;

  constructor(options: { all?: BucketSpec; failed?: BucketSpec; now?: () => number } = {}) {
    this.#all = new Buckets(options.all ?? ALL_CHECKS);
    this.#failed = new Buckets(options.failed ?? FAILED_CHECKS);
    this.#now = options.now ?? Date.now;
  }

  /**
   * Call before checking a credential from `address`: 0 means go ahead (a
   * token is taken), otherwise the seconds to wait (nothing is checked).
   */
  admit(address: string): number {
    const now = this.#now();
    if (++this.#calls % SWEEP_EVERY === 0) {
      this.#all.sweep(now);
      this.#failed.sweep(now);
    }
    const wait = Math.max(this.#all.waitSeconds(address, now), this.#failed.waitSeconds(address, now));
    if (wait > 0) return wait;
    this.#all.take(address, now);
    return 0;
  }

  /**
   * A credential from `address` was wrong: 0 if the attempt is within the
   * limits (it is counted), otherwise the seconds to wait (the answer is then
   * 429 instead of 403, and nothing more is counted).
   */
  failedAttempt(address: string): number {
    const now = this.#now();
    if (++this.#calls % SWEEP_EVERY === 0) {
      this.#all.sweep(now);
      this.#failed.sweep(now);
    }
    const wait = Math.max(this.#all.waitSeconds(address, now), this.#failed.waitSeconds(address, now));
    if (wait > 0) return wait;
    this.#all.take(address, now);
    this.#failed.take(address, now);
    return 0;
  }

  /** The check failed (unknown, revoked or expired credential). */
  failed(address: string): void {
    this.#failed.take(address, this.#now());
  }

  /** Addresses currently tracked (for tests of the sweep). */
  get tracked(): number {
    return Math.max(this.#all.size, this.#failed.size);
  }
}
