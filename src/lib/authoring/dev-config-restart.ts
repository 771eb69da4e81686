// `npm run dev`: an edit of the Hugo site's configuration restarts the dev server, and the restarted server
// must serve what the files hold once the edit is complete.
//
// Astro restarts on the first change event of a file given to addWatchFile, reads its configuration at once,
// and ignores every event that arrives during the restart (restartInFlight, astro/dist/core/dev/restart.js).
// An editor that truncates the file and then writes it (Node's writeFileSync, many editors) let the restart
// read an empty config.toml: base path "/", so every page of the course answered 404, and the write's own
// event was dropped, which kept that state until the next configuration edit (the "404 for 90 s" of the
// whole-suite runs). An edit saved during a restart was lost the same way.
//
// So the restart is asked for here, against what was read: Astro is told to restart on a marker path that
// is no file (restartMarker), and a change of that marker is emitted once the configuration files have
// settled and differ from what the running server read (HugoSiteConfig.sourcesDigest). Each new server
// checks again when it starts, so an edit made during its own restart is not lost.
import { join } from 'node:path';
import type { ViteDevServer } from 'vite';
import { siteConfigSourcesDigest } from '../hugo/site-config-file.ts';
import type { DevGeneration } from './dev-generation.ts';

/** How long the configuration files stay unchanged before a restart is asked for (an editor's save is truncate + write). */
export const SETTLE_MS = 150;
/** How long a request to restart may go unanswered before it is made again (Astro ignores it while it restarts). */
export const RETRY_MS = 1_000;
/**
 * A server is restarted again (an edit saved during its restart) only once it has served this long and had
 * no request in flight for IDLE_MS: Vite's restart destroys the open connections, and a page whose reload was
 * under way got Chromium's error page, which nothing reloads (seen in the dev e2e). Meanwhile the pages are
 * kept from reloading into it (dev-generation.ts).
 */
export const QUIET_MS = 1_000;
export const IDLE_MS = 300;
/** A server busy for this long is restarted all the same (a request that never ends must not block the edit). */
export const BUSY_LIMIT_MS = 10_000;

/** The path Astro restarts on (addWatchFile): no file, only its change event, emitted here. */
export function restartMarker(siteDir: string): string {
  return join(siteDir, '.course-dev-restart');
}

// Shared by every load of this module in the process: each restart evaluates astro.config.mjs, and this file, again.
const STATE = Symbol.for('course.dev-config-restart');
interface RestartState {
  /** How many times the configuration was read (astro.config.mjs evaluated): a restart Astro began. */
  loads: number;
}
const shared = globalThis as { [STATE]?: RestartState };
shared[STATE] ??= { loads: 0 };
const state = shared[STATE];

/** Called first in astro.config.mjs, before the configuration is read (it may fail to read). */
export function noteConfigLoad(): void {
  state.loads++;
}

/** What the restart logic needs to know; injected so the unit test can drive it. */
export interface ConfigRestartOptions {
  /** This server's generation: it stops acting once a restart made another one. */
  generation: Pick<DevGeneration, 'isCurrent' | 'retire' | 'servingSince' | 'idleSince'>;
  /** The digest its configuration was read from. */
  readDigest: string;
  /** The digest of the configuration files now (throws while a file is half gone). */
  diskDigest: () => string;
  /** Tells Astro to restart. */
  requestRestart: () => void;
  now?: () => number;
  setTimer?: (run: () => void, ms: number) => { clear(): void };
}

/** The running server's side: `changed()` on each event of a configuration file; it checks once at start too. */
export function configRestarter(options: ConfigRestartOptions): { changed(): void } {
  const now = options.now ?? Date.now;
  const setTimer =
    options.setTimer ??
    ((run: () => void, ms: number) => {
      const timer = setTimeout(run, ms);
      timer.unref();
      return { clear: () => clearTimeout(timer) };
    });
  let requested: { digest: string; loads: number; at: number } | undefined;
  /** Since when a restart is due and waits for the server to be idle. */
  let dueSince: number | undefined;
  let timer: { clear(): void } | undefined;
  const schedule = (ms: number) => {
    timer?.clear();
    timer = setTimer(check, ms);
  };
  function check(): void {
    const { generation } = options;
    if (!generation.isCurrent()) return; // a newer server has read the configuration
    let disk: string;
    try {
      disk = options.diskDigest();
    } catch {
      schedule(SETTLE_MS); // a file listed and removed at once: look again
      return;
    }
    if (disk === options.readDigest) {
      dueSince = undefined;
      return; // this server serves what the files hold
    }
    const since = generation.servingSince();
    if (since === undefined) {
      schedule(SETTLE_MS); // still restarting: Astro would ignore the request
      return;
    }
    dueSince ??= now();
    const idle = generation.idleSince();
    if (now() - dueSince < BUSY_LIMIT_MS) {
      if (idle === undefined) {
        schedule(SETTLE_MS); // a page loading: its reload would be cut
        return;
      }
      const wait = Math.max(since + QUIET_MS, idle + IDLE_MS) - now();
      if (wait > 0) {
        schedule(wait);
        return;
      }
    }
    if (requested?.digest === disk) {
      // Astro read the configuration since: a restart under way (its server will check again), or one it
      // refused (a broken file, its error printed): the next edit asks again, not a loop of failed restarts.
      if (state.loads > requested.loads) return;
      if (now() - requested.at < RETRY_MS) {
        schedule(RETRY_MS - (now() - requested.at));
        return;
      }
    }
    requested = { digest: disk, loads: state.loads, at: now() };
    generation.retire();
    options.requestRestart();
    schedule(RETRY_MS); // not read by then: Astro was restarting and ignored it, ask again
  }
  schedule(SETTLE_MS);
  return { changed: () => schedule(SETTLE_MS) };
}

/** Wires configRestarter to a dev server: the marker's change event is what Astro restarts on. */
export function keepConfigInStep(server: ViteDevServer, siteDir: string, readDigest: string, generation: DevGeneration): { changed(): void } {
  const marker = restartMarker(siteDir);
  return configRestarter({
    generation,
    readDigest,
    diskDigest: () => siteConfigSourcesDigest(siteDir),
    requestRestart: () => server.watcher.emit('change', marker),
  });
}
