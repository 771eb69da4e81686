// Issue 14's figures, side by side in one run: the project through its
// public API against a bare baseline (bash in a host node-pty behind a plain
// `ws` server on loopback, bench/perf/bare-terminal.ts), printed as ratios:
// - create → first prompt: the project cold and from the warm pool, each
//   create right after a bare spawn (so both meet the same host);
// - keystroke echo p50/p90/p99 over KEYS keys, with the hops apart (pty
//   alone, loopback WebSocket alone), then the bare bridge and the project
//   INTERLEAVED: one key to each terminal per round at a typing pace (a
//   block of 20 back to back), in a random order, the same gap after every
//   key (perf/echo.ts), so both meet the same host noise. Two bare bridges are typed into: issue 14's, whose server runs in
//   this benchmark's process (`bare:`, the ratios' baseline), and the same
//   server in a process of its own, as a page and its server are
//   (`bare (own process):`, ratios printed beside);
// - in Chromium: the lesson page's weight before any interaction, the
//   terminal chunk (bytes and gzip), and click → prompt for a first-time
//   reader (empty cache, no cookie) and a returning one (same browser, its
//   cache and reader cookie; its previous machine released).
// Run with `npm run bench -- perf`. Speed is never asserted: it prints.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import type { CDPSession, Page } from 'playwright-core';
import { WebSocket, WebSocketServer } from 'ws';
import { percentile, report, reportTimings } from './stats.ts';
import { BareClient, spawnBareShell, startBareServer, startBareServerProcess, type BareServer } from './perf/bare-terminal.ts';
import { echoSamples, interleavedEchoSamples } from './perf/echo.ts';
import { createToPrompt, poolReady, type CreateTimings } from './perf/create-to-prompt.ts';
import { startServer, type RunningServer } from '../tests/support/server.ts';
import { attachTerminal, createSandbox, deleteSandbox } from '../tests/support/server-client.ts';
import { FLOW_ACK_EVERY_BYTES } from '../contracts/wire.ts';
import { launchBrowser, type LaunchedBrowser } from '../tests/support/browser.ts';
import { deletePageMachine, startCourse, type Course } from '../tests/support/terminal-page.ts';
import { clickAndTime, waitForPool } from './perf/page-clicks.ts';

/** Keys per terminal and per pace (p99 of 1 000 is the 10th worst key). */
const KEYS = Number(process.env.PERF_KEYS ?? 1000);
const ECHO_PERCENTILES = [50, 90, 99];
/** Back to back, keys go to each terminal in blocks of this many (perf/echo.ts says why). */
const BACK_TO_BACK_BLOCK = Number(process.env.PERF_BACK_TO_BACK_BLOCK ?? 20);
/** Pause between one key's echo and the next at a typist's pace (40 keys a second: faster than anyone types); see perf/echo.ts. */
const TYPING_GAP_MS = Number(process.env.PERF_TYPING_GAP_MS ?? 25);
const CREATE_RUNS = Number(process.env.PERF_CREATE_RUNS ?? 10);
const CLICK_RUNS = Number(process.env.PERF_CLICK_RUNS ?? 8);

const figures = new Map<string, number>();
function keep(name: string, samples: readonly number[], percentiles = [50, 95]): void {
  reportTimings(name, samples, percentiles);
  for (const p of percentiles) figures.set(`${name} p${p}`, percentile(samples, p));
}
function ratio(name: string, ours: string, bare: string): void {
  const a = figures.get(ours);
  const b = figures.get(bare);
  if (a === undefined || b === undefined) return;
  report(`ratio ${name}`, a / b, '×');
}

// ── the hops, alone ─────────────────────────────────────────────────────────

async function ptyAlone(): Promise<void> {
  const shell = spawnBareShell();
  let text = '';
  const listeners = new Set<(chunk: Buffer) => void>();
  shell.onData((chunk: string | Buffer) => {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    text += bytes.toString('latin1');
    for (const listener of listeners) listener(bytes);
  });
  while (!/[$#] $/.test(text)) await new Promise((resolve) => setTimeout(resolve, 5));
  const samples = await echoSamples(
    {
      type: (key) => shell.write(key),
      onData: (listener) => {
        listeners.add(listener);
        return { dispose: () => listeners.delete(listener) };
      },
    },
    KEYS,
  );
  keep('echo, pty alone (agent ⇄ pty hop)', samples, ECHO_PERCENTILES);
  shell.kill();
}

async function websocketAlone(): Promise<void> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data as Buffer, { binary: true })));
  await new Promise((resolve) => wss.once('listening', resolve));
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, { perMessageDeflate: false });
  await new Promise((resolve) => ws.once('open', resolve));
  const samples = await echoSamples(
    {
      type: (key) => ws.send(Buffer.from(key), { binary: true }),
      onData: (listener) => {
        const wrapped = (data: Buffer) => listener(data);
        ws.on('message', wrapped);
        return { dispose: () => ws.off('message', wrapped) };
      },
    },
    KEYS,
  );
  keep('echo, loopback websocket alone (browser ⇄ server hop)', samples, ECHO_PERCENTILES);
  ws.close();
  await new Promise((resolve) => wss.close(resolve));
}

