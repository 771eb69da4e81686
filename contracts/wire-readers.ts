// What the page reads from the server, checked without zod: the terminal's
// control frames (ready, exit, error), the answers of POST api/sandboxes and
// of a lab's resets, and the error body of REST answers. The page's terminal code uses these, so
// that the chunk a reader downloads before their first prompt carries no
// schema library (zod alone weighed a fifth of it). The zod schemas of
// protocol.ts stay the definition: a unit test (tests/unit/wire-readers.test.ts)
// checks that both accept and refuse the same messages, and give the same values.
import { ERROR_CODES, type ErrorInfo } from './errors.ts';
import { SANDBOX_ID_PATTERN, TERMINAL_NAME_PATTERN } from './names.ts';
import type { CreateSandboxResponse, LabMachine, ResetMachinesResponse, ServerMessage } from './protocol.ts';
import { BASE64_PATTERN, type ParseResult } from './wire.ts';

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields => typeof value === 'object' && value !== null && !Array.isArray(value);
const isInt = (value: unknown): value is number => Number.isSafeInteger(value);
const isIntOrNull = (value: unknown): value is number | null => value === null || isInt(value);
const errorCodes: ReadonlySet<string> = new Set(ERROR_CODES);
/** RFC 3339 in UTC ("Z"), with seconds and any fraction, as the server writes dates (Date.toISOString). */
const UTC_DATETIME = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?Z$/;
/** A real calendar day too: Date would roll 2026-02-30 over to March 2. */
const isUtcDatetime = (value: unknown): value is string =>
  typeof value === 'string' && UTC_DATETIME.test(value) && new Date(`${value.slice(0, 10)}T00:00:00Z`).toISOString().startsWith(value.slice(0, 10));

/** An error body ({code, message, hint?, lang?}), with only its known fields; undefined if it is not one. */
export function readErrorInfo(value: unknown): ErrorInfo | undefined {
  if (!isObject(value)) return undefined;
  const { code, message, hint, lang } = value;
  if (typeof code !== 'string' || !errorCodes.has(code) || typeof message !== 'string') return undefined;
  if (hint !== undefined && typeof hint !== 'string') return undefined;
  if (lang !== undefined && lang !== 'fr') return undefined;
  const info: ErrorInfo = { code: code as ErrorInfo['code'], message };
  if (hint !== undefined) info.hint = hint;
  if (lang !== undefined) info.lang = lang;
  return info;
}

/** A control frame from the terminal socket (text); never throws. */
export function readServerMessage(text: string): ParseResult<ServerMessage> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: { code: 'bad-json', message: 'The server sent a control message that is not JSON.' } };
  }
  const message = serverMessage(json);
  if (message === undefined)
    return { ok: false, error: { code: 'bad-message', message: `The server sent a control message this page cannot read: ${text.slice(0, 200)}` } };
  return { ok: true, value: message };
}

function serverMessage(value: unknown): ServerMessage | undefined {
  if (!isObject(value)) return undefined;
  switch (value.type) {
    case 'ready': {
      const { sandbox, terminal, cols, rows, resumed, replayBytes } = value;
      if (typeof sandbox !== 'string' || typeof terminal !== 'string' || !isInt(cols) || !isInt(rows)) return undefined;
      if (typeof resumed !== 'boolean' || !isInt(replayBytes) || replayBytes < 0) return undefined;
      return { type: 'ready', sandbox, terminal, cols, rows, resumed, replayBytes };
    }
    case 'exit': {
      const { code, signal } = value;
      if (!isIntOrNull(code) || !isIntOrNull(signal)) return undefined;
      return { type: 'exit', code, signal };
    }
    case 'error': {
      const info = readErrorInfo(value);
      return info && { ...info, type: 'error' };
    }
    default:
      return undefined;
  }
}

/** The body of a REST error answer ({error: …}); undefined if it is not one (a static host's own 404 page, say). */
export function readApiError(value: unknown): ErrorInfo | undefined {
  return isObject(value) ? readErrorInfo(value.error) : undefined;
}

/** The answer of POST api/sandboxes; undefined if it is not one. */
export function readCreateSandboxResponse(value: unknown): CreateSandboxResponse | undefined {
  if (!isObject(value)) return undefined;
  const { id, token, expiresAt, machines, started } = value;
  if (typeof id !== 'string' || !SANDBOX_ID_PATTERN.test(id) || typeof token !== 'string' || !isUtcDatetime(expiresAt)) return undefined;
  const answer: CreateSandboxResponse = { id, token, expiresAt };
  if (started !== undefined) {
    if (!isObject(started)) return undefined;
    const { terminal, output } = started;
    if (typeof terminal !== 'string' || !TERMINAL_NAME_PATTERN.test(terminal) || typeof output !== 'string' || !BASE64_PATTERN.test(output)) return undefined;
    answer.started = { terminal, output };
  }
  if (machines === undefined) return answer;
  const lab = labMachines(machines);
  if (lab === undefined) return undefined;
  answer.machines = lab;
  return answer;
}

/** The answer of a lab's resets (POST …/machines/:machine/reset, …/reset): at least one machine; undefined if it is not one. */
export function readResetMachinesResponse(value: unknown): ResetMachinesResponse | undefined {
  if (!isObject(value)) return undefined;
  const machines = labMachines(value.machines);
  return machines === undefined || machines.length === 0 ? undefined : { machines };
}

function labMachines(value: unknown): LabMachine[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const lab: LabMachine[] = [];
  for (const machine of value) {
    if (!isObject(machine) || typeof machine.name !== 'string' || !TERMINAL_NAME_PATTERN.test(machine.name) || typeof machine.address !== 'string')
      return undefined;
    lab.push({ name: machine.name, address: machine.address });
  }
  return lab;
}
