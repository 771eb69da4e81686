// Which web pages may use the API: pages served by this server (same origin)
// and the configured allowlist. Browsers enforce CORS on reads only, so a
// request whose Origin is neither is refused outright: another site must not
// create or drive sandboxes in a reader's name.
import type { IncomingMessage } from 'node:http';

export type OriginVerdict = { allowed: true; crossOrigin?: string } | { allowed: false; origin: string };

export function checkOrigin(req: IncomingMessage, allowedOrigins: readonly string[]): OriginVerdict {
  const origin = req.headers.origin;
  // No Origin: not a browser page (curl, a script, a same-origin GET): nothing to protect against.
  if (origin === undefined) return { allowed: true };
  if (isSameOrigin(origin, req.headers.host)) return { allowed: true };
  if (allowedOrigins.includes(origin)) return { allowed: true, crossOrigin: origin };
  return { allowed: false, origin };
}

function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/** Headers that let an allowlisted page read the response (and send the cookie). */
export function corsHeaders(origin: string): Record<string, string> {
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': 'Retry-After, Location',
    vary: 'Origin',
  };
}

export function preflightHeaders(origin: string): Record<string, string> {
  return {
    ...corsHeaders(origin),
    'access-control-allow-methods': 'GET, POST, DELETE',
    'access-control-allow-headers': 'Authorization, Content-Type',
    'access-control-max-age': '600',
  };
}
