// `npm run dev`: an open page follows a restart of the dev server (a configuration edit) even when it missed
// the restart itself, and no page reloads into a server that is going away.
//
// Vite's page client reloads the page when its live-reload socket closes and the server answers again. A page
// that was loading during the restart may get its HTML from the old server and fail to open its socket
// (the server is down for a moment): Vite's client then gives up for good, and the page kept the old title and
// missed every later edit (about 1 run in 4 on a loaded host). So each configuration read is a generation:
// the page's HTML carries the generation that rendered it (an inline head script), and a small page script
// asks the server for its generation when the page loads, when its socket connects, and every second while
// the page is shown; when they differ, the page loads again.
// The same holds for Vite's reload messages (a page edit): one sent while a page loads is lost for that
// page, which then kept the old text. So the server counts the reloads it sends, each response carries the
// count at its start (a Server-Timing entry, readable by the page), and the page asks for the count too.
//
// A page must not reload into a server that is going away: Vite's restart destroys the old server's open
// connections and leaves a moment when nothing listens, so that reload fails and Chromium's error page stays
// (nothing can reload it then; seen in the dev e2e). Vite makes its new server before it closes the old one:
// from that moment the old one is superseded, and it answers neither the generation question (503) nor Vite's
// page client's « is the server back? » ping, which Vite's client otherwise takes as the signal to reload at
// once. The same holds from the moment a restart is asked for (dev-config-restart.ts), which waits first for
// the server to have served a while and to have no request in flight (pages that were reloading).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Plugin } from 'vite';

type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/** How often a shown page checks (a restart takes seconds; one tiny loopback request per second per open tab). */
export const CHECK_EVERY_MS = 1_000;
/** How long a server stays out of the pages' way after a restart was asked for, if Astro refuses it (a broken configuration). */
export const RETIRING_MS = 15_000;

// Shared by every load of this module in the process: each restart evaluates astro.config.mjs, and this file, again.
const STATE = Symbol.for('course.dev-generation');
interface GenerationState {
  current: string | undefined;
  /** Until when the current server is being replaced (a restart asked for). */
  retiringUntil: number;
}
const shared = globalThis as { [STATE]?: GenerationState };
shared[STATE] ??= { current: undefined, retiringUntil: 0 };
const state = shared[STATE];

/** One configuration read of the dev server, and what its server is doing. */
export interface DevGeneration {
  readonly id: string;
  /** The newest server (false once a restart made the next one). */
  isCurrent(): boolean;
  /** The newest server and not being replaced: pages may load from it. */
  isServing(): boolean;
  /** A restart was asked for: pages wait for the next server. */
  retire(): void;
  /** Since when it accepts requests (undefined while its restart is under way). */
  servingSince(): number | undefined;
  /** Since when no request is in flight (undefined while one is). */
  idleSince(): number | undefined;
  /** How many reloads this server has sent the pages. */
  reloads(): number;
}

export function newGeneration(now: () => number = Date.now): DevGeneration & {
  /** Its server's side, wired by generationEndpoint(). */
  started(): void;
  requestStarted(): void;
  requestEnded(): void;
  reloaded(): void;
} {
  const id = randomUUID();
  let servingSince: number | undefined;
  let inFlight = 0;
  let idleSince: number | undefined;
  let reloads = 0;
  return {
    id,
    reloads: () => reloads,
    reloaded() {
      reloads++;
    },
    isCurrent: () => state.current === id,
    isServing: () => state.current === id && now() >= state.retiringUntil,
    retire() {
      if (state.current === id) state.retiringUntil = now() + RETIRING_MS;
    },
    servingSince: () => servingSince,
    idleSince: () => (inFlight === 0 ? idleSince : undefined),
    started() {
      servingSince = now();
      idleSince = servingSince;
    },
    requestStarted() {
      inFlight++;
    },
    requestEnded() {
      inFlight = Math.max(0, inFlight - 1);
      if (inFlight === 0) idleSince = now();
    },
  };
}

