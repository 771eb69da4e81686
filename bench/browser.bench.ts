// The browser machine (v86 in a Web Worker), on a plain static host: what a
// reader downloads, how long from the click to the first prompt (first visit,
// then with the files in the browser's cache), keystroke echo, and what the
// tab costs in memory. Run with `npm run bench -- browser`.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { BrowserMachineManifest } from '../src/client/browser-machine/guest-layout.ts';
import { launchBrowser, type LaunchedBrowser } from '../tests/support/browser.ts';
import { ensureSiteBuilt } from '../tests/support/site.ts';
import { serveStatic } from '../tests/support/static-server.ts';
import { LESSON_PATH, snippets, waitForTerminalText } from '../tests/support/terminal-page.ts';
import { report, reportTimings } from './stats.ts';

const ECHO_SAMPLES = Number(process.env.BROWSER_BENCH_ECHO_SAMPLES ?? 30);
const PROMPT = /student@tp-docker:~\$/;

/** Proportional memory (PSS) of every process of this Chromium, in MiB. */
function chromiumPssMiB(browser: LaunchedBrowser): number {
  let kib = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmdline.includes(browser.profileDir)) continue;
      kib += Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      // The process ended meanwhile.
    }
  }
  return kib / 1024;
}

/** Clicks Exécuter on the UTS snippet (then the offer, if the page makes one) and times, in the page, until the first prompt. */
async function clickToFirstPrompt(page: Page): Promise<number> {
  const figure = snippets(page).nth(1);
  const started = Date.now();
  await figure.getByRole('button', { name: 'Exécuter', exact: true }).click();
  const offer = figure.getByRole('button', { name: /^Démarrer une machine dans votre navigateur/ });
  const first = await Promise.race([
    offer.waitFor({ timeout: 300_000 }).then(() => 'offer' as const),
    waitForTerminalText(page, '1', PROMPT, 300_000).then(() => 'prompt' as const),
  ]);
  if (first === 'offer') {
    // The reader's own decision is not the machine's time: count from the offer's click.
    const offered = Date.now();
    await offer.click();
    await waitForTerminalText(page, '1', PROMPT, 300_000);
    return Date.now() - offered;
  }
  return Date.now() - started;
}

async function echoTimings(page: Page): Promise<number[]> {
  await page.locator('lesson-terminal[name="1"] .xterm-screen').click();
  const timings: number[] = [];
  for (let index = 0; index < ECHO_SAMPLES; index++) {
    const letter = String.fromCharCode(97 + (index % 26));
    const before = await page.locator('lesson-terminal[name="1"] .xterm-rows').innerText();
    const started = performance.now();
    await page.keyboard.type(letter);
    await page.waitForFunction(
      (previous) => (document.querySelector('lesson-terminal[name="1"] .xterm-rows') as HTMLElement | null)?.innerText !== previous,
      before,
      { polling: 'raf', timeout: 30_000 },
    );
    timings.push(performance.now() - started);
  }
  // Erase what was typed.
  await page.keyboard.press('Control+U');
  return timings;
}

const dist = await ensureSiteBuilt();
const manifest = JSON.parse(readFileSync(join(dist, 'browser-machine', 'manifest.json'), 'utf8')) as BrowserMachineManifest;
report('download: saved machine (gzip)', manifest.state.bytes, 'B');
report('download: emulator core v86.wasm (gzip)', manifest.wasm.bytes, 'B');
report('download: total before the first prompt', manifest.state.bytes + manifest.wasm.bytes, 'B');
report('saved machine uncompressed (guest RAM)', manifest.state.rawBytes, 'B');

const site = await serveStatic(dist);
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  let workerBytes = 0;
  page.on('response', (response) => {
    if (/machine-worker.*\.js$/.test(response.url()))
      response.body().then(
        (body) => (workerBytes += body.length),
        () => undefined,
      );
  });
  await page.goto(site.url + LESSON_PATH);
  await page.waitForLoadState('networkidle');
  const pageOnly = chromiumPssMiB(browser);
  report('click → first prompt, first visit', await clickToFirstPrompt(page), 'ms');
  report('download: worker JS (libv86 bundled)', workerBytes, 'B');
  await new Promise((done) => setTimeout(done, 2000));
  const withMachine = chromiumPssMiB(browser);
  report('tab memory (Chromium PSS, all processes), lesson page only', pageOnly, 'MiB');
  report('tab memory (Chromium PSS, all processes), browser machine running', withMachine, 'MiB');
  reportTimings('echo (keystroke → on screen)', await echoTimings(page));

  // Same tab, reloaded: the files come from the browser's cache, and the reader already accepted the machine.
  await page.reload();
  await page.waitForLoadState('networkidle');
  report('click → first prompt, files cached', await clickToFirstPrompt(page), 'ms');
  await page.close();
} finally {
  await browser.close();
  await site.close();
}