// ── bare baseline ───────────────────────────────────────────────────────────

/** One bare spawn → first prompt (ms): a new connection to the bare server starts a new shell. */
async function bareSpawn(server: BareServer): Promise<number> {
  const started = performance.now();
  const client = await BareClient.connect(server.url);
  await client.waitForPrompt();
  const elapsed = performance.now() - started;
  await client.close();
  return elapsed;
}

async function bareTerminal(server: BareServer): Promise<BareClient> {
  const client = await BareClient.connect(server.url);
  await client.waitForPrompt();
  return client;
}

// ── the project, through its public API ─────────────────────────────────────

/** The prompt (from the POST's answer when the pool's shell comes with it), and the socket attached with its replay. */
function keepCreate(label: string, timings: CreateTimings): void {
  keep(`project: create to first prompt (${label})`, timings.prompt);
  keep(`project: create to terminal attached (${label})`, timings.attached);
}

/** The bare servers echo is compared against: issue 14's (in this process) and the same in a process of its own. */
interface Baselines {
  inBench: BareServer;
  ownProcess: BareServer;
}

/** Echo of a machine from the warm pool and of both bare bridges, typed into in turn (interleaved), at both paces. */
async function echoSideBySide(server: RunningServer, baselines: Baselines): Promise<void> {
  const sandbox = await createSandbox(server);
  // Acknowledges output as the page does (every FLOW_ACK_EVERY_BYTES), not after every chunk: a real reader's echo costs no ack.
  const { client, reader } = await attachTerminal(server, sandbox, '1', { ackEveryBytes: FLOW_ACK_EVERY_BYTES });
  const bare = await bareTerminal(baselines.inBench);
  const bareOwn = await bareTerminal(baselines.ownProcess);
  try {
    await reader.waitForPrompt();
    // Typed into once the pool has made this machine's successor: a reader's
    // keys meet a settled host, not the refill the take has just started.
    await poolReady(server);
    const names = ['bare', 'bare (own process)', 'project'];
    const targets = [bare, bareOwn, client];
    for (const [pace, gap, block] of [
      ['typing', TYPING_GAP_MS, 1],
      ['back to back', 0, BACK_TO_BACK_BLOCK],
    ] as const) {
      console.log(
        `-- echo ${pace}, interleaved: ${KEYS} keys to each of ${names.join(', ')}, ${block} at a time to each in a random order, ${gap} ms after each key`,
      );
      const samples = await interleavedEchoSamples(targets, KEYS, gap, block);
      for (const [index, name] of names.entries()) keep(`${name}: echo, ${pace}`, samples[index]!, ECHO_PERCENTILES);
    }
  } finally {
    await bare.close();
    await bareOwn.close();
    await client.close();
    await deleteSandbox(server, sandbox);
  }
}

/**
 * Create → prompt, cold and from the warm pool, each create right after a
 * bare spawn (the same seconds, as echo is interleaved): the warm ratio is
 * read against the spawns beside the warm creates (`bare: spawn to first
 * prompt`), the cold one against those beside the cold creates.
 */
async function project(baselines: Baselines): Promise<void> {
  const cold = await startServer({ env: { WARM_POOL_SIZE: '0', LOG_LEVEL: 'info' } });
  const spawnsBesideCold: number[] = [];
  try {
    keepCreate(
      'cold',
      await createToPrompt(cold, CREATE_RUNS, async () => {
        spawnsBesideCold.push(await bareSpawn(baselines.inBench));
      }),
    );
  } finally {
    await cold.stop();
  }
  keep('bare: spawn to first prompt, beside the cold creates', spawnsBesideCold);
  const warm = await startServer({ env: { WARM_POOL_SIZE: '1', LOG_LEVEL: 'info' } });
  try {
    const spawns: number[] = [];
    const timings = await createToPrompt(warm, CREATE_RUNS, async () => {
      await poolReady(warm);
      spawns.push(await bareSpawn(baselines.inBench));
    });
    keep('bare: spawn to first prompt', spawns);
    keepCreate('warm pool', timings);
    await echoSideBySide(warm, baselines);
  } finally {
    await warm.stop();
  }
}

// ── Chromium ────────────────────────────────────────────────────────────────

/** Empties the browser's cache, cookies and storage: the next page is a first-time reader's. */
async function forgetEverything(browser: LaunchedBrowser, page: Page): Promise<void> {
  const cdp: CDPSession = await browser.context.newCDPSession(page);
  await cdp.send('Network.clearBrowserCache');
  await cdp.detach();
  await browser.context.clearCookies();
}

type Phase = 'load' | 'idle' | 'click';

