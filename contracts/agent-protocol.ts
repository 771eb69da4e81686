// The wire protocol between the sandbox server (host) and the agent that runs
// inside each sandbox and owns its terminals.
//
// One ordered, reliable byte stream carries everything: a unix socket for the
// namespace driver, a virtio-serial port for a VM, a pipe in tests. Nothing
// here knows which. Terminals are multiplexed over it by channel number.
//
// Frame layout (all integers big-endian):
//
//   u32 length   bytes that follow this field (1 + 4 + payload)
//   u8  kind     one of FrameKind
//   u32 channel  terminal channel, chosen by the host at open; 0 = the agent itself
//   ... payload  raw bytes for Data, UTF-8 JSON for every other kind (may be empty)
//
// Inside the machine the host's peer is the agent's terminal keeper
// (sandbox-server/agent/terminal-keeper.c), which carries terminal bytes
// itself and passes the other frames to the Node agent; it mirrors the kinds
// and sizes below in C (tests/unit/agent-keeper-link.test.ts holds them equal).
//
// Both ends must treat the other as untrusted: root inside a sandbox can kill
// the agent and speak on its socket. Hence the size cap and the validation of
// every control message.
//
// This module is imported by the agent inside the sandbox, where each
// millisecond of startup is felt, so it depends on nothing but Node (a zod
// import alone costs more than Node's own startup there); the few message
// shapes are checked by hand below, with the same size and name rules as
// every other hop (sizes.ts, names.ts: plain modules too).
import { terminalNameProblem } from './names.ts';
import { MAX_SNAPSHOT_PROCESSES, checkProcessSnapshot, type ProcessSnapshot } from './process-snapshot.ts';
import { terminalSizeProblem } from './sizes.ts';

// 2: the agent outlives its host. Hello lists the terminals still open (and
// their recent output follows it); a new connection takes over from the old.
export const PROTOCOL_VERSION = 2;

export const FrameKind = {
  /**
   * agent → host, channel 0, first frame of every connection: the agent is up
   * and ready. JSON Hello, listing the terminals still open from an earlier
   * connection; each one's recent output (Data frames) follows it, before
   * anything else.
   */
  Hello: 1,
  /** host → agent: start a login shell on a new pty. JSON Open. */
  Open: 2,
  /** agent → host: the shell runs. JSON Opened. */
  Opened: 3,
  /** both ways: terminal bytes (keyboard in, screen out). Raw. */
  Data: 4,
  /** host → agent: new window size. JSON Resize. */
  Resize: 5,
  /** host → agent: stop reading the pty (flow control). Empty. */
  Pause: 6,
  /** host → agent: read the pty again. Empty. */
  Resume: 7,
  /** host → agent: hang up the terminal. Empty. */
  Close: 8,
  /** agent → host: the shell is gone; the channel is closed. JSON Exit. */
  Exit: 9,
  /**
   * both ways: a request failed (channel ≠ 0) or the peer misbehaved (channel 0). JSON ErrorMessage.
   * Also the answer to an Open, Exec or Snapshot pending when the machine's Node agent died and was
   * started again (terminal-keeper.c): the request may be sent again.
   */
  Error: 10,
  /** agent → host, channel 0: a structured log record for the server's log. JSON LogRecord. */
  Log: 11,
  /** host → agent: run a command as root, no terminal (exercise checks). JSON Exec. */
  Exec: 12,
  /** agent → host: the command of an Exec finished; the channel is closed. JSON ExecDone. */
  ExecDone: 13,
  /** host → agent: describe the machine's processes and their namespaces. JSON SnapshotRequest. */
  Snapshot: 14,
  /** agent → host: the description; the channel is closed. JSON ProcessSnapshot (see process-snapshot.ts). */
  SnapshotDone: 15,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

const kindNames = new Map<number, string>(Object.entries(FrameKind).map(([name, value]) => [value, name]));
export function frameKindName(kind: number): string {
  return kindNames.get(kind) ?? `unknown(${kind})`;
}

const HEADER_BYTES = 4 + 1 + 4;
/** Largest frame either side accepts; bigger ones mean a broken or hostile peer. */
export const MAX_FRAME_BYTES = 1 << 20;
/**
 * Output the agent keeps per terminal for the next host connection, and the
 * server per terminal for the next page (REPLAY_BUFFER_BYTES): one value.
 */
export const TERMINAL_REPLAY_BYTES = 64 * 1024;
/** Terminal bytes are cut into frames of at most this size. */
export const MAX_DATA_PAYLOAD = 64 * 1024;

export interface Frame {
  kind: FrameKind;
  channel: number;
  payload: Buffer;
}

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

export function encodeFrame(kind: FrameKind, channel: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  return encodeFrameOfKind(kind, channel, payload);
}

/**
 * The same layout for a kind of another stream that borrows it (the agent's
 * link to its terminal keeper, sandbox-server/agent/keeper-link.ts).
 */
export function encodeFrameOfKind(kind: number, channel: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  if (!Number.isInteger(kind) || kind < 0 || kind > 0xff) throw new ProtocolError(`frame kind must be a byte, got ${kind}`);
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  if (!Number.isInteger(channel) || channel < 0 || channel > 0xffffffff) {
    throw new ProtocolError(`channel must be an integer in 0..2^32-1, got ${channel}`);
  }
  if (HEADER_BYTES + body.length > MAX_FRAME_BYTES) {
    throw new ProtocolError(`frame of ${HEADER_BYTES + body.length} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`);
  }
  const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  frame.writeUInt32BE(1 + 4 + body.length, 0);
  frame.writeUInt8(kind, 4);
  frame.writeUInt32BE(channel, 5);
  body.copy(frame, HEADER_BYTES);
  return frame;
}

/** Terminal bytes as as many Data frames as needed. */
export function encodeData(channel: number, data: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += MAX_DATA_PAYLOAD) {
    frames.push(encodeFrame(FrameKind.Data, channel, data.subarray(offset, offset + MAX_DATA_PAYLOAD)));
  }
  return frames;
}

