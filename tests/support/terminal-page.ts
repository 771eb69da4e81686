// Drives the lesson page's runnable snippets in real Chromium, against the
// real sandbox server serving the built site: click Exécuter like a reader,
// wait for the run to finish, read what the terminal shows (.xterm-rows).
// Used by tests/e2e/run-*.test.ts and bench/click.bench.ts.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { TEST_RESULTS_DIR } from './browser.ts';
import { deleteSandbox } from './server-client.ts';
import { startServer, type RunningServer } from './server.ts';
import { ensureSiteBuilt } from './site.ts';

export const LESSON_PATH = 'docker_linux/namespaces/';

/** Where the client keeps the reader's machine (src/client/sandbox-memory.ts). */
const MEMORY_PREFIX = 'course-sandbox:';

export interface Course {
  server: RunningServer;
  lessonUrl: string;
}

/** Builds the site if stale, then starts the real sandbox server serving it. */
export async function startCourse(env: Record<string, string> = {}): Promise<Course> {
  const siteDir = await ensureSiteBuilt();
  // Tests open many pages from one address: lift the per-reader limit (each test still deletes its machines).
  const server = await startServer({ env: { SITE_DIR: siteDir, MAX_SANDBOXES_PER_CLIENT: '20', ...env } });
  return { server, lessonUrl: new URL(LESSON_PATH, server.url).href };
}

/** The page's snippets, in lesson order. */
export function snippets(page: Page): Locator {
  return page.locator('figure[data-transcript]');
}

/** The outcome a snippet's run ended with, and its status line. */
export interface SnippetOutcome {
  state: string;
  status: string;
}

/**
 * Clicks the snippet's Exécuter button and waits until its run ends (done,
 * stopped, error, or an offer of a browser machine). Throws with the status line unless it ends as `expected`.
 */
export async function runSnippet(page: Page, snippet: Locator, expected = 'done', timeoutMs = 90_000): Promise<SnippetOutcome> {
  const controls = snippet.locator('[data-run-controls]');
  await snippet.getByRole('button', { name: 'Exécuter', exact: true }).click();
  // The click handler marks the run as started synchronously; wait for its end.
  // "offer": no server machine, and the page offers one in the browser (a button to click).
  await controls
    .and(page.locator('[data-run-state="done"], [data-run-state="stopped"], [data-run-state="error"], [data-run-state="offer"]'))
    .waitFor({ timeout: timeoutMs });
  // A run ends at the shell's mark, which xterm parses in the same write as
  // the output before it; the screen is drawn at the next animation frame.
  // Two frames later every row the run printed is on screen to be read.
  await page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))));
  const outcome = {
    state: (await controls.getAttribute('data-run-state')) ?? '',
    status: (await controls.locator('[data-run-status]').innerText()).trim(),
  };
  if (outcome.state !== expected) {
    throw new Error(`Snippet ended as "${outcome.state}" instead of "${expected}": ${outcome.status}`);
  }
  return outcome;
}

/** The element of terminal `name`: "1", or "node2/1" for terminal 1 of machine node2 of a lab page. */
function terminalSelector(name: string): string {
  const slash = name.indexOf('/');
  return slash === -1 ? `lesson-terminal[name="${name}"]` : `lesson-terminal[machine="${name.slice(0, slash)}"][name="${name.slice(slash + 1)}"]`;
}

export function terminal(page: Page, name: string): Locator {
  return page.locator(terminalSelector(name));
}

/** What terminal `name` shows on screen now (its visible rows), one line per row. */
export async function terminalText(page: Page, name: string): Promise<string> {
  const rows = terminal(page, name).locator('.xterm-rows');
  return (await rows.innerText()).replace(/\u00a0/g, ' ');
}

/** Waits until terminal `name` shows text matching `pattern`; returns the text. */
export async function waitForTerminalText(page: Page, name: string, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  await page.waitForFunction(
    ({ selector, source, flags }) => {
      const rows = document.querySelector(selector);
      return rows !== null && new RegExp(source, flags).test((rows as HTMLElement).innerText.replace(/\u00a0/g, ' '));
    },
    { selector: `${terminalSelector(name)} .xterm-rows`, source: pattern.source, flags: pattern.flags },
    { timeout: timeoutMs, polling: 100 },
  );
  return terminalText(page, name);
}

/** Waits until terminal `name` is connected to its shell. */
export async function waitForConnected(page: Page, name: string, timeoutMs = 60_000): Promise<void> {
  try {
    await page.locator(`${terminalSelector(name)}[data-state="connected"]`).waitFor({ state: 'attached', timeout: timeoutMs });
  } catch (error) {
    // Say what the page shows instead, so a failure explains itself.
    const shown = await page.evaluate(
      (selector) => ({
        terminal: document.querySelector(selector)?.getAttribute('data-state') ?? 'absent',
        status: document.querySelector(`${selector} [data-terminal-status]`)?.textContent ?? '',
        machine: document.querySelector('[data-machine-status]')?.textContent ?? 'no terminal area',
        remembered: Object.keys(sessionStorage),
      }),
      terminalSelector(name),
    );
    throw new Error(`terminal ${name} is not connected: ${JSON.stringify(shown)}`, { cause: error });
  }
}

/** Types a line into terminal `name` from the keyboard, as a reader would. */
export async function typeInTerminal(page: Page, name: string, line: string): Promise<void> {
  await terminal(page, name).locator('.xterm-screen').click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

let commandCount = 0;

/**
 * Types `command` into terminal `name` and returns what it printed. The line
 * ends with an echo of a unique word, split in the typed line so that only
 * the output matches: the text between the typed line and that word is the
 * command's output.
 */
export async function commandOutput(page: Page, name: string, command: string, timeoutMs = 60_000): Promise<string> {
  const word = `fin${process.pid.toString(36)}x${(commandCount++).toString(36)}`;
  const tail = `; echo "=""=${word}"`;
  await typeInTerminal(page, name, `${command}${tail}`);
  const text = await waitForTerminalText(page, name, new RegExp(`(^|\\n)==${word}`), timeoutMs);
  const start = text.lastIndexOf(`"=""=${word}"`);
  const end = text.lastIndexOf(`==${word}`);
  return text.slice(start + tail.length - '; echo '.length, end).trim();
}

/** The text after the last occurrence of `needle` (what a command printed after its echo). */
export function afterLast(text: string, needle: string): string {
  const at = text.lastIndexOf(needle);
  return at === -1 ? '' : text.slice(at + needle.length);
}

/** The reader's machine as the page remembers it (sessionStorage), if any. */
export async function rememberedMachine(page: Page): Promise<{ id: string; token: string; terminals: string[] } | undefined> {
  return page.evaluate((prefix) => {
    for (let index = 0; index < sessionStorage.length; index++) {
      const key = sessionStorage.key(index);
      if (key?.startsWith(prefix)) return JSON.parse(sessionStorage.getItem(key) ?? 'null') ?? undefined;
    }
    return undefined;
  }, MEMORY_PREFIX);
}

/** Deletes the page's machine on the server (test cleanup); ignores a page that has none. */
export async function deletePageMachine(page: Page | undefined, server: RunningServer): Promise<void> {
  if (page === undefined || page.isClosed()) return;
  const machine = await rememberedMachine(page).catch(() => undefined);
  if (machine !== undefined) await deleteSandbox(server, machine);
}

/** A screenshot of the window (the fixed terminal panel included) to test-results/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(TEST_RESULTS_DIR, { recursive: true });
  const path = join(TEST_RESULTS_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}
