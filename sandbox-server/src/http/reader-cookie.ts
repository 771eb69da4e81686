// One reader = one browser. A long-lived, unguessable reader id in a cookie
// (HttpOnly: page scripts never see it; SameSite=Strict: other sites cannot
// make the browser send it; Path: the server's base path, so every page and
// API URL of the course gets it) ties every tab and page of the course to
// the same machine, as a student's link does in class mode. Without it, a
// machine lived in one tab's sessionStorage, and a closed tab left it
// unreachable for its whole idle timeout.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { parseCookie, stringifySetCookie } from 'cookie';
import { READER_COOKIE } from '../../../contracts/protocol.ts';
import type { CookieSettings } from './sandbox-credential.ts';

/** 256 random bits, base64url: 43 characters. */
const READER_ID = /^[A-Za-z0-9_-]{43}$/;
/** A reader who comes back within a week finds their machine's successor on the same key. */
const READER_COOKIE_MAX_AGE_SECONDS = 7 * 24 * 3600;

export function newReaderId(): string {
  return randomBytes(32).toString('base64url');
}

/** The reader id the browser presented, if it is one we could have issued. */
export function presentedReader(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  let value: string | undefined;
  try {
    value = parseCookie(header)[READER_COOKIE];
  } catch {
    return undefined;
  }
  return value !== undefined && READER_ID.test(value) ? value : undefined;
}

/** The key the manager files a reader's machines under. */
export function readerKey(reader: string): string {
  return `reader:${reader}`;
}

export function readerCookie(settings: CookieSettings, reader: string): string {
  return stringifySetCookie({
    name: READER_COOKIE,
    value: reader,
    path: settings.basePath,
    httpOnly: true,
    sameSite: 'strict',
    secure: settings.secure,
    maxAge: READER_COOKIE_MAX_AGE_SECONDS,
  });
}
