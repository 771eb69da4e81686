// The agent's log: structured records, sent to the host over the protocol
// while one is connected (they end up in the server's log with the sandbox
// id), and written to stderr as JSON lines otherwise.
import type { LogRecord } from '../../contracts/agent-protocol.ts';

export type Level = LogRecord['level'];
export type Log = (level: Level, msg: string, fields?: Record<string, unknown>) => void;

/** A sink returns false when it could not take the record (no host connected). */
export type LogSink = (record: LogRecord) => boolean;

export function createLog(): { log: Log; sendTo(sink: LogSink | undefined): void } {
  let sink: LogSink | undefined;
  // stderr is a pipe to the server that started the machine: once that server
  // is gone, writing to it fails (EPIPE), which must not end the agent.
  process.stderr.on('error', () => {});
  process.stdout.on('error', () => {});
  const log: Log = (level, msg, fields = {}) => {
    const record: LogRecord = { ...fields, level, msg };
    if (sink?.(record)) return;
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), source: 'agent', ...record })}\n`);
  };
  return { log, sendTo: (next) => (sink = next) };
}
