// How things fail, in one place for every runtime: the error base that
// carries a hint (what to do), the WebSocket close codes, and the error codes
// of REST bodies and `error` frames. No Node imports and no zod: the
// browser's terminal code loads it.

/**
 * An error that says what happened (message) and what to do about it (hint).
 * Every error meant for a person extends it, so that whoever shows it (CLI,
 * log, HTTP body, page) finds the hint in the same place. `H` is
 * `string | undefined` for errors whose hint is sometimes unknown.
 */
export class HintedError<H extends string | undefined = string> extends Error {
  readonly hint: H;
  constructor(message: string, hint: H, options?: ErrorOptions) {
    super(message, options);
    this.hint = hint;
  }
}

// ───────────────────────── WebSocket close codes ─────────────────────────

export const CloseCode = {
  /** The terminal's shell exited (an `exit` message came first). */
  normal: 1000,
  /** The server is shutting down. */
  goingAway: 1001,
  /** A frame exceeded the hard limit (16 × MAX_CLIENT_FRAME_BYTES); the connection cannot continue. */
  messageTooBig: 1009,
  /** The server failed unexpectedly (opening the terminal failed, …). */
  internalError: 1011,
  /** Refused for now (too many attempts from this address, or a viewer that reads too slowly): retry later. */
  tryAgainLater: 1013,
  /** The URL is wrong: bad terminal name. */
  badRequest: 4400,
  /** No credential (cookie or ?token=) was presented. */
  unauthorized: 4401,
  /** Wrong credential, or the page's origin is not allowed. */
  forbidden: 4403,
  /** No such sandbox. */
  notFound: 4404,
  /** Another connection attached to this terminal (typically the same reader after a reload). */
  takenOver: 4409,
  /** The sandbox was destroyed (deleted, idle, too old, or it died). */
  gone: 4410,
  /**
   * This machine of a lab was reset (POST …/machines/:machine/reset or …/reset):
   * its shells are gone, the lab lives on. Reopening the same terminal URL
   * gives a shell on the machine made anew (same name, address, hosts).
   */
  machineReset: 4411,
  /** The sandbox already has the most terminals allowed. */
  tooManyTerminals: 4429,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

// ───────────────────────── error codes (REST bodies and `error` frames) ─────────────────────────

export const ERROR_CODES = [
  'bad-json',
  'bad-message',
  'unknown-type',
  'frame-too-large',
  'invalid-size',
  'invalid-terminal-name',
  'unauthorized',
  'forbidden',
  'origin-not-allowed',
  'host-not-allowed',
  'not-found',
  'gone',
  'machine-reset',
  'taken-over',
  'too-many-terminals',
  'too-many-sandboxes',
  'server-at-capacity',
  'server-shutting-down',
  'server-restarting',
  'method-not-allowed',
  'sandbox-failed',
  'terminal-failed',
  'internal',
  // Class mode (sandbox-server/src/classroom/): the student's personal link and the dashboard.
  'class-link-required',
  'class-link-invalid',
  'class-link-revoked',
  'class-link-expired',
  'class-mode-off',
  'rate-limited',
  'invalid-request',
  // The namespace view (WS api/sandboxes/:id/namespaces).
  'too-many-panels',
  'namespaces-failed',
  // Said by the browser itself: a reply it could not read (its schema refused it).
  'bad-reply',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The error body of REST answers and `error` frames. Its zod schema is
 * protocol.ts's ErrorInfo (this module stays zod-free: the page's terminal
 * code loads it without zod).
 */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  hint?: string | undefined;
  /**
   * "fr" when message and hint are already the reader's words (the classroom
   * writes its own, with dates and names); otherwise they are English for
   * developers, and the page shows contracts/messages.fr.ts for the code.
   */
  lang?: 'fr' | undefined;
}
