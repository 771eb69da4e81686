// Starts the real sandbox server (`node sandbox-server/src/main.ts`, exactly
// what `npm run server` runs) on a free loopback port, reads its JSON-line
// logs, and stops it with SIGTERM like an operator would. Used by the
// server's integration tests, the benchmarks and the end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { resolveOptions } from '../../sandbox-server/src/drivers/namespace/options.ts';
import { namespaceLeftovers } from './namespace-leftovers.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(PROJECT_ROOT, 'sandbox-server', 'src', 'main.ts');

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface StartOptions {
  /**
   * Configuration variables (see sandbox-server/src/config.ts); PORT defaults
   * to 0, WARM_POOL_SIZE to 0, SANDBOXES_ON_EXIT to destroy (a test leaves
   * nothing behind) and SANDBOX_DB to a file of this server's own (a restart
   * test passes the same file to both servers).
   */
  env?: Record<string, string>;
  /** How long to wait for the "listening" line (the first start may build the root filesystem). */
  startTimeoutMs?: number;
  /** Run as this user and group instead of root (to see the server refuse an unfit host). */
  uid?: number;
  gid?: number;
}

/** The server exited (or never said "listening"); `output` holds what it printed. */
export class ServerStartError extends Error {
  override name = 'ServerStartError';
  readonly exitCode: number | null;
  readonly output: string;
  constructor(message: string, exitCode: number | null, output: string) {
    super(`${message}. Output:\n${output}`);
    this.exitCode = exitCode;
    this.output = output;
  }
}

export interface RunningServer {
  /** http://127.0.0.1:PORT/ (base path included). */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** Every log line so far, parsed. */
  readonly logs: LogLine[];
  /** Lines on stdout/stderr that were not JSON (crash traces…). */
  readonly rawOutput: string[];
  /** Bytes the server wrote to stdout and stderr so far (its log's size). */
  readonly logBytes: number;
  /** Resolves with the first log line (past or future) that matches. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Current value of a Prometheus metric, summed over series whose labels include `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** SIGTERM, then wait for exit (SIGKILL after `timeoutMs`). Safe to call twice. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start a server; rejects with its output if it exits or fails to listen. */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const ownDb = options.env?.SANDBOX_DB === undefined ? mkdtempSync(join(tmpdir(), 'sandbox-db-')) : undefined;
  const env = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    WARM_POOL_SIZE: '0',
    LOG_LEVEL: 'debug',
    SANDBOXES_ON_EXIT: 'destroy',
    ...(ownDb ? { SANDBOX_DB: join(ownDb, 'sandboxes.sqlite') } : {}),
    ...options.env,
  };
  if (env.LOG_LEVEL === 'warn' || env.LOG_LEVEL === 'error') {
    throw new Error(`startServer reads the server's "listening" line, logged at info: use LOG_LEVEL=info or debug, not ${env.LOG_LEVEL}`);
  }
  const child = spawn(process.execPath, [MAIN], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], uid: options.uid, gid: options.gid });
  const logs: LogLine[] = [];
  const rawOutput: string[] = [];
  const waiters = new Set<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  const onLine = (text: string) => {
    let line: LogLine | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null && 'msg' in parsed) line = parsed as LogLine;
    } catch {
      line = undefined;
    }
    if (!line) {
      rawOutput.push(text);
      return;
    }
    logs.push(line);
    for (const waiter of waiters) {
      if (waiter.match(line)) {
        waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  };
  let logBytes = 0;
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.on('data', (chunk: Buffer) => (logBytes += chunk.length));
    createInterface({ input: stream }).on('line', onLine);
  }
  // 'close', not 'exit': by then every line it printed has been read.
  const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  // The server's own records go with it (a test that keeps machines names its own file).
  if (ownDb) void exited.then(() => rmSync(ownDb, { recursive: true, force: true }));

  const waitForLog = (match: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> => {
    const past = logs.find(match);
    if (past) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (line: LogLine) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`No matching log line within ${timeoutMs} ms. Last lines:\n${tail(logs, rawOutput)}`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  };

  const listening = waitForLog((line) => line.msg === 'listening', options.startTimeoutMs ?? 300_000);
  const outcome = await Promise.race([listening, exited.then(([code, signal]) => ({ exit: { code, signal } }))]).catch((error: unknown) => ({ error }));
  if (!('msg' in outcome)) {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    const why = 'exit' in outcome ? `exited (${JSON.stringify(outcome.exit)})` : String((outcome as { error: unknown }).error);
    throw new ServerStartError(`The sandbox server did not start: it ${why}`, child.exitCode, tail(logs, rawOutput));
  }
  const url = String(outcome.url);
  const origin = new URL(url).origin;

  let stopping: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  const stop = (timeoutMs = 60_000) => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      }
      return { code: child.exitCode, signal: child.signalCode };
    })();
    return stopping;
  };

  return {
    url,
    origin,
    port: Number(new URL(url).port),
    process: child,
    logs,
    rawOutput,
    get logBytes() {
      return logBytes;
    },
    waitForLog,
    async metric(name, labels = {}) {
      const token = options.env?.METRICS_TOKEN;
      const response = await fetch(new URL('metrics', url), token ? { headers: { authorization: `Bearer ${token}` } } : {});
      return sumMetric(await response.text(), name, labels);
    },
    stop,
  };
}

