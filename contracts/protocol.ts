// The wire protocol between the lesson page and the sandbox server, in one
// module imported by both sides. It must stay free of Node imports: the
// browser bundle includes it as is. docs/protocol.md explains it in prose.
import { z } from 'zod';
import { MAX_SNAPSHOT_PROCESSES, checkOmitted, checkSnapshotProcess, type OmittedProcesses, type SnapshotProcess } from './process-snapshot.ts';
import { SANDBOX_ID_PATTERN, SANDBOX_ID_RULE, TERMINAL_NAME_PATTERN, TERMINAL_NAME_RULE } from './names.ts';
import { TERMINAL_SIZE_LIMITS, terminalSizeProblem, type TerminalSize } from './sizes.ts';
import { ERROR_CODES } from './errors.ts';
import { BASE64_PATTERN, type ParseResult } from './wire.ts';

// ───────────────────────── identifiers and sizes ─────────────────────────
// The rules live in names.ts and sizes.ts (plain modules the agent loads too);
// the schemas here only wrap them for zod.

export const SandboxId = z.string().regex(SANDBOX_ID_PATTERN, `a sandbox id is ${SANDBOX_ID_RULE}`);
export const TerminalName = z.string().regex(TERMINAL_NAME_PATTERN, `a terminal name is ${TERMINAL_NAME_RULE}`);

// ───────────────────────── flow control and framing ─────────────────────────
// The numbers and paths live in wire.ts (no zod: the page's terminal code loads it alone).
export {
  BASE64_PATTERN,
  FLOW_ACK_EVERY_BYTES,
  FLOW_HIGH_WATERMARK,
  FLOW_LOW_WATERMARK,
  MAX_CLIENT_FRAME_BYTES,
  MAX_SERVER_FRAME_BYTES,
  OUTPUT_COALESCE_MS,
  READER_COOKIE,
  REPLAY_BUFFER_BYTES,
  TOKEN_COOKIE,
  TOKEN_QUERY_PARAM,
  apiPath,
  type ParseResult,
} from './wire.ts';

// Close codes, error codes and the error body: contracts/errors.ts (re-exported here for the wire's users).
export { CloseCode, ERROR_CODES } from './errors.ts';
export const ErrorCode = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCode>;
/** The error body of REST answers and `error` frames (its type, zod-free: errors.ts). */
export const ErrorInfo = z.object({
  code: ErrorCode,
  message: z.string(),
  hint: z.string().optional(),
  /**
   * "fr" when message and hint are already the reader's words (the classroom
   * writes its own, with dates and names); otherwise they are English for
   * developers, and the page shows contracts/messages.fr.ts for the code.
   */
  lang: z.literal('fr').optional(),
});
export type ErrorInfo = z.infer<typeof ErrorInfo>;

// ───────────────────────── WebSocket control messages (text frames) ─────────────────────────

export const ResizeMessage = z.object({ type: z.literal('resize'), cols: z.number(), rows: z.number() });
export const AckMessage = z.object({ type: z.literal('ack'), bytes: z.int().min(0).max(Number.MAX_SAFE_INTEGER) });
export const ClientMessage = z.discriminatedUnion('type', [ResizeMessage, AckMessage]);
export type ClientMessage = z.infer<typeof ClientMessage>;
export const CLIENT_MESSAGE_TYPES = ['resize', 'ack'] as const;

export const ReadyMessage = z.object({
  type: z.literal('ready'),
  sandbox: z.string(),
  terminal: z.string(),
  cols: z.int(),
  rows: z.int(),
  /** True when this attach returned to a shell that was already running. */
  resumed: z.boolean(),
  /** Bytes of earlier output that follow in binary frames before live output. */
  replayBytes: z.int().min(0),
});
export const ExitMessage = z.object({
  type: z.literal('exit'),
  code: z.int().nullable(),
  signal: z.int().nullable(),
});
export const ErrorMessage = ErrorInfo.extend({ type: z.literal('error') });
export const ServerMessage = z.discriminatedUnion('type', [ReadyMessage, ExitMessage, ErrorMessage]);
export type ReadyMessage = z.infer<typeof ReadyMessage>;
export type ExitMessage = z.infer<typeof ExitMessage>;
export type ErrorMessage = z.infer<typeof ErrorMessage>;
export type ServerMessage = z.infer<typeof ServerMessage>;

/** Parse a text frame from the client; never throws. */
/** An ack exactly as the page writes it (JSON.stringify of {type, bytes}): most control frames, read without JSON or zod. */
const PLAIN_ACK = /^\{"type":"ack","bytes":(0|[1-9][0-9]{0,14})\}$/;

