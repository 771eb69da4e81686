// `npm run dev` like `hugo server`: an edit of the Hugo site configuration
// (hugo.toml, config.toml, config/_default/*) restarts the dev server, which
// reads the configuration again (title, menus, params, base path) and reloads
// the open page. Pages, _index.md and static/ files are watched by Astro and
// Vite themselves (content collection, publicDir).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AstroIntegration } from 'astro';
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

export function devWatch(site: SiteConfig): AstroIntegration {
  return {
    name: 'course-dev-watch',
    hooks: {
      'astro:config:setup': ({ command, addWatchFile }) => {
        if (command !== 'dev') return;
        for (const file of siteConfigFiles(site.siteDir)) addWatchFile(file);
      },
    },
  };
}