/**
 * Cuts a byte stream back into frames, whatever the chunking of the transport.
 * Throws ProtocolError on a frame that is too short, too long or of an unknown
 * kind; the stream cannot be resynchronised after that, so close it.
 */
export class FrameDecoder {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  readonly #kinds: ReadonlySet<number> | ReadonlyMap<number, string>;

  /** `kinds`: the kinds this stream may carry (by default the host protocol's; a stream that borrows the layout passes its own). */
  constructor(kinds?: ReadonlySet<number>) {
    this.#kinds = kinds ?? kindNames;
  }

  push(chunk: Buffer): Frame[] {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const frames: Frame[] = [];
    while (this.#pendingBytes >= 4) {
      const head = this.#peek(4);
      const length = head.readUInt32BE(0);
      if (length < 5) throw new ProtocolError(`frame length ${length} is shorter than a frame header`);
      if (4 + length > MAX_FRAME_BYTES) {
        throw new ProtocolError(`frame of ${4 + length} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`);
      }
      if (this.#pendingBytes < 4 + length) break;
      const bytes = this.#take(4 + length);
      const kind = bytes.readUInt8(4);
      if (!this.#kinds.has(kind)) throw new ProtocolError(`unknown frame kind ${kind}`);
      frames.push({ kind: kind as FrameKind, channel: bytes.readUInt32BE(5), payload: bytes.subarray(HEADER_BYTES) });
    }
    return frames;
  }

  /** Bytes received that do not yet form a whole frame. */
  get bufferedBytes(): number {
    return this.#pendingBytes;
  }

  #peek(count: number): Buffer {
    const first = this.#pending[0]!;
    if (first.length >= count) return first.subarray(0, count);
    this.#pending = [Buffer.concat(this.#pending)];
    return this.#pending[0]!.subarray(0, count);
  }

  #take(count: number): Buffer {
    let joined = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
    const taken = joined.subarray(0, count);
    joined = joined.subarray(count);
    this.#pending = joined.length > 0 ? [joined] : [];
    this.#pendingBytes = joined.length;
    return taken;
  }
}

// ---- Control messages -------------------------------------------------------

