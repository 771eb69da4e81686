// Builds the course site (the real one, or a fixture content tree) and serves
// a built site for browser tests.
//
// Every build goes through `astro build` in a child process, configured only
// by the COURSE_* variables of src/lib/site-config.ts, exactly as a reader of
// the README would build it. Builds share the project's .astro/ folder, so
// they take a lock: integration and e2e projects may run at the same time.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { preview } from 'astro';
import { PROJECT_ROOT } from '../../src/lib/site-config.ts';

export { PROJECT_ROOT };

export interface BuildOptions {
  /** Hugo content tree to build; default: the course's content/. */
  contentDir?: string;
  basePath?: string;
  buildDrafts?: boolean;
  /** Where to write the site; default: dist/. */
  outDir?: string;
  /** Extra environment variables (e.g. to test a bad configuration). */
  env?: Record<string, string>;
}

export interface BuildResult {
  ok: boolean;
  exitCode: number | null;
  /** stdout and stderr together, colours stripped. */
  output: string;
  outDir: string;
}

const LOCK_DIR = join(PROJECT_ROOT, 'node_modules', '.course-site-build.lock');
const ASTRO_BIN = join(PROJECT_ROOT, 'node_modules', 'astro', 'bin', 'astro.mjs');
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

function lockHolderAlive(): boolean {
  try {
    const pid = Number(readFileSync(join(LOCK_DIR, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function withBuildLock<T>(work: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      writeFileSync(join(LOCK_DIR, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock left by a test run that was killed must not block the next one.
      if (!lockHolderAlive() && existsSync(LOCK_DIR)) {
        await new Promise((done) => setTimeout(done, 200));
        if (!lockHolderAlive()) rmSync(LOCK_DIR, { recursive: true, force: true });
        continue;
      }
      await new Promise((done) => setTimeout(done, 250));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

function envFor(options: BuildOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ASTRO_TELEMETRY_DISABLED: '1' };
  for (const name of ['COURSE_SITE_DIR', 'COURSE_CONTENT_DIR', 'COURSE_BASE_PATH', 'COURSE_BUILD_DRAFTS', 'COURSE_OUT_DIR', 'COURSE_MACHINE']) delete env[name];
  if (options.contentDir !== undefined) env.COURSE_CONTENT_DIR = options.contentDir;
  if (options.basePath !== undefined) env.COURSE_BASE_PATH = options.basePath;
  if (options.buildDrafts !== undefined) env.COURSE_BUILD_DRAFTS = String(options.buildDrafts);
  if (options.outDir !== undefined) env.COURSE_OUT_DIR = options.outDir;
  return { ...env, ...options.env };
}

/** Runs `astro build` (which also writes the Pagefind index) and reports how it went; never throws on a failed build. */
export function buildSite(options: BuildOptions = {}): Promise<BuildResult> {
  return withBuildLock(() => buildUnlocked(options));
}

/**
 * Holds the build lock until `release` is called: for an `astro dev` server,
 * which writes the project's .astro/ folder as a build does.
 */
export async function holdBuildLock(): Promise<() => void> {
  const { promise: held, resolve: acquired } = Promise.withResolvers<void>();
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  void withBuildLock(() => {
    acquired();
    return released;
  });
  await held;
  return release;
}

function buildUnlocked(options: BuildOptions): Promise<BuildResult> {
  const outDir = options.outDir ?? join(PROJECT_ROOT, 'dist');
  return new Promise<BuildResult>((resolve, reject) => {
    const child = spawn(process.execPath, [ASTRO_BIN, 'build'], {
      cwd: PROJECT_ROOT,
      env: envFor(options),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (exitCode) => {
      resolve({ ok: exitCode === 0, exitCode, output: output.replace(ANSI, ''), outDir });
    });
  });
}

/** A fresh temporary folder; the caller removes it (see removeTempDir). */
export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `${prefix}-`));
}

export function removeTempDir(path: string | undefined): void {
  if (path?.startsWith(tmpdir())) rmSync(path, { recursive: true, force: true });
}

/** Writes a content tree: keys are paths relative to the tree, values the file texts. */
export function writeContentTree(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    const file = join(root, path);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, text);
  }
}

// ---------- the real site, built once per run when stale ----------

const STAMP_FILE = '.course-build-stamp.json';
const SITE_SOURCES = ['content', 'src', 'public', 'scripts/browser-machine', 'astro.config.mjs', 'package.json', 'package-lock.json'];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/**
 * Makes sure dist/ holds a build of the current sources with the default
 * configuration, building only when a source is newer than the last build.
 * The check is made under the build lock: two test files asking at once (they
 * run two at a time) get one build, and neither rebuilds dist/ under the other.
 */
export function ensureSiteBuilt(): Promise<string> {
  return withBuildLock(ensureSiteBuiltUnlocked);
}

async function ensureSiteBuiltUnlocked(): Promise<string> {
  const outDir = join(PROJECT_ROOT, 'dist');
  const stampPath = join(outDir, STAMP_FILE);
  const sourcesTime = Math.max(...SITE_SOURCES.map((source) => newestMtime(join(PROJECT_ROOT, source))));
  const indexPath = join(outDir, 'index.html');
  if (existsSync(stampPath) && existsSync(indexPath) && existsSync(join(outDir, 'pagefind'))) {
    const stamp = JSON.parse(readFileSync(stampPath, 'utf8')) as { sourcesTime: number; indexMtime: number };
    // A build by hand (other COURSE_* values) rewrites index.html without the stamp: not ours to trust.
    if (stamp.sourcesTime >= sourcesTime && stamp.indexMtime === statSync(indexPath).mtimeMs) return outDir;
  }
  const result = await buildUnlocked({ outDir });
  if (!result.ok) {
    throw new Error(`The course site does not build (astro build exited with ${result.exitCode}):\n${result.output}`);
  }
  writeFileSync(stampPath, JSON.stringify({ sourcesTime, indexMtime: statSync(indexPath).mtimeMs, builtAt: new Date().toISOString() }));
  return outDir;
}

// ---------- serving a built site ----------

export interface ServedSite {
  /** Origin plus base path, ending with "/": e.g. http://127.0.0.1:4321/tp-iut-docker/ */
  url: string;
  close(): Promise<void>;
}

/** Serves a built site with Astro's own preview server on a free loopback port. */
export async function serveSite(outDir: string, basePath = '/'): Promise<ServedSite> {
  const server = await preview({
    root: PROJECT_ROOT,
    outDir: relative(PROJECT_ROOT, outDir) || '.',
    base: basePath,
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 0 },
  });
  const base = basePath.endsWith('/') ? basePath : `${basePath}/`;
  return {
    url: `http://127.0.0.1:${server.port}${base}`,
    close: () => server.stop(),
  };
}
