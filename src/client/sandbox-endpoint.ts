// Where the sandbox server is. By default the page's own server (the
// sandbox server serves the built site and the API on one origin); a build
// can point at another origin (COURSE_SANDBOX_URL). No protocol import here:
// the eager page script uses this module and must stay tiny.

export interface SandboxEndpoint {
  /** The server's base URL, ending with "/": API paths are relative to it. */
  base: string;
  /** The page is served from another origin than the server. */
  crossOrigin: boolean;
}

/**
 * `configured` is what the build wrote into the page: an absolute http(s)
 * URL, or a path (the site's base path) on the page's own origin.
 */
export function sandboxEndpoint(configured: string, pageUrl: string): SandboxEndpoint {
  const base = new URL(configured === '' ? '/' : configured, pageUrl);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  base.search = '';
  base.hash = '';
  return { base: base.href, crossOrigin: base.origin !== new URL(pageUrl).origin };
}

export function apiUrl(endpoint: SandboxEndpoint, path: string): string {
  return new URL(path, endpoint.base).href;
}
