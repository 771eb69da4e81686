// A static build pointed at a sandbox server on another origin
// (COURSE_SANDBOX_URL): the page, served by a plain static server, creates
// its machine there and opens terminals with ?token= (the server's cookie
// cannot reach a page on another origin).
import { createServer, type Server } from 'node:http';
import sirv from 'sirv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type LaunchedBrowser, type Page } from '../support/browser.ts';
import { startServer, type RunningServer } from '../support/server.ts';
import { buildSite, makeTempDir, removeTempDir } from '../support/site.ts';
import { LESSON_PATH, afterLast, deletePageMachine, runSnippet, snippets, terminalText } from '../support/terminal-page.ts';

let outDir: string | undefined;
let staticServer: Server | undefined;
let sandboxServer: RunningServer | undefined;
let browser: LaunchedBrowser | undefined;
let page: Page | undefined;
let siteOrigin = '';

beforeAll(async () => {
  outDir = await makeTempDir('course-cross-origin');
  const directory = outDir;
  // The static server first (its origin goes into the sandbox server's allowlist), serving the build once it exists.
  const serve = sirv(directory, { dev: true });
  staticServer = createServer((req, res) =>
    serve(req, res, () => {
      res.writeHead(404).end();
    }),
  );
  await new Promise<void>((resolve) => staticServer!.listen(0, '127.0.0.1', resolve));
  siteOrigin = `http://127.0.0.1:${(staticServer.address() as { port: number }).port}`;
  sandboxServer = await startServer({ env: { ALLOWED_ORIGINS: siteOrigin, MAX_SANDBOXES_PER_CLIENT: '20' } });
  const build = await buildSite({ outDir, env: { COURSE_SANDBOX_URL: sandboxServer.url } });
  if (!build.ok) throw new Error(`build failed:\n${build.output}`);
  browser = await launchBrowser();
});

afterAll(async () => {
  if (sandboxServer !== undefined) await deletePageMachine(page, sandboxServer).catch(() => undefined);
  await browser?.close();
  await sandboxServer?.stop();
  await new Promise((resolve) => (staticServer ? staticServer.close(resolve) : resolve(undefined)));
  removeTempDir(outDir);
});

describe('a static build pointed at a sandbox server on another origin', () => {
  it('runs a snippet there, with the token in the terminal URL instead of a cookie', async () => {
    page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    const sockets: string[] = [];
    page.on('websocket', (socket) => sockets.push(socket.url()));
    await page.goto(`${siteOrigin}/${LESSON_PATH}`);
    await runSnippet(page, snippets(page).nth(1));
    expect(afterLast(await terminalText(page, '1'), 'hostname my.name.is.bob')).toMatch(/\nmy\.name\.is\.bob/);

    const sandboxOrigin = new URL(sandboxServer!.url).origin;
    expect(sockets.length).toBeGreaterThan(0);
    for (const url of sockets) {
      expect(new URL(url).origin.replace(/^ws/, 'http')).toBe(sandboxOrigin);
      expect(new URL(url).searchParams.get('token')).toMatch(/.{20,}/);
    }
    // The page got no cookie from the sandbox server.
    expect(await page.context().cookies(sandboxServer!.url)).toEqual([]);
  });
});
