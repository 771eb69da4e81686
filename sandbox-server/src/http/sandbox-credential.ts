// Where a request carries a sandbox's token, and the cookie that carries it
// for pages on this server's own origin (HttpOnly: page scripts never see
// it; SameSite=Strict: other sites cannot make the browser send it; Path:
// only this sandbox's API URLs).
import type { IncomingMessage } from 'node:http';
import { parseCookie, stringifySetCookie } from 'cookie';
import { TOKEN_COOKIE, TOKEN_QUERY_PARAM, apiPath } from '../../../contracts/protocol.ts';

/** The token presented with `req`: Authorization: Bearer, then the cookie, then ?token= (WebSocket only). */
export function presentedToken(req: IncomingMessage, url: URL, allowQuery: boolean): string | undefined {
  const authorization = req.headers.authorization;
  const bearer = authorization && /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  if (bearer) return bearer;
  const cookies = req.headers.cookie ? parseCookie(req.headers.cookie) : {};
  const fromCookie = cookies[TOKEN_COOKIE];
  if (fromCookie) return fromCookie;
  if (allowQuery) return url.searchParams.get(TOKEN_QUERY_PARAM) ?? undefined;
  return undefined;
}

export interface CookieSettings {
  basePath: string;
  secure: boolean;
}

export function tokenCookie(settings: CookieSettings, id: string, token: string, maxAgeSeconds: number): string {
  return stringifySetCookie({
    name: TOKEN_COOKIE,
    value: token,
    path: settings.basePath + apiPath.sandbox(id),
    httpOnly: true,
    sameSite: 'strict',
    secure: settings.secure,
    maxAge: Math.max(1, Math.floor(maxAgeSeconds)),
  });
}

export function clearedTokenCookie(settings: CookieSettings, id: string): string {
  return stringifySetCookie({
    name: TOKEN_COOKIE,
    value: '',
    path: settings.basePath + apiPath.sandbox(id),
    httpOnly: true,
    sameSite: 'strict',
    secure: settings.secure,
    maxAge: 0,
  });
}
