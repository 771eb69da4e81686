// What a machine says that reaches the server's log: its init's and agent's
// output lines and the agent's Log frames. Root inside controls every byte of
// it, so:
// - its words are fields of a record the host writes (`msg` is ours, never
//   theirs), cut to a size, so a machine cannot forge a record, a level or
//   another sandbox's id;
// - each machine has its own budget (a token bucket of records); beyond it
//   records are counted, not written, and one "N records dropped" summary per
//   interval says how many.
import type { LogRecord, LogSink } from './driver-options.ts';

export interface MachineLogLimits {
  /** Records written at once before the pace applies. */
  burst: number;
  /** Records regained per second. */
  perSecond: number;
  /** Longest text kept of any one value. */
  maxValueChars: number;
  /** At most one "dropped" summary per this many milliseconds. */
  summaryEveryMs: number;
}

export const MACHINE_LOG_LIMITS: MachineLogLimits = { burst: 200, perSecond: 20, maxValueChars: 1024, summaryEveryMs: 10_000 };

type Level = LogRecord['level'];

export class MachineLog {
  readonly #sink: LogSink;
  readonly #fields: Record<string, unknown>;
  readonly #limits: MachineLogLimits;
  #tokens: number;
  #at = Date.now();
  #dropped = 0;
  #droppedTotal = 0;
  #summaryTimer: NodeJS.Timeout | undefined;

  /** `fields` (the sandbox id…) are the host's and are written last, so nothing from inside can replace them. */
  constructor(sink: LogSink, fields: Record<string, unknown>, limits: MachineLogLimits = MACHINE_LOG_LIMITS) {
    this.#sink = sink;
    this.#fields = fields;
    this.#limits = limits;
    this.#tokens = limits.burst;
  }

  /** Records refused so far, all kinds together. */
  get droppedTotal(): number {
    return this.#droppedTotal;
  }

  /**
   * One record about something the machine said. `msg` is the host's
   * wording; `words` are the machine's, written as fields after cutting.
   * Returns false when the record was dropped (over budget).
   */
  write(level: Level, msg: string, words: Record<string, unknown>): boolean {
    const now = Date.now();
    this.#tokens = Math.min(this.#limits.burst, this.#tokens + ((now - this.#at) / 1000) * this.#limits.perSecond);
    this.#at = now;
    if (this.#tokens < 1) {
      this.#dropped++;
      this.#droppedTotal++;
      this.#summaryTimer ??= setTimeout(() => this.flush(), this.#limits.summaryEveryMs);
      this.#summaryTimer.unref?.();
      return false;
    }
    this.#tokens -= 1;
    const cut: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(words)) cut[key] = this.#cut(value);
    this.#sink({ ...cut, level, msg, ...this.#fields });
    return true;
  }

  /** Writes the pending "dropped" summary now (also called when the machine goes away). */
  flush(): void {
    clearTimeout(this.#summaryTimer);
    this.#summaryTimer = undefined;
    if (this.#dropped === 0) return;
    const dropped = this.#dropped;
    this.#dropped = 0;
    this.#sink({ level: 'warn', msg: `${dropped} log records from the machine dropped (over its rate limit)`, dropped, ...this.#fields });
  }

  #cut(value: unknown): unknown {
    if (value === undefined || value === null || typeof value === 'number' || typeof value === 'boolean') return value;
    const text = typeof value === 'string' ? value : safeJson(value);
    const max = this.#limits.maxValueChars;
    return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters cut)`;
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
