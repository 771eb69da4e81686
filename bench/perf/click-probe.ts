// Where the time of one click → prompt goes in Chromium (a probe, not a benchmark): fetches, the
// socket's open and its first frames, long tasks, the dock and xterm's rows appearing and each new
// text they show, in the page's clock from the click. Run: node bench/perf/click-probe.ts
import { launchBrowser } from '../../tests/support/browser.ts';
import { deletePageMachine, startCourse } from '../../tests/support/terminal-page.ts';
import { clickAndTime } from './page-clicks.ts';

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
            if (frames++ < 6)
              mark(
                `ws message ${typeof event.data === 'string' ? event.data.slice(0, 40) : JSON.stringify(new TextDecoder().decode(event.data as ArrayBuffer).slice(0, 80))}`,
              );
          });
        }
      } as typeof WebSocket;
      // Main-thread work over 50 ms, and when the terminal's element and xterm's rows appear.
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) w.events.push([`long task ${entry.duration.toFixed(0)} ms from`, entry.startTime]);
      }).observe({ type: 'longtask', buffered: true });
      new MutationObserver(() => {
        if (!w.events.some(([what]) => what === 'xterm rows') && document.querySelector('lesson-terminal .xterm-rows') !== null) mark('xterm rows');
        if (!w.events.some(([what]) => what === 'dock shown') && document.querySelector('.terminal-dock:not([hidden])') !== null) mark('dock shown');
      }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['hidden'] });
      // Each new text of terminal 1's rows, once per animation frame (what the bench's « prompt seen » reads).
      let shown = '';
      const watch = () => {
        const text = document.querySelector('lesson-terminal[name="1"] .xterm-rows')?.textContent?.trim() ?? '';
        if (text !== shown) {
          shown = text;
          mark(`rows ${JSON.stringify(text.slice(-60))}`);
        }
        requestAnimationFrame(watch);
      };
      requestAnimationFrame(watch);
    });
    await page.goto(course.lessonUrl);
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(500);
    const cdp = process.env.PROBE_PROFILE === '1' ? await page.context().newCDPSession(page) : undefined;
    if (cdp !== undefined) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await cdp.send('Profiler.start');
    }
    const promptAfter = await clickAndTime(page, 'prompt');
    if (cdp !== undefined) {
      // Self time by function (PROBE_PROFILE=1): what the main thread did between the click and the prompt.
      const { profile } = await cdp.send('Profiler.stop');
      const self = new Map<string, number>();
      const byId = new Map(profile.nodes.map((node) => [node.id, node]));
      const step = (profile.endTime - profile.startTime) / profile.samples!.length / 1000;
      for (const id of profile.samples!) {
        const frame = byId.get(id)!.callFrame;
        const key = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop()}:${frame.lineNumber}`;
        self.set(key, (self.get(key) ?? 0) + step);
      }
      for (const [key, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${ms.toFixed(1)} ms ${key}`);
    }
    const events = await page.evaluate(() => {
      const w = window as unknown as { events: [string, number][]; clickedAt: number };
      return [
        ...w.events
          .filter(([, t]) => t >= w.clickedAt)
          .sort((a, b) => a[1] - b[1])
          .map(([what, t]) => `${(t - w.clickedAt).toFixed(1)} ${what}`),
      ];
    });
    events.push(`${promptAfter.toFixed(1)} prompt seen (the benchmark's figure)`);
    console.log(events.join('\n'));
    console.log('--');
    await deletePageMachine(page, course.server).catch(() => undefined);
    await page.close();
  }
} finally {
  await course.server.stop();
  await browser.close();
}
