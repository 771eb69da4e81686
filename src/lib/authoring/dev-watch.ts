// `npm run dev` like `hugo server`: an edit of the Hugo site configuration
// (hugo.toml, config.toml, config/_default/*) restarts the dev server, which
// reads the configuration again (title, menus, params, base path), and the open
// pages load again (dev-config-restart.ts, dev-generation.ts). Pages and
// _index.md are watched by Astro (content collection).
// A file of static/ (Vite's publicDir) is served fresh, but Vite sends the page
// nothing when one changes (it is no module of the page): here, any change
// under static/ reloads the open page, as `hugo server` does. A site outside
// the project (COURSE_SITE_DIR elsewhere) is outside Vite's root, so its
// configuration files are added to Vite's watcher by hand.
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import type { AstroIntegration } from 'astro';
import type { Plugin, ViteDevServer } from 'vite';
import type { SiteConfig } from '../site-config.ts';
import { keepConfigInStep, restartMarker } from './dev-config-restart.ts';
import { type DevGeneration, generationEndpoint, generationHeadScript, generationPageScript, newGeneration } from './dev-generation.ts';

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

/** True for a file the site's configuration is read from (existing or not). */
export function isSiteConfigFile(file: string, siteDir: string): boolean {
  return (dirname(file) === siteDir && CONFIG_NAMES.includes(basename(file))) || isInside(file, join(siteDir, 'config', '_default'));
}

function watchSiteFiles(site: SiteConfig, generation: DevGeneration): Plugin {
  return {
    name: 'course:watch-site-files',
    apply: 'serve',
    configureServer(server) {
      // A site outside the project (COURSE_SITE_DIR elsewhere) is not under Vite's root: its configuration is watched by hand.
      const defaults = join(site.siteDir, 'config', '_default');
      server.watcher.add([...siteConfigFiles(site.siteDir), ...(existsSync(defaults) ? [defaults] : [])]);
      const restarter = keepConfigInStep(server, site.siteDir, site.hugo.sourcesDigest, generation);
      const changed = (file: string) => {
        if (isSiteConfigFile(file, site.siteDir)) restarter.changed();
        else if (isInside(file, site.staticDir)) server.environments.client.hot.send({ type: 'full-reload', path: '*' });
      };
      server.watcher.on('change', changed);
      server.watcher.on('add', changed);
      server.watcher.on('unlink', changed);
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

/** After a restart: the new watcher's events for content files, handed to the first one, which the content layer listens to. */
function keepContentWatched(watcher: Watcher, contentDir: string): void {
  const first = processState[FIRST_WATCHER];
  if (first === undefined || first === watcher) {
    processState[FIRST_WATCHER] = watcher;
    return;
  }
  watcher.add(contentDir);
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
      'astro:server:setup': ({ server }) => keepContentWatched(server.watcher, site.contentDir),
      'astro:config:setup': ({ command, addWatchFile, injectScript, updateConfig }) => {
        if (command !== 'dev') return;
        // Astro restarts on this path's change, which dev-config-restart.ts emits once an edit is complete.
        addWatchFile(restartMarker(site.siteDir));
        const generation = newGeneration();
        injectScript('head-inline', generationHeadScript(generation.id));
        injectScript('page', generationPageScript(site.basePath));
        updateConfig({ vite: { plugins: [watchSiteFiles(site, generation), generationEndpoint(site.basePath, generation)] } });
      },
    },
  };
}
