// Structured logs: one JSON object per line on standard output, with the ids
// that let you follow one reader (client), one sandbox and one terminal
// through the file. Child loggers carry those ids: log.child({ sandbox: id }).
// Every record passes the log's budget (log-budget.ts): long strings are cut
// and each message is rate-limited, whoever asks to write it.
import pino from 'pino';
import { LogBudget } from './log-budget.ts';

export type Logger = pino.Logger;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export function createLogger(level: LogLevel, destination: pino.DestinationStream = pino.destination({ dest: 1, sync: true })): Logger {
  let logger: Logger | undefined;
  const budget = new LogBudget((dropped) => logger?.warn({ dropped }, 'log records dropped (over the rate limit)'));
  logger = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names, not numbers, so the lines read well without pino-pretty.
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
      hooks: {
        logMethod(args, method) {
          const parts = [...args] as unknown[];
          const hasFields = typeof parts[0] === 'object' && parts[0] !== null && !(parts[0] instanceof Error);
          const msgAt = hasFields ? 1 : 0;
          const msg = parts[msgAt];
          if (!budget.admit(typeof msg === 'string' ? msg : '')) return;
          if (hasFields) parts[0] = budget.cutFields(parts[0] as Record<string, unknown>);
          if (typeof msg === 'string') parts[msgAt] = budget.cut(msg);
          method.apply(this, parts as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
  return logger;
}
