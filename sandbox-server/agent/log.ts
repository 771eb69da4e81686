// The agent's log: structured records, sent to the host over the protocol
// while connected (they end up in the server's log with the sandbox id), and
// written to stderr as JSON lines otherwise.
import type { LogRecord } from '../../contracts/agent-protocol.ts';

export type Level = LogRecord['level'];
export type Log = (level: Level, msg: string, fields?: Record<string, unknown>) => void;

export function createLog(): { log: Log; sendTo(sink: ((record: LogRecord) => void) | undefined): void } {
  let sink: ((record: LogRecord) => void) | undefined;
  const log: Log = (level, msg, fields = {}) => {
    const record: LogRecord = { ...fields, level, msg };
    if (sink) sink(record);
    else process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), source: 'agent', ...record })}\n`);
  };
  return { log, sendTo: (next) => (sink = next) };
}
