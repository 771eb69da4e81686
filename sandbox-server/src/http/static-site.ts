// The built lesson site, served under the base path so one origin carries
// both the pages and the API. sirv does the file serving (ranges, ETags,
// traversal protection); we only strip the base path and answer misses.
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import sirv from 'sirv';

export type StaticHandler = (req: IncomingMessage, res: ServerResponse, pathInSite: string) => void;

export function createStaticSite(siteDir: string): { handler: StaticHandler; built: boolean } {
  const built = existsSync(siteDir);
  // dev mode looks files up per request: a rebuilt site is served without a restart.
  const serve = sirv(siteDir, { dev: true, etag: true, extensions: ['html'], onNoMatch: (_req, res) => notFound(res, siteDir) });
  const handler: StaticHandler = (req, res, pathInSite) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('Only GET and HEAD are served here.\n');
      return;
    }
    const query = req.url?.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
    req.url = `/${pathInSite}${query}`;
    serve(req, res);
  };
  return { handler, built };
}

function notFound(res: ServerResponse, siteDir: string): void {
  const page = join(siteDir, '404.html');
  if (existsSync(page)) {
    res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(readFileSync(page));
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(
    existsSync(siteDir) ? 'Not found.\n' : `Not found: the site is not built (no ${siteDir}). Run \`npm run build\`, or set SITE_DIR to the built site.\n`,
  );
}
