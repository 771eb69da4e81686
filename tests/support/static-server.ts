// A plain static file server over a built site, as a university's web space
// or GitHub Pages would be: files only (sirv), no sandbox server, no special
// headers (no COOP/COEP), `.gz` files served as they are.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import sirv from 'sirv';

export interface StaticServer {
  /** Ends with "/". */
  url: string;
  /** Paths requested so far, in order (to check what a page downloaded, and when). */
  requests: string[];
  close(): Promise<void>;
}

export async function serveStatic(dir: string): Promise<StaticServer> {
  const files = sirv(dir, { dev: false, etag: true, dotfiles: false });
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(request.url ?? '');
    files(request, response, () => {
      response.statusCode = 404;
      response.end('not found');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
