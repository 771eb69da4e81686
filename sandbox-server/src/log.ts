// Structured logs: one JSON object per line on standard output, with the ids
// that let you follow one reader (client), one sandbox and one terminal
// through the file. Child loggers carry those ids: log.child({ sandbox: id }).
import pino from 'pino';

export type Logger = pino.Logger;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export function createLogger(level: LogLevel, destination: pino.DestinationStream = pino.destination({ dest: 1, sync: true })): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names, not numbers, so the lines read well without pino-pretty.
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
}
