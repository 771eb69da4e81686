// Course site figures:
// - build time of the whole site (astro build + Pagefind index), cold content cache;
// - what the lesson page costs a reader before any interaction: its HTML, the
//   CSS it links and the JavaScript it runs (inline and linked), raw and gzip.
// - the fixture Hugo course (tests/fixtures/cours-hugo, built as it is with
//   COURSE_SITE_DIR under its baseURL's path): build time, and the weight of its
//   heaviest page (HTML + CSS + JavaScript it loads before any interaction);
// - the same course in `npm run dev`: how long from saving a one-page edit
//   until the dev server serves the page with it (what an author waits for,
//   the browser's own update aside), and how long one request of the page takes.
// Prints `name: value unit` lines (bench/stats.ts).
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { percentile, report, reportTimings } from './stats.ts';
import { buildSite, makeTempDir, PROJECT_ROOT, removeTempDir } from '../tests/support/site.ts';

const BUILDS = 3;
const LESSON = 'docker_linux/namespaces/index.html';

function sizes(name: string, text: string): void {
  const raw = Buffer.byteLength(text);
  report(`${name} raw`, raw, 'B');
  report(`${name} gzip`, gzipSync(text).length, 'B');
}

/** What a page costs before any interaction: its HTML, linked CSS, inline and linked JavaScript (under `basePath`). */
function pageWeight(outDir: string, page: string, basePath = '/'): { html: string; css: string; js: string; scripts: number } {
  const html = readFileSync(join(outDir, page), 'utf8');
  const asset = (href: string) => readFileSync(join(outDir, href.startsWith(basePath) ? href.slice(basePath.length) : href.replace(/^\//, '')), 'utf8');
  const css = [...html.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)].map((m) => asset(m[1]!)).join('\n');
  const inlineScripts = [...html.matchAll(/<script(?![^>]*\ssrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  const linkedScripts = [...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((m) => asset(m[1]!));
  return { html, css, js: [...inlineScripts, ...linkedScripts].join('\n'), scripts: inlineScripts.length + linkedScripts.length };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** `astro dev` on a copy of the fixture course: edit → served page, several times. */
async function devEditTimings(workDir: string, edits: number): Promise<{ ready: number; edits: number[]; requests: number[] }> {
  const site = join(workDir, 'cours-hugo-dev');
  cpSync(join(PROJECT_ROOT, 'tests/fixtures/cours-hugo'), site, { recursive: true });
  const port = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_ENV' && !name.startsWith('VITEST')));
  const started = performance.now();
  const dev = spawn(process.execPath, [join(PROJECT_ROOT, 'node_modules/astro/bin/astro.mjs'), 'dev', '--host', '127.0.0.1', '--port', String(port)], {
    cwd: PROJECT_ROOT,
    env: { ...env, COURSE_SITE_DIR: site, FORCE_COLOR: '0', NO_COLOR: '1', ASTRO_TELEMETRY_DISABLED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  dev.stdout.on('data', (c: Buffer) => (output += c.toString()));
  dev.stderr.on('data', (c: Buffer) => (output += c.toString()));
  try {
    while (!/ready in/.test(output)) {
      if (dev.exitCode !== null || performance.now() - started > 120_000) throw new Error(`the dev server did not start:\n${output}`);
      await new Promise((done) => setTimeout(done, 50));
    }
    const ready = performance.now() - started;
    const url = `http://127.0.0.1:${port}/linux-pratique/01-fichiers/droits/`;
    const file = join(site, 'content/01-fichiers/droits.md');
    const original = readFileSync(file, 'utf8');
    const page = async () => (await fetch(url)).text();
    for (let warm = 0; warm < 3; warm++) await page(); // the first request optimises dependencies and compiles the page
    const requests: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await page();
      requests.push(performance.now() - t);
    }
    const timings: number[] = [];
    for (let i = 0; i < edits; i++) {
      const word = `mesure${i}t${Date.now()}`;
      const t = performance.now();
      writeFileSync(file, original.replace('appartient à un utilisateur', `appartient à ${word}`));
      while (!(await page()).includes(word)) {
        if (performance.now() - t > 30_000) throw new Error(`the edit did not show in 30 s:\n${output}`);
        await new Promise((done) => setTimeout(done, 5));
      }
      timings.push(performance.now() - t);
      await new Promise((done) => setTimeout(done, 300)); // the watcher settles before the next edit
    }
    return { ready, edits: timings, requests };
  } finally {
    if (dev.pid !== undefined && dev.exitCode === null) {
      process.kill(-dev.pid, 'SIGTERM');
      await new Promise((done) => dev.once('exit', done));
    }
  }
}

const workDir = await makeTempDir('course-site-bench');
try {
  const timings: number[] = [];
  let outDir = '';
  for (let run = 0; run < BUILDS; run++) {
    outDir = join(workDir, `dist-${run}`);
    const started = performance.now();
    const result = await buildSite({ outDir });
    timings.push(performance.now() - started);
    if (!result.ok) throw new Error(`site build failed:\n${result.output}`);
    if (run < BUILDS - 1) rmSync(outDir, { recursive: true, force: true });
  }
  reportTimings('site build', timings);

  const lesson = pageWeight(outDir, LESSON);
  sizes('lesson html', lesson.html);
  sizes('lesson css', lesson.css);
  sizes('lesson js', lesson.js);
  report('lesson js scripts', lesson.scripts);

  // The fixture Hugo course, as an author would bring it.
  const courseTimings: number[] = [];
  const courseOut = join(workDir, 'cours-hugo');
  for (let run = 0; run < BUILDS; run++) {
    rmSync(courseOut, { recursive: true, force: true });
    const started = performance.now();
    const result = await buildSite({ outDir: courseOut, env: { COURSE_SITE_DIR: join(PROJECT_ROOT, 'tests/fixtures/cours-hugo') } });
    courseTimings.push(performance.now() - started);
    if (!result.ok) throw new Error(`fixture course build failed:\n${result.output}`);
  }
  reportTimings('hugo course build', courseTimings);

  // The same course built by real Hugo, with the Learn stub theme the compatibility test uses
  // (the course names hugo-theme-learn; the stub has the layouts Hugo needs, no assets).
  const hugoSource = join(workDir, 'cours-hugo-src');
  cpSync(join(PROJECT_ROOT, 'tests/fixtures/cours-hugo'), hugoSource, { recursive: true });
  cpSync(join(PROJECT_ROOT, 'tests/fixtures/hugo-learn-stub'), join(hugoSource, 'themes', 'hugo-theme-learn'), { recursive: true });
  const hugoTimings: number[] = [];
  for (let run = 0; run < BUILDS; run++) {
    const hugoOut = join(workDir, 'cours-hugo-by-hugo');
    rmSync(hugoOut, { recursive: true, force: true });
    const started = performance.now();
    const hugo = spawnSync('hugo', ['--source', hugoSource, '--destination', hugoOut, '--cacheDir', join(workDir, 'hugo-cache'), '--quiet'], {
      encoding: 'utf8',
    });
    hugoTimings.push(performance.now() - started);
    if (hugo.error || hugo.status !== 0)
      throw new Error(`hugo could not build the fixture course (is the hugo package installed?): ${hugo.error?.message ?? hugo.stderr}`);
  }
  reportTimings('hugo course build by real hugo', hugoTimings);
  report('hugo course build ratio ours/hugo (p50)', percentile(courseTimings, 50) / percentile(hugoTimings, 50), '×');
  const pages = (readdirSync(courseOut, { recursive: true, encoding: 'utf8' }) as string[]).filter(
    (f) => f.endsWith('index.html') && !f.startsWith('pagefind') && !f.startsWith('instructeur'),
  );
  const weighed = pages.map((page) => {
    const w = pageWeight(courseOut, page, '/linux-pratique/');
    return { page, w, total: gzipSync(w.html).length + gzipSync(w.css).length + gzipSync(w.js).length };
  });
  weighed.sort((a, b) => b.total - a.total);
  const heaviest = weighed[0]!;
  console.log(`hugo course heaviest page: ${heaviest.page}`);
  report('hugo course pages', pages.length);
  report('hugo course heaviest page total gzip', heaviest.total, 'B');
  sizes('hugo course heaviest page html', heaviest.w.html);
  sizes('hugo course heaviest page css', heaviest.w.css);
  sizes('hugo course heaviest page js', heaviest.w.js);
  // Fetched after load, and only by a page that has a diagram.
  sizes('hugo course mermaid script (diagram pages only)', readFileSync(join(courseOut, '_course', 'mermaid.min.js'), 'utf8'));

  const dev = await devEditTimings(workDir, 7);
  report('dev server ready (fixture course)', dev.ready, 'ms');
  reportTimings('dev one page request', dev.requests);
  reportTimings('dev one-page edit until served', dev.edits);
} finally {
  removeTempDir(workDir);
}
