// The log's own defences, whatever writes to it: every string field is cut
// to a size (a request can carry 16 KiB of header, a machine a megabyte of
// frame), and each message has a budget of records per second, so that no
// flood of refusals (a foreign Origin on every request, a bad upgrade in a
// loop) can fill the disk or slow the server. What is over budget is
// counted, and one "N records dropped" record per interval says so.

export interface LogBudgetLimits {
  /** Records of one message written at once before the pace applies. */
  burst: number;
  /** Records of one message regained per second. */
  perSecond: number;
  /** Longest string kept in a field (or as the message). */
  maxStringChars: number;
  /** At most one summary of the dropped records per this many milliseconds. */
  summaryEveryMs: number;
}

export const LOG_BUDGET: LogBudgetLimits = { burst: 1000, perSecond: 100, maxStringChars: 2048, summaryEveryMs: 10_000 };

/** Messages tracked at once; past it the table starts again (messages are the code's own words, with few exceptions). */
const MAX_TRACKED = 2000;

interface Bucket {
  tokens: number;
  at: number;
  dropped: number;
}

export class LogBudget {
  readonly #limits: LogBudgetLimits;
  readonly #buckets = new Map<string, Bucket>();
  readonly #report: (dropped: Record<string, number>) => void;
  #timer: NodeJS.Timeout | undefined;

  /** `report` writes the summary of what was dropped (message → count). */
  constructor(report: (dropped: Record<string, number>) => void, limits: LogBudgetLimits = LOG_BUDGET) {
    this.#limits = limits;
    this.#report = report;
  }

  /** May a record with this message be written now? */
  admit(msg: string): boolean {
    const now = Date.now();
    let bucket = this.#buckets.get(msg);
    if (!bucket) {
      if (this.#buckets.size >= MAX_TRACKED) this.#forgetQuiet();
      bucket = { tokens: this.#limits.burst, at: now, dropped: 0 };
      this.#buckets.set(msg, bucket);
    }
    bucket.tokens = Math.min(this.#limits.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#limits.perSecond);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return true;
    }
    bucket.dropped++;
    this.#timer ??= setTimeout(() => this.flush(), this.#limits.summaryEveryMs);
    this.#timer.unref?.();
    return false;
  }

  /** Reports what was dropped since the last summary. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const dropped: Record<string, number> = {};
    for (const [msg, bucket] of this.#buckets) {
      if (bucket.dropped === 0) continue;
      dropped[this.cut(msg, 200)] = bucket.dropped;
      bucket.dropped = 0;
    }
    if (Object.keys(dropped).length > 0) this.#report(dropped);
  }

  /** A string cut to the limit, saying how much was left out. */
  cut(text: string, max = this.#limits.maxStringChars): string {
    return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters cut)`;
  }

  /** A record's fields with every string (one level down too) cut. */
  cutFields(fields: Record<string, unknown>): Record<string, unknown> {
    let changed: Record<string, unknown> | undefined;
    for (const [key, value] of Object.entries(fields)) {
      const cut = this.#cutValue(value, 1);
      if (cut === value) continue;
      changed ??= { ...fields };
      changed[key] = cut;
    }
    return changed ?? fields;
  }

  #cutValue(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return value.length > this.#limits.maxStringChars ? this.cut(value) : value;
    if (depth > 0 && Array.isArray(value)) {
      const items = value.slice(0, 100).map((item) => this.#cutValue(item, depth - 1));
      return value.length > 100 ? [...items, `… ${value.length - 100} more items cut`] : items.some((item, i) => item !== value[i]) ? items : value;
    }
    if (depth > 0 && value !== null && typeof value === 'object' && !(value instanceof Error) && Object.getPrototypeOf(value) === Object.prototype) {
      return this.cutFields(value as Record<string, unknown>);
    }
    return value;
  }

  #forgetQuiet(): void {
    for (const [msg, bucket] of this.#buckets) if (bucket.dropped === 0) this.#buckets.delete(msg);
    if (this.#buckets.size >= MAX_TRACKED) this.#buckets.clear();
  }
}
