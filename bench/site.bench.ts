// Course site figures:
// - build time of the whole site (astro build + Pagefind index), cold content cache;
// - what the lesson page costs a reader before any interaction: its HTML, the
//   CSS it links and the JavaScript it runs (inline and linked), raw and gzip.
// Prints `name: value unit` lines (bench/stats.ts).
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { report, reportTimings } from './stats.ts';
import { buildSite, makeTempDir, removeTempDir } from '../tests/support/site.ts';

const BUILDS = 3;
const LESSON = 'docker_linux/namespaces/index.html';

function sizes(name: string, text: string): void {
  const raw = Buffer.byteLength(text);
  report(`${name} raw`, raw, 'B');
  report(`${name} gzip`, gzipSync(text).length, 'B');
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

  const html = readFileSync(join(outDir, LESSON), 'utf8');
  const asset = (href: string) => readFileSync(join(outDir, href.replace(/^\//, '')), 'utf8');
  const css = [...html.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)].map((m) => asset(m[1]!)).join('\n');
  const inlineScripts = [...html.matchAll(/<script(?![^>]*\ssrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  const linkedScripts = [...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((m) => asset(m[1]!));
  sizes('lesson html', html);
  sizes('lesson css', css);
  sizes('lesson js', [...inlineScripts, ...linkedScripts].join('\n'));
  report('lesson js scripts', inlineScripts.length + linkedScripts.length);
} finally {
  removeTempDir(workDir);
}
