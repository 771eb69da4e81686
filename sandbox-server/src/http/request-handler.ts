// Routes every HTTP request under the base path: health and metrics, the
// sandbox API (behind the origin policy), and the static site for the rest.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { SandboxManager } from '../manager/sandbox-manager.ts';
import { hostAllowed, hostRefusal } from './host-policy.ts';
import { metricsAccess } from './metrics-access.ts';
import { checkOrigin, corsHeaders, preflightHeaders } from './origin-policy.ts';
import { sendEmpty, sendError, sendJson } from './respond.ts';
import type { SandboxApi } from './sandbox-api.ts';
import type { StaticHandler } from './static-site.ts';

export interface RequestHandlerOptions {
  basePath: string;
  allowedOrigins: readonly string[];
  /** Names the server answers to besides addresses and localhost (host-policy.ts). */
  allowedHosts: readonly string[];
  /** Bearer token for <base>metrics; empty: loopback clients only (metrics-access.ts). */
  metricsToken: string;
  clientIpHeader: string;
  driverName: string;
  api: SandboxApi;
  /** Routes under api/class/ (classroom/class-mode.ts); false when `rest` is not one of them. */
  classApi(req: IncomingMessage, res: ServerResponse, rest: string, headers: Record<string, string>): Promise<boolean>;
  site: StaticHandler;
  manager: SandboxManager;
  metrics: Metrics;
  log: Logger;
  isShuttingDown(): boolean;
}

export function createRequestHandler(options: RequestHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    route(options, req, res).catch((error: unknown) => {
      options.log.error({ err: error, method: req.method, url: req.url?.slice(0, 500) }, 'request failed');
      if (!res.headersSent)
        sendError(res, 500, { code: 'internal', message: 'The server failed on this request.', hint: 'Try again; the server log has the details.' });
      else res.destroy();
    });
  };
}

async function route(options: RequestHandlerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!hostAllowed(req.headers.host, options.allowedHosts)) {
    // DNS rebinding: a page on another name that resolves here.
    options.metrics.rejected.inc({ reason: 'host' });
    options.log.warn({ host: req.headers.host }, 'request for a name this server does not answer to refused');
    sendError(res, 403, hostRefusal(req.headers.host));
    return;
  }
  // An absolute-form target no URL parser takes ("http://x:99999/") is the client's mistake, not a server failure.
  const url = URL.parse(req.url ?? '/', 'http://server.invalid');
  if (url === null) {
    req.resume();
    sendError(res, 400, { code: 'invalid-request', message: 'The request target is not a valid URL.', hint: 'Send a path, such as /api/sandboxes.' });
    return;
  }
  const { basePath } = options;
  if (!url.pathname.startsWith(basePath)) {
    if (`${url.pathname}/` === basePath) {
      sendEmpty(res, 308, { location: basePath + url.search });
    } else {
      sendError(res, 404, { code: 'not-found', message: `Nothing here: everything is under ${basePath}.` });
    }
    return;
  }
  const rest = url.pathname.slice(basePath.length);

  if (rest === 'healthz') {
    const shuttingDown = options.isShuttingDown();
    sendJson(res, shuttingDown ? 503 : 200, {
      status: shuttingDown ? 'shutting-down' : 'ok',
      driver: options.driverName,
      sandboxes: options.manager.sandboxes(),
    });
    return;
  }
  if (rest === 'metrics') {
    const access = metricsAccess(req, options.metricsToken, options.clientIpHeader);
    if (!access.ok) {
      options.metrics.rejected.inc({ reason: access.status === 401 ? 'unauthorized' : 'forbidden' });
      sendError(res, access.status, {
        code: access.status === 401 ? 'unauthorized' : 'forbidden',
        message: 'The metrics are not public.',
        hint: "Read them from the server's own machine, or send METRICS_TOKEN as a bearer token (see docs/hosting.md).",
      });
      return;
    }
    const text = await options.metrics.text();
    res.writeHead(200, { 'content-type': options.metrics.contentType(), 'cache-control': 'no-store' });
    res.end(text);
    return;
  }
  if (rest === 'api' || rest.startsWith('api/')) {
    await routeApi(options, req, res, rest, url);
    return;
  }
  options.site(req, res, rest);
}

async function routeApi(options: RequestHandlerOptions, req: IncomingMessage, res: ServerResponse, rest: string, url: URL): Promise<void> {
  const verdict = checkOrigin(req, options.allowedOrigins);
  if (!verdict.allowed) {
    options.metrics.rejected.inc({ reason: 'origin' });
    options.log.warn({ origin: verdict.origin.slice(0, 200), url: url.pathname.slice(0, 200) }, 'request from a page on a foreign origin refused');
    sendError(res, 403, {
      code: 'origin-not-allowed',
      message: `Pages from ${verdict.origin.slice(0, 200)} may not use this sandbox server.`,
      hint: 'Serve the lesson from this server, or add that origin to ALLOWED_ORIGINS in the server configuration.',
    });
    return;
  }
  const headers = verdict.crossOrigin ? corsHeaders(verdict.crossOrigin) : {};
  if (req.method === 'OPTIONS') {
    sendEmpty(res, 204, verdict.crossOrigin ? preflightHeaders(verdict.crossOrigin) : { allow: 'GET, POST, DELETE' });
    return;
  }
  if (!(await options.api.handle(req, res, rest, url, headers)) && !(await options.classApi(req, res, rest, headers))) {
    sendError(res, 404, { code: 'not-found', message: `No API at ${url.pathname}.`, hint: "See docs/protocol.md for the API's URLs." }, headers);
  }
}
