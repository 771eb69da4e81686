// Class mode for tests and benchmarks: a throwaway SQLite file, the real
// `npm run class` CLI to create classes (its printed links parsed back), and
// the real server started in class mode on that file.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startServer, type RunningServer, type StartOptions } from './server.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(PROJECT_ROOT, 'sandbox-server', 'src', 'classroom-cli.ts');

export interface ClassFiles {
  dir: string;
  db: string;
  /** Removes the folder (and the database in it). */
  remove(): void;
}

export function classFiles(): ClassFiles {
  const dir = mkdtempSync(join(tmpdir(), 'classroom-'));
  return { dir, db: join(dir, 'classroom.sqlite'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `npm run class -- …args` on `db`; resolves with stdout, rejects with the output on a non-zero exit. */
export async function classCli(db: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, ...args], { cwd: PROJECT_ROOT, env: { ...process.env, CLASS_DB: db, ...env } });
    return stdout;
  } catch (error) {
    const { stdout, stderr, code } = error as { stdout?: string; stderr?: string; code?: number };
    throw new Error(`class ${args.join(' ')} exited with ${String(code)}:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

export interface StudentLink {
  seat: number;
  name: string;
  url: string;
  token: string;
}

/** The links `create` and `links` print: "  1  Alice  http://…#acces=eleve_…". */
export function parseLinks(output: string): StudentLink[] {
  return [...output.matchAll(/^\s*(\d+)\s+(.+?)\s+(https?:\/\/\S+#acces=(eleve_[A-Za-z0-9_-]{43}))$/gm)].map((match) => ({
    seat: Number(match[1]),
    name: match[2]!,
    url: match[3]!,
    token: match[4]!,
  }));
}

export function parseInstructorKey(output: string): string | undefined {
  return /#cle=(prof_[A-Za-z0-9_-]{43})/.exec(output)?.[1];
}

/** Creates a class with the CLI; returns its links and the instructor key (a new one). */
export async function createClass(db: string, args: string[], url?: string): Promise<{ links: StudentLink[]; instructorKey: string }> {
  const extra = url ? ['--url', url] : [];
  const created = await classCli(db, ['create', ...args, ...extra]);
  const links = parseLinks(created);
  const instructorKey = parseInstructorKey(created) ?? parseInstructorKey(await classCli(db, ['instructor', ...extra]));
  if (!instructorKey) throw new Error('no instructor key in the CLI output');
  return { links, instructorKey };
}

/** The real server in class mode on `db` (Docker off unless asked: the lesson's checks do not need it). */
export function startClassServer(db: string, options: StartOptions = {}): Promise<RunningServer> {
  return startServer({ ...options, env: { CLASS_MODE: 'true', CLASS_DB: db, SANDBOX_DOCKER: 'false', ...options.env } });
}

// biome-ignore lint/suspicious/noExplicitAny: tests of refusals read error bodies and replies of every shape; an any here keeps them short.
type AnyBody = any;

/** A JSON request with a bearer credential. Its body is whatever came back (errors, CSV, replies): class API replies are parsed with contracts/class-api.ts where a test relies on them. */
export async function bearerRequest(
  server: { url: string },
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: AnyBody }> {
  const headers: Record<string, string> = { ...extraHeaders };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(new URL(path, server.url), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (CSV)
  }
  return { status: response.status, headers: response.headers, body: parsed };
}
