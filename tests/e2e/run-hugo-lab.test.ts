// A Hugo course brought as it is (tests/fixtures/cours-lab: TOML, .md pages,
// Learn's `(node2) $` prompts) whose chapter declares its lab once, in its
// _index.md: both pages of the chapter get the same two machines. Each block
// runs on the machine its prompt names; what page 1 leaves on node2, page 2
// reads there after « Suivant », with the same lab and its terminals
// reattached; the namespace view's « Machine » list shows node2's. Machines without Docker: the chapter does not need it, and the
// lab starts faster.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type LaunchedBrowser, type Page } from '../support/browser.ts';
import { startServer, type RunningServer } from '../support/server.ts';
import { buildSite, makeTempDir, PROJECT_ROOT, removeTempDir } from '../support/site.ts';
import { deletePageMachine, rememberedMachine, runSnippet, snippets, waitForConnected, waitForTerminalText } from '../support/terminal-page.ts';

const COURSE = path.join(PROJECT_ROOT, 'tests/fixtures/cours-lab');
const BASE = '/reseau-pratique/';

let work: string | undefined;
let server: RunningServer | undefined;
let browser: LaunchedBrowser | undefined;
let page: Page | undefined;

beforeAll(async () => {
  work = await makeTempDir('hugo-lab-e2e');
  const outDir = path.join(work, 'site');
  const built = await buildSite({ outDir, env: { COURSE_SITE_DIR: COURSE } });
  if (!built.ok) throw new Error(`the fixture course does not build:\n${built.output}`);
  server = await startServer({ env: { SITE_DIR: outDir, BASE_PATH: BASE, MAX_SANDBOXES_PER_CLIENT: '20', SANDBOX_DOCKER: 'false', WARM_POOL_SIZE: '0' } });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
});

afterAll(async () => {
  if (server) await deletePageMachine(page, server).catch(() => undefined);
  await browser?.close();
  await server?.stop();
  removeTempDir(work);
});

/**
 * What terminal `name` shows once its prompt is back on its last line: a run
 * ends at the shell's mark, a frame before xterm has drawn the last output.
 */
function settled(name: string): Promise<string> {
  return waitForTerminalText(page!, name, /:~\$\s*$/, 60_000);
}

describe("a chapter's lab, declared in its _index.md", () => {
  let labId: string | undefined;

  it('gives the first page the lab and runs each block on the machine its prompt names', async () => {
    await page!.goto(new URL('reseau/voisins/', server!.url).href);
    await expect(page!.locator('article').getAttribute('data-lab-machines')).resolves.toBe('node1 node2');
    const [first, second] = [snippets(page!).nth(0), snippets(page!).nth(1)];
    await expect(first.getAttribute('data-machine')).resolves.toBe('node1');
    await expect(second.getAttribute('data-machine')).resolves.toBe('node2');
    await runSnippet(page!, first, 'done', 120_000);
    expect(await settled('node1/1')).toMatch(/\nnode1\n/);
    await runSnippet(page!, second, 'done', 120_000);
    expect(await settled('node2/1')).toMatch(/\nnode2\n/);
    labId = (await rememberedMachine(page!))?.id;
    expect(labId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('keeps the same lab on the next page of the chapter: its terminals reattach, node2 still has the note', async () => {
    await page!
      .getByRole('navigation', { name: 'Pages précédente et suivante' })
      .getByRole('link', { name: /Suivant/ })
      .click();
    await page!.waitForURL('**/reseau/suite/');
    await expect(page!.locator('article').getAttribute('data-lab-machines')).resolves.toBe('node1 node2');
    // Reattached without a click: the page remembered the lab's terminals.
    await waitForConnected(page!, 'node1/1', 120_000);
    await waitForConnected(page!, 'node2/1', 120_000);
    await runSnippet(page!, snippets(page!).nth(0), 'done', 120_000);
    expect(await settled('node2/1')).toMatch(/cat ~\/mot\.txt\nlaissé sur node2\n/);
    expect((await rememberedMachine(page!))?.id).toBe(labId);
    // One lab made for the whole chapter (no warm pool here: nothing else is made).
    expect(server!.logs.filter((line) => line.msg === 'sandbox created').length).toBe(1);
  });

  it("shows the namespace view of the machine picked in the panel's « Machine » list", async () => {
    const firstFrame = new Promise<string>((resolve) =>
      page!.on('websocket', (socket) => {
        if (socket.url().includes('/machines/node2/namespaces')) socket.once('framereceived', (frame) => resolve(String(frame.payload)));
      }),
    );
    await page!.getByRole('button', { name: 'Vue des namespaces', exact: true }).click();
    const picker = page!.locator('[data-namespace-machine]');
    await expect(picker.evaluate((select: HTMLSelectElement) => [...select.options].map((option) => option.value))).resolves.toEqual(['node1', 'node2']);
    await expect(picker.inputValue()).resolves.toBe('node1');
    await picker.selectOption('node2');
    expect(JSON.parse(await firstFrame)).toMatchObject({ type: 'snapshot', machine: `${labId}/node2` });
  });
});