/** Where the page asks the server for its generation (under the page's base path, answered before Astro's routes). */
export function generationPath(basePath: string): string {
  return `${basePath}__course-dev/generation`;
}

/** The inline head script: the generation that rendered this page. */
export function generationHeadScript(generation: string): string {
  return `globalThis.__COURSE_DEV_GENERATION__=${JSON.stringify(generation)};`;
}

/** The name of the Server-Timing entry that carries the reload count at the response's start. */
export const RELOADS_TIMING = 'course-dev-reloads';

/** The page script: reload when the server serving now is of another generation, or has sent a reload since the page's HTML. */
export function generationPageScript(basePath: string): string {
  return `const rendered = globalThis.__COURSE_DEV_GENERATION__;
const reloadsAtRender = performance.getEntriesByType('navigation')[0]?.serverTiming?.find((entry) => entry.name === ${JSON.stringify(RELOADS_TIMING)})?.description;
if (typeof rendered === 'string') {
  let reloading = false;
  const check = async () => {
    if (reloading || document.visibilityState === 'hidden') return;
    try {
      const answer = await fetch(${JSON.stringify(generationPath(basePath))}, { cache: 'no-store' });
      if (!answer.ok) return;
      const { generation, reloads } = await answer.json();
      const missed = generation !== rendered || (reloadsAtRender !== undefined && String(reloads) !== reloadsAtRender);
      if (missed && !reloading) {
        reloading = true;
        location.reload();
      }
    } catch {
      // The server is restarting: the next check will tell.
    }
  };
  void check();
  setInterval(check, ${CHECK_EVERY_MS});
  import.meta.hot?.on('vite:ws:connect', () => void check());
}
`;
}

/**
 * The dev server's side: its generation, as JSON, first among the middlewares (Astro's would answer 404 under
 * the base path), its requests counted; once superseded or being replaced, 503 to the question and no answer
 * to Vite's ping.
 */
export function generationEndpoint(basePath: string, generation: ReturnType<typeof newGeneration>): Plugin {
  const path = generationPath(basePath);
  const api = `${basePath}api/`;
  const handle: Handler = (req, res, next) => {
    if (req.url?.startsWith(api)) return next(); // « Exécuter », forwarded (dev-sandbox-proxy.ts): not a page loading
    if (req.url?.split('?')[0] !== path) {
      res.setHeader('Server-Timing', `${RELOADS_TIMING};desc="${generation.reloads()}"`);
      generation.requestStarted();
      res.once('close', () => generation.requestEnded());
      return next();
    }
    const serving = generation.isServing();
    res.statusCode = serving ? 200 : 503;
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Cache-Control', 'no-store');
    res.end(JSON.stringify(serving ? { generation: generation.id, reloads: generation.reloads() } : { replaced: generation.id }));
  };
  return {
    name: 'course:dev-generation',
    apply: 'serve',
    configureServer(server) {
      state.current = generation.id;
      state.retiringUntil = 0;
      // Every full reload sent to the pages (Vite's, Astro's, ours) is counted before it goes.
      const hot = server.environments.client.hot;
      const send = hot.send.bind(hot) as (...args: unknown[]) => void;
      hot.send = ((...args: unknown[]) => {
        const payload = args[0] as { type?: string; path?: string } | undefined;
        // A reload of one HTML file of Vite's own (path "….html") is no page of the course.
        if (payload?.type === 'full-reload' && !payload.path?.endsWith('.html')) generation.reloaded();
        send(...args);
      }) as typeof hot.send;
      if (server.httpServer === null) generation.started();
      else server.httpServer.once('listening', () => generation.started());
      // Before Vite's own listener, which would accept the ping.
      server.httpServer?.prependListener('upgrade', (req: IncomingMessage, socket: Duplex) => {
        if (req.headers['sec-websocket-protocol'] === 'vite-ping' && !generation.isServing()) socket.destroy();
      });
      // Returned: runs after Astro's own middlewares are in place, then goes before them.
      return () => {
        (server.middlewares as unknown as { stack: { route: string; handle: Handler }[] }).stack.unshift({ route: '', handle });
      };
    },
  };
}
