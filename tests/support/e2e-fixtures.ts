// The setup end-to-end test files share, as vitest hooks: a Chromium, and the
// built site served either statically (no sandbox server) or by the real
// sandbox server. Call one of them once, at the top level of a test file:
//
//   const web = staticSiteInChromium();
//   it('…', async () => { const page = await web.open('docker_linux/namespaces/'); … });
//
// (Not in browser.ts, site.ts or terminal-page.ts: the benchmarks import
// those outside vitest.)
import { afterAll, beforeAll, expect } from 'vitest';
import { launchBrowser, type LaunchedBrowser, type Page } from './browser.ts';
import { ensureSiteBuilt, serveSite, type ServedSite } from './site.ts';
import { deletePageMachine, startCourse, type Course } from './terminal-page.ts';

export interface StaticSiteInChromium {
  /** The built site, served as static files (throws until beforeAll has served it). */
  readonly site: ServedSite;
  readonly browser: LaunchedBrowser;
  /** A new page (`width`×900) at `path` of the site, checked to answer 200; in `colorScheme` if given. */
  open(path: string, options?: { width?: number; colorScheme?: 'light' | 'dark' }): Promise<Page>;
}

/** Serves the built site statically and launches Chromium before the file's tests; closes both after. */
export function staticSiteInChromium(): StaticSiteInChromium {
  let site: ServedSite | undefined;
  let browser: LaunchedBrowser | undefined;
  beforeAll(async () => {
    site = await serveSite(await ensureSiteBuilt());
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });
  return {
    get site() {
      return started(site, 'the static site');
    },
    get browser() {
      return started(browser, 'Chromium');
    },
    async open(path, { width = 1280, colorScheme } = {}) {
      const page = await this.browser.newPage({ viewport: { width, height: 900 } });
      if (colorScheme !== undefined) await page.emulateMedia({ colorScheme });
      const response = await page.goto(this.site.url + path);
      expect(response?.status()).toBe(200);
      return page;
    },
  };
}

export interface CourseInChromium {
  /** The real sandbox server serving the built site (throws until beforeAll has started it). */
  readonly course: Course;
  readonly browser: LaunchedBrowser;
  /** Deletes the machine (sandbox) `page` made, if it made one; never throws, for teardown hooks. */
  deleteMachineOf(page: Page | undefined): Promise<void>;
}

/**
 * Starts the course (startCourse, with the server's `env`) and launches Chromium before the file's
 * tests; closes both after, once the file's own afterAll hooks (registered
 * later, so run earlier) have deleted their pages' machines.
 */
export function courseInChromium(env: Record<string, string> = {}): CourseInChromium {
  let course: Course | undefined;
  let browser: LaunchedBrowser | undefined;
  beforeAll(async () => {
    course = await startCourse(env);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await course?.server.stop();
  });
  return {
    get course() {
      return started(course, 'the course server');
    },
    get browser() {
      return started(browser, 'Chromium');
    },
    async deleteMachineOf(page) {
      if (course !== undefined) await deletePageMachine(page, course.server).catch(() => undefined);
    },
  };
}

function started<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not running: see the failure of beforeAll`);
  return value;
}
