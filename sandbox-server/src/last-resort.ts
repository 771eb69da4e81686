// The process-level last resort, for a failure no handler caught. Every
// socket handler, agent-session and driver callback contains its own
// failures (contain.ts); reaching here means one path was missed, and the
// log line says which so it can be fixed.
//
// Keeping on serving is what protects the readers (their machines die with
// the process), and it is safe here because such a failure came from one
// event's callback: the other connections and machines were not half-way
// through anything. It stops being safe when failures come in a stream (a
// broken state that every event now trips over): past MAX_PER_WINDOW in
// WINDOW_MS the server shuts down gracefully instead, and the operator's
// supervisor (systemd) starts it again.
import { describeError, type FailureCounter } from './contain.ts';
import type { Logger } from './log.ts';

const WINDOW_MS = 60_000;
const MAX_PER_WINDOW = 10;

export interface LastResortOptions {
  log: Logger;
  counter?: FailureCounter;
  /** Too many failures in a row: stop serving (gracefully). */
  giveUp(reason: string): void;
}

export function installLastResort(options: LastResortOptions): { uninstall(): void } {
  const recent: number[] = [];
  let gaveUp = false;
  const note = (kind: 'uncaught-exception' | 'unhandled-rejection', error: unknown) => {
    options.counter?.inc({ site: kind });
    const now = Date.now();
    recent.push(now);
    while (recent.length > 0 && recent[0]! < now - WINDOW_MS) recent.shift();
    try {
      options.log.error(
        { site: kind, err: error, recentFailures: recent.length },
        `${kind} reached the process: ${describeError(error)} (kept serving; this path should contain its own failures)`,
      );
    } catch {
      process.stderr.write(`${kind}: ${describeError(error)}\n`);
    }
    if (!gaveUp && recent.length > MAX_PER_WINDOW) {
      gaveUp = true;
      options.giveUp(`${recent.length} uncaught failures within ${WINDOW_MS / 1000} s`);
    }
  };
  const onException = (error: unknown) => note('uncaught-exception', error);
  const onRejection = (reason: unknown) => note('unhandled-rejection', reason);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return {
    uninstall() {
      process.off('uncaughtException', onException);
      process.off('unhandledRejection', onRejection);
    },
  };
}
