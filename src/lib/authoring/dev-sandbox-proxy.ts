// « Exécuter » in `npm run dev`: the preview forwards the page's sandbox API
// (<base>api/…, HTTP and the terminals' WebSockets) to a sandbox server
// started alongside (COURSE_DEV_SANDBOX_URL, default http://127.0.0.1:8080).
//
// Why a forwarder rather than the page calling that server directly
// (COURSE_SANDBOX_URL + the server's ALLOWED_ORIGINS): the page then talks to
// its own origin, as it does when the sandbox server serves the built site, so
// the preview runs the production path (same-origin cookie, no CORS, no token
// in the URL) and the author sets nothing. The request keeps its Host and
// Origin: the server sees a same-origin page on a loopback name, which its
// origin and host policies accept, and still refuses any other site's page.
// Why not start the server from `npm run dev`: it needs root and a prepared
// root filesystem; an author starts it once in a second terminal and keeps it.
//
// When nothing answers there, the page gets a 502 without an API body (the
// client then says, in French, that no sandbox server answers and how to start
// one, see src/client/sandbox-errors.ts), and the terminal one line, not one
// stack trace per click.
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tcpConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { AstroIntegration, AstroIntegrationLogger } from 'astro';
import type { Plugin } from 'vite';
import type { SiteConfig } from '../site-config.ts';

/** The sandbox API under the page's base path (contracts/protocol.ts apiPath: everything under api/). */
export function apiPrefix(basePath: string): string {
  return `${basePath}api/`;
}

/**
 * The path on the sandbox server for a request of the page, or undefined when
 * the request is not for the sandbox API. The server's own base path (the
 * target URL's path) replaces the page's.
 */
export function forwardedPath(url: string | undefined, basePath: string, target: URL): string | undefined {
  if (url === undefined || !url.startsWith(apiPrefix(basePath))) return undefined;
  return serverBase(target) + url.slice(basePath.length);
}

/** The server's base path: the target URL's path, ending with "/". */
function serverBase(target: URL): string {
  return target.pathname.endsWith('/') ? target.pathname : `${target.pathname}/`;
}

/**
 * A path the server names in its answer (a cookie's Path, a Location), as the
 * page must see it: under the page's base path. The terminal sockets rely on
 * the machine's cookie, whose Path is the server's API path of that machine.
 */
export function pathForPage(path: string, basePath: string, target: URL): string {
  const base = serverBase(target);
  if (path.startsWith(base)) return basePath + path.slice(base.length);
  if (`${path}/` === base) return basePath;
  return path;
}

/** A Set-Cookie header with its Path moved under the page's base path. */
export function cookieForPage(cookie: string, basePath: string, target: URL): string {
  return cookie.replace(/(;\s*path=)([^;]*)/i, (_, attribute: string, path: string) => attribute + pathForPage(path.trim(), basePath, target));
}

/** The start command an author needs, for the terminal line and the page's hint. */
export function startCommandFor(target: URL): string {
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  return `PORT=${port} npm run server`;
}

function defaultPort(target: URL): number {
  return Number(target.port || (target.protocol === 'https:' ? 443 : 80));
}

/** One terminal line per outage, not one per request. */
function outageReporter(logger: AstroIntegrationLogger, target: URL): (error: Error) => void {
  let lastReport = 0;
  return (error) => {
    const now = Date.now();
    if (now - lastReport < 30_000) return;
    lastReport = now;
    logger.warn(
      `no sandbox server answers at ${target.origin}${target.pathname} (${(error as NodeJS.ErrnoException).code ?? error.message}): « Exécuter » in the preview needs one. Start it in a second terminal, as root: ${startCommandFor(target)}`,
    );
  };
}

