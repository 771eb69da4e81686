// The wire's numbers and paths, and the result type of its parsers: what
// the page's terminal code needs of the protocol, with no zod, so the chunk a
// reader downloads before the first prompt stays small. protocol.ts
// re-exports all of it; docs/protocol.md explains it in prose.
import type { ErrorInfo } from './errors.ts';

// ───────────────────────── flow control and framing ─────────────────────────
// Both sides count the same unit: bytes of binary frames (terminal output).

/** Unacknowledged output bytes above which the server pauses the terminal. */
export const FLOW_HIGH_WATERMARK = 128 * 1024;
/** Unacknowledged output bytes below which a paused terminal resumes. */
export const FLOW_LOW_WATERMARK = 16 * 1024;
/** The client should acknowledge at least this often (bytes written into xterm since its last ack). */
export const FLOW_ACK_EVERY_BYTES = 16 * 1024;
/** Largest frame a client may send (terminal input or control message); larger ones are refused with an error frame. */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;
/** Output the server keeps per terminal to replay on reattach; equal to the agent's TERMINAL_REPLAY_BYTES (agent-protocol.ts, which this browser module cannot import). */
export const REPLAY_BUFFER_BYTES = 64 * 1024;
/** Longest the server holds terminal output to send it in fewer frames (never after input: echo is immediate). */
export const OUTPUT_COALESCE_MS = 4;
/** Largest binary frame the server sends. */
export const MAX_SERVER_FRAME_BYTES = 32 * 1024;

// ───────────────────────── REST ─────────────────────────

/** Name of the HttpOnly cookie that carries a sandbox's token (scoped to that sandbox's API path). */
export const TOKEN_COOKIE = 'sandbox_token';
/** Name of the HttpOnly cookie that says which reader (browser) asks, so every tab gets the same machine (scoped to the base path). */
export const READER_COOKIE = 'reader';
/** Query parameter that carries the token on the WebSocket URL (for pages on another origin). */
export const TOKEN_QUERY_PARAM = 'token';

/** Standard base64 (RFC 4648, padded), as Node writes it: how JSON answers carry terminal bytes. */
export const BASE64_PATTERN = /^(?:[0-9a-zA-Z+/]{4})*(?:[0-9a-zA-Z+/]{2}==|[0-9a-zA-Z+/]{3}=)?$/;

/** API paths, relative to the server's base path (which ends with "/"). */
export const apiPath = {
  sandboxes: () => 'api/sandboxes',
  sandbox: (id: string) => `api/sandboxes/${id}`,
  terminal: (id: string, name: string) => `api/sandboxes/${id}/terminals/${name}`,
  /** Terminal `name` of a lab's machine `machine` (`terminal()` is the first machine's). */
  machineTerminal: (id: string, machine: string, name: string) => `api/sandboxes/${id}/machines/${machine}/terminals/${name}`,
  namespaces: (id: string) => `api/sandboxes/${id}/namespaces`,
  /** The namespace view of a lab's machine `machine` (`namespaces()` is the first machine's). */
  machineNamespaces: (id: string, machine: string) => `api/sandboxes/${id}/machines/${machine}/namespaces`,
  /** POST: make machine `machine` of a lab anew (the others keep running). */
  machineReset: (id: string, machine: string) => `api/sandboxes/${id}/machines/${machine}/reset`,
  /** POST: make every machine of a lab anew, keeping its id, token and network. */
  labReset: (id: string) => `api/sandboxes/${id}/reset`,
} as const;

/** What every parser of the wire returns: the value, or an error body saying what was wrong. Never throws. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };
