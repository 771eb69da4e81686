// Launches Debian's Chromium through playwright-core for end-to-end tests:
// headless, no network chatter, a fresh profile per launch, removed on close.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../src/lib/site-config.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where screenshots and other artefacts of a test run go (kept by CI). */
export const TEST_RESULTS_DIR = join(PROJECT_ROOT, 'test-results');

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface LaunchedBrowser {
  /** A persistent context on a fresh --user-data-dir. */
  context: BrowserContext;
  /** That --user-data-dir (it names this browser's processes, e.g. to measure their memory). */
  profileDir: string;
  newPage(options?: { viewport?: { width: number; height: number } }): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Starts Chromium with the project's standard flags. Close it in afterAll:
 * close() also deletes the profile folder, even if Chromium crashed.
 */
export async function launchBrowser(contextOptions: BrowserContextOptions = {}): Promise<LaunchedBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: run "bash scripts/install.sh" (Debian package chromium) or set CHROMIUM_PATH.`);
  }
  const profile = await mkdtemp(join(tmpdir(), 'course-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      locale: 'fr-FR',
      ...contextOptions,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  return {
    context,
    profileDir: profile,
    async newPage(options) {
      const page = await context.newPage();
      if (options?.viewport) await page.setViewportSize(options.viewport);
      return page;
    },
    async close() {
      try {
        await context.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}

/** Writes a full-page screenshot to test-results/NAME.png and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(TEST_RESULTS_DIR, { recursive: true });
  const path = join(TEST_RESULTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export type { Browser, BrowserContext, Page };
