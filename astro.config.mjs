// @ts-check
// The course site. Everything configurable comes from src/lib/site-config.ts
// (COURSE_* environment variables, validated there).
import mdx from '@astrojs/mdx';
import { satteri } from '@astrojs/markdown-satteri';
import { defineConfig } from 'astro/config';
import { basename, dirname, join } from 'node:path';
import { mdxComponentChecks } from './src/components/mdx-component-checks.ts';
import { SHIKI_THEMES } from './src/components/shiki-themes.ts';
import { pagefindIndex } from './src/components/pagefind-integration.ts';
import { buildSummary } from './src/lib/authoring/build-summary.ts';
import { devSandboxProxy } from './src/lib/authoring/dev-sandbox-proxy.ts';
import { noteConfigLoad } from './src/lib/authoring/dev-config-restart.ts';
import { devWatch } from './src/lib/authoring/dev-watch.ts';
import { hugoMarkdownOptions } from './src/lib/authoring/markdown-options.ts';
import { dropHeadInjectDirective } from './src/lib/authoring/head-inject-directive.ts';
import { lightPreloadHelper } from './src/lib/authoring/preload-helper.ts';
import { v86NodeOnlyImports } from './src/lib/authoring/v86-node-imports.ts';
import { createHugoMarkdownPlugin } from './src/lib/hugo/markdown-plugin.ts';
import { hugoSiteIntegration } from './src/lib/hugo/site-integration.ts';
import { browserMachineAssets } from './scripts/browser-machine/astro-integration.ts';
import { loadSiteConfig, PROJECT_ROOT } from './src/lib/site-config.ts';

// Before reading it (which may fail): npm run dev counts the restarts it began (dev-config-restart.ts).
noteConfigLoad();
const site = loadSiteConfig();
const hugoMarkdown = createHugoMarkdownPlugin(hugoMarkdownOptions(site));

// A build into another folder (tests, benchmarks) keeps its content cache beside
// that folder: builds of different content trees never share stale entries, and
// removing a temporary build removes its cache too.
const defaultOutDir = join(PROJECT_ROOT, 'dist');
const cacheDir =
  site.outDir === defaultOutDir ? join(PROJECT_ROOT, 'node_modules', '.astro') : join(dirname(site.outDir), `${basename(site.outDir)}.astro-cache`);

export default defineConfig({
  base: site.basePath,
  outDir: site.outDir,
  // Hugo's static/ is served and copied at the site root, as Hugo publishes it.
  publicDir: site.staticDir,
  cacheDir,
  trailingSlash: 'always',
  build: { format: 'directory' },
  // Static HTML only; the few scripts are bundled islands.
  prefetch: false,
  devToolbar: { enabled: false },
  markdown: {
    shikiConfig: { themes: SHIKI_THEMES, defaultColor: false },
    // Hugo pages (.md) keep their shortcodes; shell fences become runnable snippets.
    processor: satteri({ mdastPlugins: [hugoMarkdown] }),
  },
  vite: {
    // The browser machine's worker is an ES module (libv86.mjs is one); Vite's default for workers is iife.
    // Its v86 library names Node modules it only loads under Node: answered with nothing, silently.
    worker: { format: 'es', plugins: () => [v86NodeOnlyImports()] },
    // Bundled pages read the configuration through currentSiteConfig().
    define: {
      __COURSE_SITE_CONFIG__: JSON.stringify(site),
      // What the page's terminal code needs of it (never the whole configuration: it holds build paths).
      __COURSE_MACHINE__: JSON.stringify({ machine: site.machine, basePath: site.basePath }),
    },
    // The page's script at load without Vite's dynamic-import preload helper (≈ 590 B gzip): a lighter one of ours.
    plugins: [dropHeadInjectDirective(), v86NodeOnlyImports(), lightPreloadHelper()],
    // npm run dev: the terminal's libraries are imported only on the first « Exécuter »; found then,
    // Vite would optimise them and reload the page in the middle of the run. Optimised at start instead.
    optimizeDeps: { include: ['@xterm/xterm', '@xterm/addon-fit', '@xterm/addon-web-links', 'zod'] },
  },
  integrations: [
    mdx({ processor: satteri({ mdastPlugins: [mdxComponentChecks, hugoMarkdown] }) }),
    hugoSiteIntegration(site),
    pagefindIndex(),
    browserMachineAssets(site.machine, site.outDir === defaultOutDir),
    devWatch(site),
    // npm run dev: « Exécuter » forwarded to a sandbox server started alongside.
    devSandboxProxy(site),
    // Last: its line closes the build output.
    buildSummary(site),
  ],
});
