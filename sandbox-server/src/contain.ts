// Failure containment. A failure belongs to one connection or one machine:
// it is logged with their ids, counted, and that connection or machine is
// told (an error frame, a close code); nothing else notices. These helpers
// wrap the places where an exception would otherwise reach the event loop
// (listeners of sockets, timers, driver and agent callbacks) and end the
// process with every reader's machine.
import type { Logger } from './log.ts';

/** Where a contained failure happened, for logs and the metric's label. */
export type FailureSite =
  | 'terminal-socket'
  | 'websocket-upgrade'
  | 'agent-session'
  | 'sandbox-callback'
  | 'manager'
  | 'uncaught-exception'
  | 'unhandled-rejection';

export interface FailureCounter {
  inc(labels: { site: FailureSite }): void;
}

/** Logs a contained failure with `fields` (the ids that matter) and counts it. */
export function reportFailure(log: Logger, counter: FailureCounter | undefined, site: FailureSite, error: unknown, fields: Record<string, unknown> = {}): void {
  counter?.inc({ site });
  try {
    log.error({ ...fields, site, err: error }, `contained failure (${site}): ${describeError(error)}`);
  } catch {
    // A logger that throws (a value that cannot be serialised…) must not make things worse.
    process.stderr.write(`contained failure (${site}): ${describeError(error)}\n`);
  }
}

/** `listener` that never throws: a failure is reported, then `onFailure` (close the one connection concerned, say) runs. */
export function contained<A extends unknown[]>(
  log: Logger,
  counter: FailureCounter | undefined,
  site: FailureSite,
  fields: Record<string, unknown>,
  listener: (...args: A) => void,
  onFailure?: (error: unknown) => void,
): (...args: A) => void {
  return (...args: A) => {
    try {
      listener(...args);
    } catch (error) {
      reportFailure(log, counter, site, error, fields);
      try {
        onFailure?.(error);
      } catch (second) {
        reportFailure(log, counter, site, second, { ...fields, during: 'failure handling' });
      }
    }
  };
}

/** For `void promise.catch(…)`: a background task's failure is reported, not left unhandled. */
export function reportRejection(
  log: Logger,
  counter: FailureCounter | undefined,
  site: FailureSite,
  fields: Record<string, unknown> = {},
): (error: unknown) => void {
  return (error) => reportFailure(log, counter, site, error, fields);
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
