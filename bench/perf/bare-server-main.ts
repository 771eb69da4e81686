// The bare baseline's server (bench/perf/bare-terminal.ts) as a process of its
// own, as a real page and its server are: started by startBareServerProcess(),
// it prints its URL as one JSON line on stdout and stops when its stdin
// closes (its parent ended, however) or on SIGTERM, killing its shells.
import { startBareServer } from './bare-terminal.ts';

const server = await startBareServer();
let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server.close();
  process.exit(0);
}
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