export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  // 15 digits at most: always a safe integer, so the schema below would accept it too.
  const ack = PLAIN_ACK.exec(text);
  if (ack) return { ok: true, value: { type: 'ack', bytes: Number(ack[1]) } };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {
      ok: false,
      error: {
        code: 'bad-json',
        message: 'The control message is not valid JSON.',
        hint: 'Send text frames as JSON objects, e.g. {"type":"resize","cols":80,"rows":24}; send terminal input as binary frames.',
      },
    };
  }
  const type = typeof json === 'object' && json !== null && 'type' in json ? (json as { type: unknown }).type : undefined;
  if (typeof type !== 'string' || !(CLIENT_MESSAGE_TYPES as readonly string[]).includes(type)) {
    return {
      ok: false,
      error: {
        code: 'unknown-type',
        message: `Unknown control message type ${JSON.stringify(type ?? null)}.`,
        hint: `Known types: ${CLIENT_MESSAGE_TYPES.join(', ')}.`,
      },
    };
  }
  const parsed = ClientMessage.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      error: {
        code: 'bad-message',
        message: `Malformed "${type}" message: ${z.prettifyError(parsed.error)}`,
        hint: type === 'ack' ? 'Send {"type":"ack","bytes":N} with N a non-negative integer.' : 'Send {"type":"resize","cols":C,"rows":R}.',
      },
    };
  }
  if (parsed.data.type === 'resize') {
    const size = parseTerminalSize(parsed.data.cols, parsed.data.rows);
    if (!size.ok) return size;
  }
  return { ok: true, value: parsed.data };
}

/** A terminal size from a message or a URL, checked by the one rule (sizes.ts), as a wire result; never throws. */
export function parseTerminalSize(cols: unknown, rows: unknown): ParseResult<TerminalSize> {
  const problem = terminalSizeProblem(cols, rows);
  if (problem === undefined) return { ok: true, value: { cols: cols as number, rows: rows as number } };
  const { minCols, maxCols, minRows, maxRows } = TERMINAL_SIZE_LIMITS;
  return {
    ok: false,
    error: {
      code: 'invalid-size',
      message: `Invalid terminal size ${String(cols).slice(0, 20)}×${String(rows).slice(0, 20)}: ${problem}.`,
      hint: `cols must be an integer from ${minCols} to ${maxCols} and rows from ${minRows} to ${maxRows}; the size was ignored.`,
    },
  };
}

/** Parse a text frame from the server (used by the browser client); never throws. */
export function parseServerMessage(text: string): ParseResult<ServerMessage> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: { code: 'bad-json', message: 'The server sent a control message that is not JSON.' } };
  }
  const parsed = ServerMessage.safeParse(json);
  if (!parsed.success) return { ok: false, error: { code: 'bad-message', message: z.prettifyError(parsed.error) } };
  return { ok: true, value: parsed.data };
}

// ───────────────────────── namespace view (WS api/sandboxes/:id/namespaces) ─────────────────────────
// The machine's processes and their namespaces, pushed to an open « Vue des
// namespaces » panel: a whole `snapshot` first (and again whenever the
// server decides a resync is simpler), then a `diff` each time something
// changed. The process shape is contracts/process-snapshot.ts, the same the
// agent sends. The client sends nothing (closing the socket closes the panel).

const SnapshotProcessSchema = z.custom<SnapshotProcess>((value) => checkSnapshotProcess(value) === undefined, 'not a process of a snapshot');
const OmittedSchema = z.custom<OmittedProcesses>((value) => checkOmitted(value) === undefined, 'not a count of omitted processes');
const NamespaceViewBase = {
  /** The machine this picture is of (its sandbox id, "<lab id>/<machine>" for a lab's other machines: one picture per machine). */
  machine: z.string(),
  /** 1 for the first message of a connection, +1 for each next one: a gap means a lost message (resync by reconnecting). */
  seq: z.int().min(1),
  /** When the agent described the processes, ISO 8601. */
  at: z.iso.datetime(),
  /** Processes in the machine, described or not. */
  total: z.int().min(0),
  omitted: OmittedSchema,
  /** The terminals' login shells: which pid is « terminal 1 ». */
  terminals: z.array(z.object({ name: z.string(), pid: z.int().min(1) })).max(64),
};
export const NamespacesSnapshotMessage = z.object({
  type: z.literal('snapshot'),
  ...NamespaceViewBase,
  processes: z.array(SnapshotProcessSchema).max(MAX_SNAPSHOT_PROCESSES),
});
export const NamespacesDiffMessage = z.object({
  type: z.literal('diff'),
  ...NamespaceViewBase,
  /** New processes, and processes whose description changed (by pid). */
  upserted: z.array(SnapshotProcessSchema).max(MAX_SNAPSHOT_PROCESSES),
  /** Pids no longer described (ended, or omitted now). */
  removed: z.array(z.int().min(1)).max(4 * MAX_SNAPSHOT_PROCESSES),
});
export const NamespaceServerMessage = z.discriminatedUnion('type', [NamespacesSnapshotMessage, NamespacesDiffMessage, ErrorMessage]);
export type NamespacesSnapshotMessage = z.infer<typeof NamespacesSnapshotMessage>;
export type NamespacesDiffMessage = z.infer<typeof NamespacesDiffMessage>;
export type NamespaceServerMessage = z.infer<typeof NamespaceServerMessage>;