export interface Hello {
  protocol: number;
  /** The agent's pid inside the sandbox. */
  pid: number;
  hostname: string;
  /** Terminals opened by an earlier host connection and still running (empty on a fresh machine). */
  terminals: OpenTerminal[];
}

/** A terminal the agent kept across host connections. */
export interface OpenTerminal {
  channel: number;
  name: string;
  /** Its shell's pid inside the sandbox, and its pty. */
  pid: number;
  tty: string;
  cols: number;
  rows: number;
}

/** Most terminals a Hello may list (far above any server's per-machine limit). */
export const MAX_OPEN_TERMINALS = 256;

export interface Open {
  name: string;
  cols: number;
  rows: number;
}

export interface Opened {
  /** The shell's pid inside the sandbox. */
  pid: number;
  /** Its pty, e.g. /dev/pts/0. */
  tty: string;
}

export interface Resize {
  cols: number;
  rows: number;
}

export interface Exit {
  code: number | null;
  signal: number | null;
}

export interface ErrorMessage {
  message: string;
  /** What the receiver could do about it. */
  hint?: string;
}

export interface Exec {
  argv: string[];
  /** Killed (SIGKILL) after this long. */
  timeoutMs: number;
}

/**
 * Bytes kept of each stream of an Exec; the rest is dropped and `truncated`
 * set. Small enough that both, JSON-escaped at worst (×6), fit in a frame.
 */
export const EXEC_OUTPUT_LIMIT = 64 * 1024;

export interface ExecDone {
  code: number | null;
  signal: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  /** Set when the command could not be started (no such file…). */
  error?: string;
}

export interface SnapshotRequest {
  /** Most processes described one by one; the others are only counted (a fork bomb must not flood anyone). */
  maxProcesses: number;
}

export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  [field: string]: unknown;
}

interface ControlMessages {
  [FrameKind.Hello]: Hello;
  [FrameKind.Open]: Open;
  [FrameKind.Opened]: Opened;
  [FrameKind.Resize]: Resize;
  [FrameKind.Exit]: Exit;
  [FrameKind.Error]: ErrorMessage;
  [FrameKind.Log]: LogRecord;
  [FrameKind.Exec]: Exec;
  [FrameKind.ExecDone]: ExecDone;
  [FrameKind.Snapshot]: SnapshotRequest;
  [FrameKind.SnapshotDone]: ProcessSnapshot;
}
export type ControlKind = keyof ControlMessages;

export function encodeControl<K extends ControlKind>(kind: K, channel: number, message: ControlMessages[K]): Buffer {
  return encodeFrame(kind, channel, JSON.stringify(message));
}