/** Every response the page receives from now on, with the phase it came in (set `phase.now`); sizes decoded and gzipped. */
function countBytes(page: Page): { phase: { now: Phase }; settled(): Promise<Map<Phase, { total: number; script: number; scriptGzip: number }>> } {
  const phase = { now: 'load' as Phase };
  const bodies: Promise<{ phase: Phase; script: boolean; bytes: number; gzip: number }>[] = [];
  page.on('response', (response) => {
    const at = phase.now;
    const script = response.request().resourceType() === 'script';
    bodies.push(
      response.body().then(
        (body) => ({ phase: at, script, bytes: body.length, gzip: script ? gzipSync(body, { level: 9 }).length : 0 }),
        () => ({ phase: at, script, bytes: 0, gzip: 0 }),
      ),
    );
  });
  return {
    phase,
    async settled() {
      const totals = new Map<Phase, { total: number; script: number; scriptGzip: number }>();
      for (const name of ['load', 'idle', 'click'] as const) totals.set(name, { total: 0, script: 0, scriptGzip: 0 });
      for (const body of await Promise.all(bodies)) {
        const total = totals.get(body.phase)!;
        total.total += body.bytes;
        if (body.script) {
          total.script += body.bytes;
          total.scriptGzip += body.gzip;
        }
      }
      return totals;
    },
  };
}

async function visit(browser: LaunchedBrowser, course: Course, weigh: boolean): Promise<number> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    const bytes = countBytes(page);
    await page.goto(course.lessonUrl);
    await page.waitForLoadState('load');
    bytes.phase.now = 'idle';
    // A reader reads for a moment before clicking: whatever the page fetches when idle has come.
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(300);
    bytes.phase.now = 'click';
    const elapsed = await clickAndTime(page, 'prompt');
    if (weigh) {
      await page.waitForLoadState('networkidle');
      const totals = await bytes.settled();
      const load = totals.get('load')!;
      const idle = totals.get('idle')!;
      const click = totals.get('click')!;
      report('lesson page bytes at load (before interaction)', load.total, 'B');
      report('lesson page JS at load', load.script, 'B');
      report('lesson page JS at load (gzip)', load.scriptGzip, 'B');
      report('fetched while idle, before the click (JS)', idle.script, 'B');
      report('fetched after the click (JS)', click.script, 'B');
      report('terminal chunk JS (idle + click)', idle.script + click.script, 'B');
      report('terminal chunk JS (gzip)', idle.scriptGzip + click.scriptGzip, 'B');
    }
    return elapsed;
  } finally {
    await deletePageMachine(page, course.server).catch(() => undefined);
    await page.close();
  }
}

async function chromium(): Promise<void> {
  const browser = await launchBrowser();
  const course = await startCourse({ WARM_POOL_SIZE: '2', LOG_LEVEL: 'info' });
  try {
    const blank = await browser.newPage();
    const firstTime: number[] = [];
    for (let run = 0; run < CLICK_RUNS; run++) {
      await forgetEverything(browser, blank);
      await waitForPool(course.server, 2);
      firstTime.push(await visit(browser, course, run === 0));
    }
    keep('chromium: click to prompt, first-time reader', firstTime);
    const returning: number[] = [];
    for (let run = 0; run < CLICK_RUNS; run++) {
      await waitForPool(course.server, 2);
      returning.push(await visit(browser, course, false));
    }
    keep('chromium: click to prompt, returning reader', returning);
    await blank.close();
  } finally {
    await course.server.stop();
    await browser.close();
  }
}

const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
report('load average at start', loadAverage());
await ptyAlone();
await websocketAlone();
const baselines: Baselines = { inBench: await startBareServer(), ownProcess: await startBareServerProcess() };
try {
  await project(baselines);
} finally {
  await baselines.inBench.close();
  await baselines.ownProcess.close();
}
console.log('-- side by side');
ratio('create → prompt (warm pool) / bare spawn, p50', 'project: create to first prompt (warm pool) p50', 'bare: spawn to first prompt p50');
ratio('create → terminal attached (warm pool) / bare spawn, p50', 'project: create to terminal attached (warm pool) p50', 'bare: spawn to first prompt p50');
ratio('create → prompt (cold) / bare spawn, p50', 'project: create to first prompt (cold) p50', 'bare: spawn to first prompt, beside the cold creates p50');
for (const pace of ['typing', 'back to back']) {
  for (const p of ECHO_PERCENTILES) ratio(`echo p${p} / bare, ${pace}`, `project: echo, ${pace} p${p}`, `bare: echo, ${pace} p${p}`);
}
// The other floor: the bare server in a process of its own (not issue 14's baseline; printed beside it).
for (const pace of ['typing', 'back to back']) {
  for (const p of ECHO_PERCENTILES) {
    ratio(`echo p${p} / bare (own process), ${pace}`, `project: echo, ${pace} p${p}`, `bare (own process): echo, ${pace} p${p}`);
  }
}
report('load average after echo', loadAverage());
if (process.env.PERF_SKIP_BROWSER !== '1') await chromium();
report('load average at end', loadAverage());
