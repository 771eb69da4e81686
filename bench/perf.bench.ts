// Issue 14's figures, side by side in one run: the project through its
// public API against a bare baseline (bash in a host node-pty behind a plain
// `ws` server on loopback, bench/perf/bare-terminal.ts), printed as ratios:
// - create → first prompt: a bare spawn; the project cold and from the warm pool;
// - keystroke echo p50/p99 over KEYS keys, with the hops apart (pty alone,
//   loopback WebSocket alone, the bare bridge, the project);
// - in Chromium: the lesson page's weight before any interaction, the
//   terminal chunk (bytes and gzip), and click → prompt for a first-time
//   reader (empty cache, no cookie) and a returning one (same browser, its
//   cache and reader cookie; its previous machine released).
// Run with `npm run bench -- perf`. Speed is never asserted: it prints.
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import type { CDPSession, Page } from 'playwright-core';
import { WebSocket, WebSocketServer } from 'ws';
import { percentile, report, reportTimings } from './stats.ts';
import { BareClient, spawnBareShell, startBareServer } from './perf/bare-terminal.ts';
import { echoSamples } from './perf/echo.ts';
import { createToPrompt, poolReady, type CreateTimings } from './perf/create-to-prompt.ts';
import { startServer, type RunningServer } from '../tests/support/server.ts';
import { attachTerminal, createSandbox, deleteSandbox } from '../tests/support/server-client.ts';
import { FLOW_ACK_EVERY_BYTES } from '../contracts/wire.ts';
import { launchBrowser, type LaunchedBrowser } from '../tests/support/browser.ts';
import { deletePageMachine, startCourse, type Course } from '../tests/support/terminal-page.ts';
import { clickAndTime, waitForPool } from './perf/page-clicks.ts';

const KEYS = Number(process.env.PERF_KEYS ?? 600);
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
  keep('echo, pty alone (agent ⇄ pty hop)', samples, [50, 99]);
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
  keep('echo, loopback websocket alone (browser ⇄ server hop)', samples, [50, 99]);
  ws.close();
  await new Promise((resolve) => wss.close(resolve));
}

// ── bare baseline ───────────────────────────────────────────────────────────

async function bare(): Promise<void> {
  const server = await startBareServer();
  try {
    const spawns: number[] = [];
    for (let run = 0; run < CREATE_RUNS; run++) {
      const started = performance.now();
      const client = await BareClient.connect(server.url);
      await client.waitForPrompt();
      spawns.push(performance.now() - started);
      await client.close();
    }
    keep('bare: spawn to first prompt', spawns);
    const client = await BareClient.connect(server.url);
    await client.waitForPrompt();
    keep('bare: echo, typing', await echoSamples(client, KEYS, TYPING_GAP_MS), [50, 99]);
    keep('bare: echo, back to back', await echoSamples(client, KEYS), [50, 99]);
    await client.close();
  } finally {
    await server.close();
  }
}

// ── the project, through its public API ─────────────────────────────────────

/** The prompt (from the POST's answer when the pool's shell comes with it), and the socket attached with its replay. */
function keepCreate(label: string, timings: CreateTimings): void {
  keep(`project: create to first prompt (${label})`, timings.prompt);
  keep(`project: create to terminal attached (${label})`, timings.attached);
}

async function projectEcho(server: RunningServer): Promise<void> {
  const sandbox = await createSandbox(server);
  // Acknowledges output as the page does (every FLOW_ACK_EVERY_BYTES), not after every chunk: a real reader's echo costs no ack.
  const { client, reader } = await attachTerminal(server, sandbox, '1', { ackEveryBytes: FLOW_ACK_EVERY_BYTES });
  try {
    await reader.waitForPrompt();
    // Typed into once the pool has made this machine's successor: a reader's
    // keys meet a settled host, not the refill the take has just started.
    await poolReady(server);
    keep('project: echo, typing', await echoSamples(client, KEYS, TYPING_GAP_MS), [50, 99]);
    keep('project: echo, back to back', await echoSamples(client, KEYS), [50, 99]);
  } finally {
    await client.close();
    await deleteSandbox(server, sandbox);
  }
}

async function project(): Promise<void> {
  const cold = await startServer({ env: { WARM_POOL_SIZE: '0', LOG_LEVEL: 'info' } });
  try {
    keepCreate('cold', await createToPrompt(cold, CREATE_RUNS, async () => {}));
  } finally {
    await cold.stop();
  }
  const warm = await startServer({ env: { WARM_POOL_SIZE: '1', LOG_LEVEL: 'info' } });
  try {
    keepCreate('warm pool', await createToPrompt(warm, CREATE_RUNS, () => poolReady(warm)));
    await projectEcho(warm);
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

await ptyAlone();
await websocketAlone();
await bare();
await project();
console.log('-- side by side');
ratio('create → prompt (warm pool) / bare spawn, p50', 'project: create to first prompt (warm pool) p50', 'bare: spawn to first prompt p50');
ratio('create → terminal attached (warm pool) / bare spawn, p50', 'project: create to terminal attached (warm pool) p50', 'bare: spawn to first prompt p50');
ratio('create → prompt (cold) / bare spawn, p50', 'project: create to first prompt (cold) p50', 'bare: spawn to first prompt p50');
ratio('echo p50 / bare, typing', 'project: echo, typing p50', 'bare: echo, typing p50');
ratio('echo p99 / bare, typing', 'project: echo, typing p99', 'bare: echo, typing p99');
ratio('echo p50 / bare, back to back', 'project: echo, back to back p50', 'bare: echo, back to back p50');
ratio('echo p99 / bare, back to back', 'project: echo, back to back p99', 'bare: echo, back to back p99');
if (process.env.PERF_SKIP_BROWSER !== '1') await chromium();