/** The JSON payload of a control frame, checked against its kind's shape. */
export function decodeControl<K extends ControlKind>(kind: K, frame: Frame): ControlMessages[K] {
  if (frame.kind !== kind) {
    throw new ProtocolError(`expected a ${frameKindName(kind)} frame, got ${frameKindName(frame.kind)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(frame.payload.toString('utf8'));
  } catch {
    throw new ProtocolError(`${frameKindName(kind)} frame payload is not JSON`);
  }
  const problem = validators[kind](value);
  if (problem) throw new ProtocolError(`invalid ${frameKindName(kind)} message: ${problem}`);
  return value as ControlMessages[K];
}

type Validator = (value: unknown) => string | undefined;

function checkOpenTerminal(value: unknown, index: number): string | undefined {
  const problem = ifObject(value, (o) =>
    !isIntegerIn(o.channel, 1, 0xffffffff)
      ? 'channel must be a positive integer'
      : !isIntegerIn(o.pid, 1, 2 ** 22)
        ? 'pid must be a positive integer'
        : typeof o.tty !== 'string'
          ? 'tty must be a string'
          : (terminalNameProblem(o.name) ?? terminalSizeProblem(o.cols, o.rows)),
  );
  return problem && `terminals[${index}]: ${problem}`;
}

const validators: Record<ControlKind, Validator> = {
  [FrameKind.Hello]: (value) =>
    ifObject(value, (o) =>
      !isIntegerIn(o.protocol, 1, 1000)
        ? 'protocol must be a positive integer'
        : !isIntegerIn(o.pid, 1, 2 ** 22)
          ? 'pid must be a positive integer'
          : typeof o.hostname !== 'string'
            ? 'hostname must be a string'
            : // Protocol 1 had no list; its check is the version's, in the session.
              o.terminals !== undefined && !Array.isArray(o.terminals)
              ? 'terminals must be an array'
              : Array.isArray(o.terminals) && o.terminals.length > MAX_OPEN_TERMINALS
                ? `terminals may list at most ${MAX_OPEN_TERMINALS} entries`
                : Array.isArray(o.terminals)
                  ? o.terminals.map(checkOpenTerminal).find(Boolean)
                  : undefined,
    ),
  [FrameKind.Open]: (value) => ifObject(value, (o) => terminalNameProblem(o.name) ?? terminalSizeProblem(o.cols, o.rows)),
  [FrameKind.Opened]: (value) =>
    ifObject(value, (o) =>
      !isIntegerIn(o.pid, 1, 2 ** 22) ? 'pid must be a positive integer' : typeof o.tty !== 'string' ? 'tty must be a string' : undefined,
    ),
  [FrameKind.Resize]: (value) => ifObject(value, (o) => terminalSizeProblem(o.cols, o.rows)),
  [FrameKind.Exit]: (value) =>
    ifObject(value, (o) =>
      !(o.code === null || isIntegerIn(o.code, -255, 255))
        ? 'code must be an integer or null'
        : !(o.signal === null || isIntegerIn(o.signal, 0, 64))
          ? 'signal must be a signal number or null'
          : undefined,
    ),
  [FrameKind.Error]: (value) =>
    ifObject(value, (o) =>
      typeof o.message !== 'string' ? 'message must be a string' : o.hint !== undefined && typeof o.hint !== 'string' ? 'hint must be a string' : undefined,
    ),
  [FrameKind.Log]: (value) =>
    ifObject(value, (o) =>
      !['debug', 'info', 'warn', 'error'].includes(o.level as string)
        ? 'level must be debug, info, warn or error'
        : typeof o.msg !== 'string'
          ? 'msg must be a string'
          : undefined,
    ),
  [FrameKind.Exec]: (value) =>
    ifObject(value, (o) =>
      !Array.isArray(o.argv) || o.argv.length === 0 || !o.argv.every((arg) => typeof arg === 'string')
        ? 'argv must be a non-empty array of strings'
        : !isIntegerIn(o.timeoutMs, 1, 3_600_000)
          ? 'timeoutMs must be an integer in 1..3600000'
          : undefined,
    ),
  [FrameKind.ExecDone]: (value) =>
    ifObject(value, (o) =>
      !(o.code === null || isIntegerIn(o.code, -255, 255))
        ? 'code must be an integer or null'
        : !(o.signal === null || isIntegerIn(o.signal, 0, 64))
          ? 'signal must be a signal number or null'
          : typeof o.stdout !== 'string' || typeof o.stderr !== 'string'
            ? 'stdout and stderr must be strings'
            : typeof o.truncated !== 'boolean'
              ? 'truncated must be a boolean'
              : o.error !== undefined && typeof o.error !== 'string'
                ? 'error must be a string'
                : undefined,
    ),
  [FrameKind.Snapshot]: (value) =>
    ifObject(value, (o) =>
      !isIntegerIn(o.maxProcesses, 1, MAX_SNAPSHOT_PROCESSES) ? `maxProcesses must be an integer in 1..${MAX_SNAPSHOT_PROCESSES}` : undefined,
    ),
  [FrameKind.SnapshotDone]: checkProcessSnapshot,
};

function ifObject(value: unknown, check: (o: Record<string, unknown>) => string | undefined): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected a JSON object';
  return check(value as Record<string, unknown>);
}

function isIntegerIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

// ---- Agent start-up configuration --------------------------------------------

/**
 * What the host tells the agent when starting it (JSON in the
 * SANDBOX_AGENT_CONFIG environment variable). Part of the same contract as the
 * frames, so it lives here.
 */
export interface AgentConfig {
  /**
   * Where to find the host: "listen:/path/to.sock" (the agent listens; each
   * new host connection takes over, and the terminals outlive any of them),
   * "unix:/path/to.sock" (connect once) or "stdio" (one stream). With the last
   * two the agent exits when its host goes away.
   */
  transport: string;
  hostname: string;
  /** Start a Docker daemon in the background once the agent is ready. */
  docker: boolean;
  /** The user every terminal's login shell runs as. */
  user: string;
  /**
   * Most tasks all terminals together may hold (their cgroup's pids.max). Kept
   * below the sandbox's own limit so a fork bomb in a terminal leaves room for
   * the agent and dockerd, and the agent can then clean up after it.
   */
  terminalPidsMax: number;
  /** When false, /etc/machine-id etc. are left alone (tests of the agent on a dev machine). */
  writeIdentity: boolean;
  /** The machines of its lab (itself included), written into /etc/hosts so each resolves the others by name. */
  hosts?: LabHost[];
  /**
   * The reader's namespace in the class registry (lecteur-<10 hex>): the agent
   * tells the shells ($DEPOT=localhost:5000/<namespace>), so that
   * `docker push $DEPOT/app` works. Absent: no class registry.
   */
  registryNamespace?: string;
}

export interface LabHost {
  name: string;
  address: string;
}

/** Most machines a lab may hold, whatever a server is configured with (bounds the hosts list of AgentConfig). */
export const MAX_LAB_HOSTS = 16;

function labHostsProblem(hosts: unknown): string | undefined {
  if (hosts === undefined) return undefined;
  if (!Array.isArray(hosts) || hosts.length > MAX_LAB_HOSTS) return `hosts must be an array of at most ${MAX_LAB_HOSTS} entries`;
  for (const host of hosts as unknown[]) {
    const entry = host as { name?: unknown; address?: unknown } | null;
    if (typeof entry !== 'object' || entry === null) return 'hosts entries must be objects';
    if (typeof entry.name !== 'string' || !/^[a-z0-9][a-z0-9-]{0,15}$/.test(entry.name)) return 'hosts[].name must be a machine name';
    if (typeof entry.address !== 'string' || !/^(\d{1,3}\.){3}\d{1,3}$/.test(entry.address)) return 'hosts[].address must be an IPv4 address';
  }
  return undefined;
}

export const AGENT_CONFIG_ENV = 'SANDBOX_AGENT_CONFIG';

export function parseAgentConfig(text: string | undefined): AgentConfig {
  if (!text) throw new ProtocolError(`${AGENT_CONFIG_ENV} is not set: the agent is started by the sandbox driver, not by hand`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError(`${AGENT_CONFIG_ENV} is not JSON`);
  }
  const problem = ifObject(value, (o) =>
    typeof o.transport !== 'string' || !(o.transport === 'stdio' || o.transport.startsWith('unix:') || o.transport.startsWith('listen:'))
      ? 'transport must be "stdio", "unix:/path" or "listen:/path"'
      : typeof o.hostname !== 'string' || !/^[A-Za-z0-9.-]{1,63}$/.test(o.hostname)
        ? 'hostname must be a valid host name'
        : typeof o.docker !== 'boolean'
          ? 'docker must be a boolean'
          : typeof o.user !== 'string' || !/^[a-z_][a-z0-9_-]*$/.test(o.user)
            ? 'user must be a user name'
            : !isIntegerIn(o.terminalPidsMax, 8, 1 << 22)
              ? 'terminalPidsMax must be an integer ≥ 8'
              : typeof o.writeIdentity !== 'boolean'
                ? 'writeIdentity must be a boolean'
                : (labHostsProblem(o.hosts) ??
                  (o.registryNamespace !== undefined && (typeof o.registryNamespace !== 'string' || !/^lecteur-[0-9a-f]{10}$/.test(o.registryNamespace))
                    ? 'registryNamespace must be lecteur- and 10 hex digits'
                    : undefined)),
  );
  if (problem) throw new ProtocolError(`${AGENT_CONFIG_ENV}: ${problem}`);
  return value as AgentConfig;
}
