// Exécuter → first output, in real Chromium against the real server: the
// time from the click to the first text in the terminal (machine creation,
// terminal code download, WebSocket, shell prompt), with sandboxes made on
// the spot (cold) and taken from the warm pool. Also what the lesson page
// weighs before any click, and the lazily loaded terminal code.
// Run with `npm run bench -- click`.
import type { Page } from 'playwright-core';
import { launchBrowser, type LaunchedBrowser } from '../tests/support/browser.ts';
import { deletePageMachine, startCourse, type Course } from '../tests/support/terminal-page.ts';
import { clickAndTime, waitForPool } from './perf/page-clicks.ts';
import { report, reportTimings } from './stats.ts';

const SAMPLES = Number(process.env.CLICK_BENCH_SAMPLES ?? 8);
const WARM_POOL = 2;

/** Bytes of every response the page receives, split by kind, from now on. */
function countBytes(page: Page): { total: number; script: number; css: number } {
  const totals = { total: 0, script: 0, css: 0 };
  page.on('response', (response) => {
    const type = response.request().resourceType();
    response.body().then(
      (body) => {
        totals.total += body.length;
        if (type === 'script') totals.script += body.length;
        if (type === 'stylesheet') totals.css += body.length;
      },
      () => undefined,
    );
  });
  return totals;
}

async function sample(browser: LaunchedBrowser, course: Course, beforeClick?: () => Promise<void>): Promise<number> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    await page.goto(course.lessonUrl);
    await page.waitForLoadState('networkidle');
    await beforeClick?.();
    return await clickAndTime(page, 'output');
  } catch (error) {
    const shown = await page.evaluate(() => ({
      terminal: document.querySelector('lesson-terminal')?.getAttribute('data-state') ?? 'absent',
      run: document.querySelector('[data-run-status]:not(:empty)')?.textContent ?? '',
    }));
    throw new Error(`no first output: ${JSON.stringify(shown)}`, { cause: error });
  } finally {
    await deletePageMachine(page, course.server).catch(() => undefined);
    await page.close();
  }
}

async function weighPage(browser: LaunchedBrowser, course: Course): Promise<void> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    const before = countBytes(page);
    await page.goto(course.lessonUrl);
    await page.waitForLoadState('networkidle');
    const snapshot = { ...before };
    report('lesson page bytes before interaction', snapshot.total, 'B');
    report('lesson page JS before interaction', snapshot.script, 'B');
    report('lesson page CSS before interaction', snapshot.css, 'B');
    await clickAndTime(page, 'output');
    await page.waitForLoadState('networkidle');
    report('terminal chunk JS (lazy)', before.script - snapshot.script, 'B');
    report('terminal chunk CSS (lazy)', before.css - snapshot.css, 'B');
    await deletePageMachine(page, course.server).catch(() => undefined);
  } finally {
    await page.close();
  }
}

const browser = await launchBrowser();
try {
  const cold = await startCourse({ WARM_POOL_SIZE: '0' });
  try {
    await weighPage(browser, cold);
    const timings: number[] = [];
    for (let index = 0; index < SAMPLES; index++) timings.push(await sample(browser, cold));
    reportTimings('click → first output, cold sandbox', timings);
  } finally {
    await cold.server.stop();
  }

  const warm = await startCourse({ WARM_POOL_SIZE: String(WARM_POOL) });
  try {
    const timings: number[] = [];
    for (let index = 0; index < SAMPLES; index++) timings.push(await sample(browser, warm, () => waitForPool(warm.server, WARM_POOL)));
    reportTimings('click → first output, warm pool', timings);
  } finally {
    await warm.server.stop();
  }
} finally {
  await browser.close();
}
