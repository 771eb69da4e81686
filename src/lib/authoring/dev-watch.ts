// `npm run dev` like `hugo server`: an edit of the Hugo site configuration
// (hugo.toml, config.toml, config/_default/*) restarts the dev server, which
// reads the configuration again (title, menus, params, base path) and reloads
// the open page. Pages and _index.md are watched by Astro (content collection).
// A file of static/ (Vite's publicDir) is served fresh, but Vite sends the page
// nothing when one changes (it is no module of the page): here, any change
// under static/ reloads the open page, as `hugo server` does. A site outside
// the project (COURSE_SITE_DIR elsewhere) is outside Vite's root, so its
// configuration files are added to Vite's watcher by hand.
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { AstroIntegration } from 'astro';
import type { Plugin, ViteDevServer } from 'vite';
import type { SiteConfig } from '../site-config.ts';

const CONFIG_NAMES = ['hugo', 'config'].flatMap((name) => ['toml', 'yaml', 'yml', 'json'].map((ext) => `${name}.${ext}`));

/** Every file the site's configuration may be read from, existing now. */
export function siteConfigFiles(siteDir: string): string[] {
  const files = CONFIG_NAMES.map((f) => join(siteDir, f)).filter((p) => existsSync(p));
  const defaults = join(siteDir, 'config', '_default');
  if (existsSync(defaults))
    files.push(
      ...readdirSync(defaults)
        .filter((f) => /\.(toml|ya?ml|json)$/.test(f))
        .map((f) => join(defaults, f)),
    );
  return files;
}

/** True when `file` is inside `folder` (both absolute). */
export function isInside(file: string, folder: string): boolean {
  const rel = relative(folder, file);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith('/');
}

function watchSiteFiles(configFiles: string[], staticDir: string): Plugin {
  return {
    name: 'course:watch-site-files',
    apply: 'serve',
    configureServer(server) {
      // Astro restarts on a change of a file given to addWatchFile only if Vite's watcher sees it:
      // a site outside the project (COURSE_SITE_DIR elsewhere) is not under Vite's root.
      server.watcher.add(configFiles);
      const reload = (file: string) => {
        if (isInside(file, staticDir)) server.environments.client.hot.send({ type: 'full-reload', path: '*' });
      };
      server.watcher.on('change', reload);
      server.watcher.on('add', reload);
      server.watcher.on('unlink', reload);
    },
  };
}

/**
 * The watcher of the first dev server of this process. Astro 7 gives it to its content layer once
 * (astro/dist/core/dev/dev.js) and keeps it after a restart (a configuration edit), when Vite has
 * closed it and watches with a new one: from then on, page edits would no longer show.
 */
const FIRST_WATCHER = Symbol.for('course.dev-watch.first-watcher');
type Watcher = ViteDevServer['watcher'];
const processState = globalThis as { [FIRST_WATCHER]?: Watcher };

/** After a restart: the new watcher's events for content files, handed to the first one, which the content layer listens to; the pages reloaded. */
function keepContentWatched(watcher: Watcher, hot: ViteDevServer['environments']['client']['hot'], contentDir: string): void {
  const first = processState[FIRST_WATCHER];
  if (first === undefined || first === watcher) {
    processState[FIRST_WATCHER] = watcher;
    return;
  }
  watcher.add(contentDir);
  // And the open pages are told to load again: Vite's client reloads by itself when its socket closes,
  // but a page may reload while the restart is under way, get the old page and connect again late
  // (measured: the title stayed old 1 time in 3). Twice: once the new server is up, then for late sockets.
  for (const delay of [1_000, 4_000]) setTimeout(() => hot.send({ type: 'full-reload', path: '*' }), delay).unref();
  for (const event of ['add', 'change', 'unlink'] as const) {
    watcher.on(event, (file: string) => {
      if (isInside(file, contentDir)) first.emit(event, file);
    });
  }
}

export function devWatch(site: SiteConfig): AstroIntegration {
  return {
    name: 'course-dev-watch',
    hooks: {
      'astro:server:setup': ({ server }) => keepContentWatched(server.watcher, server.environments.client.hot, site.contentDir),
      'astro:config:setup': ({ command, addWatchFile, updateConfig }) => {
        if (command !== 'dev') return;
        const configFiles = siteConfigFiles(site.siteDir);
        for (const file of configFiles) addWatchFile(file);
        updateConfig({ vite: { plugins: [watchSiteFiles(configFiles, site.staticDir)] } });
      },
    },
  };
}
