// What runs, in the built site, in front of each import() of the page's code
// (Vite's build wraps every one as `__vitePreload(() => import(…), [its
// chunks])`): the chunks that code needs are asked for at once, beside it,
// instead of when the browser finds their imports (one round trip, not two).
// Vite's own helper does the same plus what this site has no use for (a
// content-security nonce, a fallback for browsers without modulepreload, an
// event per failure, a search of the page's links): ≈ 590 B of gzip in the
// page's one script at load. src/lib/authoring/preload-helper.ts puts this
// one in its place.

/** The site's base path, as Vite's build writes it (chunk paths are under it). */
const BASE = import.meta.env.BASE_URL;

/**
 * Asks for `chunks` — paths under the site's base, or relative to
 * `importerUrl` when the build passes one — then runs `load`, the import
 * itself. Scripts are fetched and parsed ahead (modulepreload: their code runs
 * with the import, in its order); a stylesheet is applied, as Vite's helper
 * does with one. Asking twice for a module the page has is free (the browser
 * keeps one per URL).
 */
export function preloadChunks<T>(load: () => Promise<T>, chunks?: readonly string[], importerUrl?: string): Promise<T> {
  for (const chunk of chunks ?? []) {
    const link = document.createElement('link');
    link.rel = chunk.endsWith('.css') ? 'stylesheet' : 'modulepreload';
    link.href = importerUrl === undefined ? `${BASE}${chunk}` : new URL(chunk, importerUrl).href;
    document.head.append(link);
  }
  return load();
}