/** Sum of the samples of `name` whose labels include `labels`, from Prometheus text. */
export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) total += Number(match[4]);
  }
  return total;
}

function tail(logs: LogLine[], raw: string[]): string {
  return [...logs.slice(-15).map((line) => JSON.stringify(line)), ...raw.slice(-15)].join('\n');
}

/** Ids of every sandbox the server's driver made, from its log. */
export function createdSandboxIds(server: Pick<RunningServer, 'logs'>): string[] {
  return server.logs.filter((line) => line.msg === 'sandbox created').map((line) => String(line.sandbox));
}

/**
 * What the server's sandboxes left on the host (processes, cgroups, mounts,
 * crun containers, state, uid ranges), looked up in the kernel's tables. The
 * server runs the namespace driver with its default options.
 */
export function serverLeftovers(server: Pick<RunningServer, 'logs'>): string[] {
  const { prefix, stateDir, dockerDiskDir } = resolveOptions();
  const ids = createdSandboxIds(server);
  // A lab's machines are <lab id>-<index> (namespace/lab.ts), its network <prefix>-lab-<lab id>.
  const labMachineIds = ids.flatMap((id) => Array.from({ length: 16 }, (_, index) => `${id}-${index}`));
  return namespaceLeftovers({ prefix, stateDir, dockerDiskDir, ids: [...ids, ...labMachineIds], labIds: ids });
}

export interface ServerShutdown {
  /** The server's exit code: 0 after a clean shutdown. */
  code: number | null;
  /** How many sandboxes its driver made in all. */
  sandboxesCreated: number;
  /** What they left on the host (serverLeftovers). */
  leftovers: string[];
}

/**
 * Stops the server (SIGTERM) and says how it went, for a test file's afterAll
 * to check: `expect(await shutDown(server)).toEqual({ code: 0, sandboxesCreated: 1, leftovers: [] })`.
 */
export async function shutDown(server: RunningServer | undefined): Promise<ServerShutdown> {
  if (server === undefined) throw new Error('the sandbox server never started (see the failure of beforeAll)');
  const { code } = await server.stop();
  const leftovers = serverLeftovers(server);
  if (leftovers.length > 0) {
    // What the server said went wrong, to read next to the failed check.
    const complaints = server.logs.filter((line) => (line.level === 'error' || line.level === 'warn') && line.source !== 'agent').slice(-20);
    process.stderr.write(`leftovers after shutdown; the server's last warnings:\n${complaints.map((line) => JSON.stringify(line).slice(0, 600)).join('\n')}\n`);
  }
  return { code, sandboxesCreated: createdSandboxIds(server).length, leftovers };
}
