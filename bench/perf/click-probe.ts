// Where the time of one click → prompt goes in Chromium (a probe, not a benchmark): fetches, the
// socket's open and its first frames, in the page's clock from the click.
import { launchBrowser } from '../../tests/support/browser.ts';
import { deletePageMachine, snippets, startCourse } from '../../tests/support/terminal-page.ts';

const browser = await launchBrowser();
const course = await startCourse({ WARM_POOL_SIZE: '2', LOG_LEVEL: 'info' });
try {
  for (let run = 0; run < 3; run++) {
    await new Promise((r) => setTimeout(r, 3000));
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.addInitScript(() => {
      const w = window as unknown as { events: [string, number][]; clickedAt?: number };
      w.events = [];
      const mark = (what: string) => w.events.push([what, performance.now()]);
      const realFetch = window.fetch.bind(window);
      window.fetch = async (input, init) => {
        mark(`fetch ${String(input).slice(-40)}`);
        const response = await realFetch(input, init);
        mark(`fetched ${response.status}`);
        return response;
      };
      const RealWebSocket = window.WebSocket;
      window.WebSocket = class extends RealWebSocket {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          mark('ws new');
          this.addEventListener('open', () => mark('ws open'));
          let frames = 0;
          this.addEventListener('message', (event) => {
            if (frames++ < 4) mark(`ws message ${typeof event.data === 'string' ? event.data.slice(0, 40) : 'binary'}`);
          });
        }
      } as typeof WebSocket;
    });
    await page.goto(course.lessonUrl);
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(500);
    const button = snippets(page).nth(1).getByRole('button', { name: 'Exécuter', exact: true });
    await button.evaluate((element) => {
      element.addEventListener('click', () => ((window as unknown as { clickedAt: number }).clickedAt = performance.now()), { capture: true, once: true });
    });
    await button.click();
    await page.waitForFunction(() => /[$#][\s\u00a0]/.test(document.querySelector('lesson-terminal[name="1"] .xterm-rows')?.textContent ?? ''), null, {
      timeout: 60_000,
    });
    const events = await page.evaluate(() => {
      const w = window as unknown as { events: [string, number][]; clickedAt: number };
      return [
        ...w.events.filter(([, t]) => t >= w.clickedAt).map(([what, t]) => `${(t - w.clickedAt).toFixed(1)} ${what}`),
        `${(performance.now() - w.clickedAt).toFixed(1)} prompt seen`,
      ];
    });
    console.log(events.join('\n'));
    console.log('--');
    await deletePageMachine(page, course.server).catch(() => undefined);
    await page.close();
  }
} finally {
  await course.server.stop();
  await browser.close();
}
