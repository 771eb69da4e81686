// Who may open a WebSocket on a reader's machine: one set of checks for every
// socket that reaches a sandbox (its terminals, its namespace view), so that a
// rule changed for one (an Origin cut to 200 characters, a tombstone's words)
// is changed for all. The class viewer has no sandbox token (a ticket stands
// for it) and shares the Origin rule only. Refusals are said after the
// upgrade, as an error frame plus a 4xxx close code, because a browser cannot
// read the HTTP status of a refused upgrade (it sees only 1006).
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { RejectReason } from '../metrics.ts';
import type { ManagedSandbox } from '../manager/managed-sandbox.ts';
import type { SandboxManager } from '../manager/sandbox-manager.ts';
import { checkOrigin } from '../http/origin-policy.ts';
import { presentedReader, readerKey } from '../http/reader-cookie.ts';
import { presentedToken } from '../http/sandbox-credential.ts';
import { describeTombstone } from '../http/tombstone-message.ts';
import { isSandboxId } from '../../../contracts/names.ts';
import { CloseCode, type ErrorInfo } from '../../../contracts/protocol.ts';
import { closeReason } from './close-reason.ts';

/** Why a socket is refused: the metric's reason, the close code and what the client is told. */
export interface Refusal {
  reason: RejectReason;
  code: CloseCode;
  error: ErrorInfo;
}

/** An Origin in a refusal is cut: it is the client's text, of any length (adversarial finding 9). */
const SHOWN_ORIGIN_CHARS = 200;

/** The refusal of a page from an origin that may not use this server, in the caller's words; undefined when it may. */
export function originRefusal(req: IncomingMessage, allowedOrigins: readonly string[], say: (origin: string) => ErrorInfo): Refusal | undefined {
  const verdict = checkOrigin(req, allowedOrigins);
  if (verdict.allowed) return undefined;
  return { reason: 'origin', code: CloseCode.forbidden, error: say(verdict.origin.slice(0, SHOWN_ORIGIN_CHARS)) };
}

export interface SandboxAdmissionOptions {
  allowedOrigins: readonly string[];
  manager: SandboxManager;
  isShuttingDown(): boolean;
  /** Class mode: why the holder of this sandbox's token may no longer attach (the student's link was revoked or expired). */
  attachRefusal?: ((sandboxId: string) => ErrorInfo | undefined) | undefined;
}

export interface SandboxUpgrade {
  req: IncomingMessage;
  url: URL;
  /** The sandbox id from the path, unchecked. */
  id: string;
  /** What the socket is for, in "Pages from X may not …": e.g. "open terminals". */
  purpose: string;
  /** Refuse a sandbox that is being destroyed (else the caller finds out when it uses it). */
  mustBeRunning?: boolean;
}

export type Admission = { admitted: true; managed: ManagedSandbox } | { admitted: false; refusal: Refusal };

/**
 * The checks, in the order a client is told about them: server shutting down,
 * page origin, the sandbox (or its tombstone), the token, the class link. An
 * owner's browser (its reader cookie) that presents the right token claims
 * the sandbox on the way (it came back for it: the normal idle timeout applies).
 */
export function admitSandboxUpgrade(options: SandboxAdmissionOptions, upgrade: SandboxUpgrade): Admission {
  const refused = (reason: RejectReason, code: CloseCode, error: ErrorInfo): Admission => ({ admitted: false, refusal: { reason, code, error } });
  const { manager } = options;
  const { req, url, id } = upgrade;
  if (options.isShuttingDown()) {
    return refused('shutting-down', CloseCode.goingAway, {
      code: 'server-shutting-down',
      message: 'The sandbox server is shutting down.',
      hint: 'Reload the page in a moment.',
    });
  }
  const origin = originRefusal(req, options.allowedOrigins, (shown) => ({
    code: 'origin-not-allowed',
    message: `Pages from ${shown} may not ${upgrade.purpose} on this server.`,
    hint: 'Serve the lesson from this server, or add that origin to ALLOWED_ORIGINS in the server configuration.',
  }));
  if (origin) return { admitted: false, refusal: origin };
  const found = isSandboxId(id) ? manager.get(id) : undefined;
  const managed = upgrade.mustBeRunning && found?.state !== 'running' ? undefined : found;
  if (!managed) {
    const tombstone = isSandboxId(id) ? manager.tombstone(id) : undefined;
    if (tombstone) return refused('gone', CloseCode.gone, describeTombstone(tombstone));
    return refused('not-found', CloseCode.notFound, {
      code: 'not-found',
      message: `No sandbox ${JSON.stringify(id)}.`,
      hint: 'Create one with POST /api/sandboxes (reloading the lesson page does it).',
    });
  }
  const token = presentedToken(req, url, true);
  if (token === undefined) {
    return refused('unauthorized', CloseCode.unauthorized, {
      code: 'unauthorized',
      message: 'This connection carries no sandbox token.',
      hint: 'Pages on this server send the cookie automatically; pages elsewhere add ?token=<token from POST /api/sandboxes>.',
    });
  }
  if (!managed.tokenMatches(token)) {
    return refused('forbidden', CloseCode.forbidden, {
      code: 'forbidden',
      message: 'This token does not belong to that sandbox.',
      hint: 'Use the token returned when this sandbox was created.',
    });
  }
  const reader = presentedReader(req);
  if (reader !== undefined && managed.owner === readerKey(reader)) managed.claim();
  const classRefusal = options.attachRefusal?.(id);
  if (classRefusal) return refused('forbidden', CloseCode.forbidden, classRefusal);
  return { admitted: true, managed };
}

/** Says why in an error frame, then closes with `code` (a no-op on a socket no longer open). */
export function refuseSocket(ws: WebSocket, code: number, error: ErrorInfo): void {
  if (ws.readyState !== ws.OPEN) return;
  ws.send(JSON.stringify({ type: 'error', ...error }));
  ws.close(code, closeReason(error.message));
}