/** Most namespace panels open at once on one sandbox (tabs of one reader); beyond: `too-many-panels`, close 4429. */
export const MAX_NAMESPACE_PANELS_PER_SANDBOX = 4;

/** Parse a text frame of the namespace view (used by the panel); never throws. */
export function parseNamespaceMessage(text: string): ParseResult<NamespaceServerMessage> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: { code: 'bad-json', message: 'The server sent a namespace message that is not JSON.' } };
  }
  const parsed = NamespaceServerMessage.safeParse(json);
  if (!parsed.success) return { ok: false, error: { code: 'bad-message', message: z.prettifyError(parsed.error) } };
  return { ok: true, value: parsed.data };
}

// ───────────────────────── REST ─────────────────────────

/** Most machines a lab may hold whatever the server says (its own MAX_MACHINES_PER_LAB is at most this). */
export const LAB_MACHINES_CEILING = 16;

/** Body of POST api/sandboxes (optional: no body is one machine). */
export const CreateSandboxRequest = z.strictObject({
  /** A lab: these named machines (names as terminal names, all different) on a private network of their own. */
  machines: z
    .array(TerminalName)
    .min(1, 'a lab has at least one machine')
    .max(LAB_MACHINES_CEILING)
    .refine((names) => new Set(names).size === names.length, 'machine names must all differ')
    .optional(),
});
export type CreateSandboxRequest = z.infer<typeof CreateSandboxRequest>;

/** One machine of a lab: its host name and its address on the lab's private network. */
export const LabMachine = z.object({ name: TerminalName, address: z.string() });
export type LabMachine = z.infer<typeof LabMachine>;

export const CreateSandboxResponse = z.object({
  id: SandboxId,
  /** Credential for this sandbox: `Authorization: Bearer <token>` on REST, `?token=` on the WebSocket (a cookie carries it too). */
  token: z.string(),
  /** When the sandbox will be destroyed at the latest (maximum age), ISO 8601. */
  expiresAt: z.iso.datetime(),
  /** A lab's machines, in the order asked (absent for one machine). */
  machines: z.array(LabMachine).optional(),
  /**
   * The shell the warm pool started ahead in one terminal of this machine,
   * shown to no page yet: its name and what it printed so far (its prompt),
   * base64. The page may show it before the terminal's socket opens; that
   * socket's replay (ready.replayBytes) then starts with the same bytes.
   * Absent when the machine was made on the spot, or its shell was shown.
   */
  started: z.object({ terminal: TerminalName, output: z.string().regex(BASE64_PATTERN) }).optional(),
});
export type CreateSandboxResponse = z.infer<typeof CreateSandboxResponse>;

/**
 * Answer of POST api/sandboxes/:id/machines/:machine/reset (one machine made
 * anew) and POST api/sandboxes/:id/reset (every machine of the lab): the
 * machines reset, each at its old name and address. The lab keeps its id,
 * token and end; the reset machines' terminals were closed with 4411.
 */
export const ResetMachinesResponse = z.object({ machines: z.array(LabMachine).min(1) });
export type ResetMachinesResponse = z.infer<typeof ResetMachinesResponse>;

export const TerminalStatus = z.object({
  name: z.string(),
  attached: z.boolean(),
  cols: z.int(),
  rows: z.int(),
  createdAt: z.iso.datetime(),
  /** Output is paused because the client has not acknowledged enough of it. */
  paused: z.boolean(),
});
export type TerminalStatus = z.infer<typeof TerminalStatus>;

export const SandboxStatus = z.object({
  id: SandboxId,
  /** Always "running": a sandbox being destroyed answers 410 at once. */
  state: z.literal('running'),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  idle: z.object({
    /** Since when no terminal has been attached, or null while one is. */
    since: z.iso.datetime().nullable(),
    /** When the sandbox will be destroyed for idleness, or null while a terminal is attached. */
    expiresAt: z.iso.datetime().nullable(),
  }),
  terminals: z.array(TerminalStatus),
});
export type SandboxStatus = z.infer<typeof SandboxStatus>;

export const ApiErrorBody = z.object({ error: ErrorInfo });
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;
