// `npm run dev` after a site-configuration edit: when the dev server asks Astro to restart
// (dev-config-restart.ts), driven by a hand-made clock, and which server generation pages may load from
// (dev-generation.ts). The real restarts, with a browser, are in tests/e2e/dev-live-reload.test.ts.
import { describe, expect, it } from 'vitest';
import { BUSY_LIMIT_MS, configRestarter, IDLE_MS, noteConfigLoad, QUIET_MS, RETRY_MS, SETTLE_MS } from '../../src/lib/authoring/dev-config-restart.ts';
import { generationEndpoint, generationPageScript, newGeneration } from '../../src/lib/authoring/dev-generation.ts';
import { isSiteConfigFile } from '../../src/lib/authoring/dev-watch.ts';

/** A clock and timers that move only when told to. */
function fakeTime() {
  let now = 0;
  let timers: { at: number; run: () => void }[] = [];
  return {
    now: () => now,
    setTimer(run: () => void, ms: number) {
      const timer = { at: now + ms, run };
      timers.push(timer);
      return { clear: () => (timers = timers.filter((t) => t !== timer)) };
    },
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const next = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!next) break;
        timers = timers.filter((t) => t !== next);
        now = next.at;
        next.run();
      }
      now = end;
    },
  };
}

/** A server generation as the restarter sees it. */
function server(time: ReturnType<typeof fakeTime>) {
  const generation = newGeneration(time.now);
  // What configureServer does for it (generationEndpoint), then its server listens.
  const plugin = generationEndpoint('/cours/', generation);
  (plugin.configureServer as (s: unknown) => void)({ httpServer: null, middlewares: { stack: [] }, environments: { client: { hot: { send() {} } } } });
  return generation;
}

/** A dev server's side of the generation, with its middleware and its channel to the pages. */
function endpoint() {
  const generation = newGeneration();
  const stack: { handle: (req: unknown, res: unknown, next: () => void) => void }[] = [];
  const sent: unknown[] = [];
  const hot = { send: (payload: unknown) => sent.push(payload) };
  const plugin = generationEndpoint('/cours/', generation);
  const after = (plugin.configureServer as (s: unknown) => (() => void) | undefined)({
    httpServer: null,
    middlewares: { stack },
    environments: { client: { hot } },
  });
  after?.();
  const request = (url: string) => {
    const headers: Record<string, string> = {};
    const res = { statusCode: 0, body: '', setHeader: (n: string, v: string) => (headers[n] = v), end: (b: string) => (res.body = b), once() {} };
    let passed = false;
    stack[0]!.handle({ url }, res, () => (passed = true));
    return { status: res.statusCode, body: res.body, headers, passed };
  };
  return { generation, hot, sent, request };
}

/** `pageLoading`: a page is reloading into this server when the restarter starts. */
function setup(options: { disk: string; read?: string; pageLoading?: boolean }) {
  const time = fakeTime();
  const generation = server(time);
  if (options.pageLoading) generation.requestStarted();
  const files = { digest: options.disk };
  const requests: number[] = [];
  const restarter = configRestarter({
    generation,
    readDigest: options.read ?? 'read',
    diskDigest: () => files.digest,
    requestRestart: () => requests.push(time.now()),
    now: time.now,
    setTimer: time.setTimer,
  });
  return { time, generation, files, requests, restarter };
}

