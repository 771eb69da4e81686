// Vite's build wraps every import() of browser code as
// `__vitePreload(() => import(…), [the chunks it needs])`, with a helper of
// its own (the module "\0vite/preload-helper.js"), bundled where the first
// caller is: in this site, the page's one script at load. That helper is
// ≈ 590 B of gzip the page pays before anyone clicks (its JS at load is
// 4 902 B with it, 4 311 B with this plugin), for features this site does
// not use (see src/client/chunk-preload.ts). Neither Vite nor Astro has
// an option to leave it out (`build.modulePreload: false` keeps the wrapper
// and the helper, only emptying the lists; Astro sets that option itself).
//
// This plugin answers the helper's module with src/client/chunk-preload.ts
// instead: same call, same parallel fetch of a dynamic import's chunks,
// nothing fetched earlier than before. A build whose page at load carries
// Vite's helper again fails tests/integration/site-build-content.test.ts.
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';

/** The id Vite's build gives its preload helper (vite/src/node/plugins/importAnalysisBuild.ts). */
export const VITE_PRELOAD_HELPER_ID = '\0vite/preload-helper.js';
const OURS = fileURLToPath(new URL('../../client/chunk-preload.ts', import.meta.url));

export function lightPreloadHelper(): Plugin {
  return {
    name: 'course:light-preload-helper',
    // Before Vite's own resolve and load of that id (its build plugins come last).
    enforce: 'pre',
    resolveId(id) {
      return id === VITE_PRELOAD_HELPER_ID ? id : undefined;
    },
    load(id) {
      return id === VITE_PRELOAD_HELPER_ID ? `export { preloadChunks as __vitePreload } from ${JSON.stringify(OURS)};` : undefined;
    },
  };
}