function forwardRequest(req: IncomingMessage, res: ServerResponse, basePath: string, target: URL, path: string, onOutage: (error: Error) => void): void {
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const upstream = send({ hostname: target.hostname, port: defaultPort(target), method: req.method, path, headers: req.headers }, (answer) => {
    const headers = { ...answer.headers };
    if (headers['set-cookie']) headers['set-cookie'] = headers['set-cookie'].map((cookie) => cookieForPage(cookie, basePath, target));
    if (typeof headers.location === 'string' && headers.location.startsWith('/')) headers.location = pathForPage(headers.location, basePath, target);
    res.writeHead(answer.statusCode ?? 502, headers);
    answer.pipe(res);
  });
  upstream.on('error', (error) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    onOutage(error);
    res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`No sandbox server answers at ${target.href}. Start one: ${startCommandFor(target)}\n`);
  });
  req.pipe(upstream);
}

/** A WebSocket upgrade passed through as bytes: the request head rewritten for the server, then both ways. */
function forwardUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: URL, path: string, onOutage: (error: Error) => void): void {
  const port = defaultPort(target);
  const upstream: Socket =
    target.protocol === 'https:' ? tlsConnect({ host: target.hostname, port, servername: target.hostname }) : tcpConnect(port, target.hostname);
  let connected = false;
  upstream.once(target.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
    connected = true;
    const lines = [`${req.method} ${path} HTTP/${req.httpVersion}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  upstream.on('error', (error) => {
    if (!connected) {
      onOutage(error);
      socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    } else socket.destroy();
  });
  socket.on('error', () => upstream.destroy());
  socket.on('close', () => upstream.destroy());
  upstream.on('close', () => socket.destroy());
}

type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/**
 * Installs the forwarder on a dev server: first of its middlewares (before
 * Astro's base, trailing-slash and route guards, which would answer 404 for
 * the API), and on its HTTP server for WebSocket upgrades.
 */
export function installSandboxForwarder(
  middlewares: { stack: { route: string; handle: Handler }[] },
  httpServer: { on(event: 'upgrade', listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown } | null,
  options: { basePath: string; target: URL; onOutage: (error: Error) => void },
): void {
  const { basePath, target, onOutage } = options;
  middlewares.stack.unshift({
    route: '',
    handle: (req, res, next) => {
      const path = forwardedPath(req.url, basePath, target);
      if (path === undefined) next();
      else forwardRequest(req, res, basePath, target, path, onOutage);
    },
  });
  httpServer?.on('upgrade', (req, socket, head) => {
    // Vite's own socket (live reload) is not under <base>api/: left to Vite.
    const path = forwardedPath(req.url, basePath, target);
    if (path !== undefined) forwardUpgrade(req, socket, head, target, path, onOutage);
  });
}

export function devSandboxProxy(site: SiteConfig): AstroIntegration {
  const target = new URL(`${site.devSandboxUrl}/`);
  return {
    name: 'course-dev-sandbox',
    hooks: {
      'astro:config:setup': ({ command, updateConfig, logger }) => {
        // A page pointed at another origin (COURSE_SANDBOX_URL) talks to it directly.
        if (command !== 'dev' || site.sandboxUrl !== undefined) return;
        const plugin: Plugin = {
          name: 'course:dev-sandbox-forwarder',
          apply: 'serve',
          configureServer(server) {
            // Returned: runs after Astro's own (earlier plugin) has put its middlewares first.
            return () => {
              installSandboxForwarder(server.middlewares as unknown as { stack: { route: string; handle: Handler }[] }, server.httpServer, {
                basePath: site.basePath,
                target,
                onOutage: outageReporter(logger, target),
              });
              logger.info(`« Exécuter » is forwarded to the sandbox server at ${target.href} (start it as root: ${startCommandFor(target)})`);
            };
          },
        };
        updateConfig({
          vite: {
            plugins: [plugin],
            // What the page's "no sandbox server" message tells the author to start (sandbox-errors.ts).
            define: { __COURSE_DEV_SANDBOX__: JSON.stringify({ url: target.href, start: startCommandFor(target) }) },
          },
        });
      },
    },
  };
}