describe('the dev server restarts on a configuration edit once it is complete', () => {
  it('asks nothing while the files hold what was read', () => {
    const { time, requests, restarter } = setup({ disk: 'read' });
    restarter.changed();
    time.advance(10_000);
    expect(requests).toEqual([]);
  });

  it('asks once the files have settled, not on the first event of a save (an editor truncates, then writes)', () => {
    const { time, files, requests, restarter } = setup({ disk: 'read' });
    time.advance(QUIET_MS);
    files.digest = 'empty';
    restarter.changed();
    time.advance(SETTLE_MS / 2);
    files.digest = 'written';
    restarter.changed();
    time.advance(SETTLE_MS - 1);
    expect(requests).toEqual([]);
    time.advance(1);
    expect(requests).toHaveLength(1);
  });

  it('asks again when Astro ignored the request (it was restarting), not once Astro read the configuration', () => {
    const { time, files, requests, restarter } = setup({ disk: 'read' });
    time.advance(QUIET_MS);
    files.digest = 'new';
    restarter.changed();
    time.advance(SETTLE_MS);
    expect(requests).toHaveLength(1);
    time.advance(RETRY_MS);
    expect(requests).toHaveLength(2); // ignored: nothing read the configuration
    noteConfigLoad(); // Astro reads it (a restart under way, or refused because the file is broken)
    time.advance(10 * RETRY_MS);
    expect(requests).toHaveLength(2); // no loop of failed restarts
    files.digest = 'fixed';
    restarter.changed();
    time.advance(SETTLE_MS);
    expect(requests).toHaveLength(3); // the next edit asks again
  });

  it('checks at start: an edit saved while this server was being made restarts it', () => {
    const { time, requests } = setup({ disk: 'edited during the restart' });
    time.advance(QUIET_MS);
    expect(requests).toHaveLength(1);
  });

  it('waits for the new server to have served a while and for the page loads in flight to end', () => {
    const { time, generation, requests } = setup({ disk: 'edited', pageLoading: true });
    time.advance(QUIET_MS + 2_000);
    expect(requests).toEqual([]);
    generation.requestEnded();
    const ended = time.now();
    time.advance(IDLE_MS + SETTLE_MS);
    expect(requests).toHaveLength(1);
    expect(requests[0]! - ended).toBeGreaterThanOrEqual(IDLE_MS);
  });

  it('does not wait for ever on a request that never ends', () => {
    const { time, requests } = setup({ disk: 'edited', pageLoading: true });
    time.advance(BUSY_LIMIT_MS + 2 * SETTLE_MS);
    expect(requests).toHaveLength(1);
  });

  it('an older server stops asking once a newer one exists', () => {
    const { time, files, requests, restarter } = setup({ disk: 'read' });
    server(time); // the restart made the next server
    files.digest = 'new';
    restarter.changed();
    time.advance(10_000);
    expect(requests).toEqual([]);
  });
});

describe('server generations', () => {
  it('pages load only from the newest server, and not once its restart was asked for', () => {
    const time = fakeTime();
    const first = server(time);
    expect(first.isServing()).toBe(true);
    first.retire();
    expect(first.isCurrent()).toBe(true);
    expect(first.isServing()).toBe(false);
    const second = server(time);
    expect(first.isCurrent()).toBe(false);
    expect(second.isServing()).toBe(true);
  });

  it('counts the reloads sent to the pages, gives the count to each response and to the question', () => {
    const { generation, hot, sent, request } = endpoint();
    const page = request('/cours/01-fichiers/');
    expect(page.passed).toBe(true);
    expect(page.headers['Server-Timing']).toBe('course-dev-reloads;desc="0"');
    hot.send({ type: 'full-reload', path: '*' });
    hot.send({ type: 'update', updates: [] });
    hot.send({ type: 'full-reload', path: '/autre.html' });
    expect(sent).toHaveLength(3); // all sent on
    const answer = request('/cours/__course-dev/generation');
    expect(answer.passed).toBe(false);
    expect(JSON.parse(answer.body)).toEqual({ generation: generation.id, reloads: 1 });
    expect(request('/cours/01-fichiers/').headers['Server-Timing']).toBe('course-dev-reloads;desc="1"');
    generation.retire();
    expect(request('/cours/__course-dev/generation').status).toBe(503);
  });

  it("the page script asks under the page's base path", () => {
    expect(generationPageScript('/linux-pratique/')).toContain('"/linux-pratique/__course-dev/generation"');
  });

  it('knows the configuration files of a site', () => {
    expect(isSiteConfigFile('/site/config.toml', '/site')).toBe(true);
    expect(isSiteConfigFile('/site/hugo.yaml', '/site')).toBe(true);
    expect(isSiteConfigFile('/site/config/_default/params.toml', '/site')).toBe(true);
    expect(isSiteConfigFile('/site/content/config.toml', '/site')).toBe(false);
    expect(isSiteConfigFile('/site/static/hugo.toml', '/site')).toBe(false);
  });
});
