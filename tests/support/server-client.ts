// Talks to a running sandbox server the way the lesson page does: REST with
// fetch, terminals over a real WebSocket (the `ws` client), binary frames for
// terminal bytes, JSON text frames for control, acknowledgements as xterm's
// write callback would send them.
import { WebSocket } from 'ws';
import { TerminalReader } from './terminal-reader.ts';
import {
  CreateSandboxResponse,
  TOKEN_COOKIE,
  TOKEN_QUERY_PARAM,
  apiPath,
  parseServerMessage,
  type ReadyMessage,
  type ServerMessage,
} from '../../contracts/protocol.ts';

export interface ServerAddress {
  /** Base URL of the server, ending in "/". */
  url: string;
}

export interface CreatedSandbox extends CreateSandboxResponse {
  /** "sandbox_token=…", as the browser would send it back. */
  cookie: string;
  /** The raw Set-Cookie header. */
  setCookie: string;
}

export interface RequestOptions {
  token?: string;
  cookie?: string;
  origin?: string;
  /** Pretend to come from this address (only honoured with CLIENT_IP_HEADER=x-forwarded-for). */
  forwardedFor?: string;
  /** A JSON body for POST api/sandboxes (createSandbox only). */
  body?: string;
}

function headersFor(options: RequestOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.cookie !== undefined) headers.cookie = options.cookie;
  if (options.origin !== undefined) headers.origin = options.origin;
  if (options.forwardedFor !== undefined) headers['x-forwarded-for'] = options.forwardedFor;
  return headers;
}

export function apiRequest(server: ServerAddress, method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  return fetch(new URL(path, server.url), { method, headers: headersFor(options) });
}

/** POST /api/sandboxes; throws with the server's message unless it answers 201. */
export async function createSandbox(server: ServerAddress, options: RequestOptions = {}): Promise<CreatedSandbox> {
  const response =
    options.body === undefined
      ? await apiRequest(server, 'POST', apiPath.sandboxes(), options)
      : await fetch(new URL(apiPath.sandboxes(), server.url), {
          method: 'POST',
          headers: { ...headersFor(options), 'content-type': 'application/json' },
          body: options.body,
        });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`POST ${apiPath.sandboxes()} answered ${response.status}: ${text}`);
  const body = CreateSandboxResponse.parse(JSON.parse(text));
  const setCookie = response.headers.get('set-cookie') ?? '';
  const value = new RegExp(`${TOKEN_COOKIE}=([^;]+)`).exec(setCookie)?.[1] ?? '';
  return { ...body, setCookie, cookie: `${TOKEN_COOKIE}=${value}` };
}

export async function deleteSandbox(server: ServerAddress, sandbox: { id: string; token: string }): Promise<Response> {
  return apiRequest(server, 'DELETE', apiPath.sandbox(sandbox.id), { token: sandbox.token });
}

export interface TerminalOptions extends RequestOptions {
  cols?: number;
  rows?: number;
  /** Extra query text, e.g. "cols=0&rows=24" to send a bad size. */
  query?: string;
  /** Acknowledge output as it arrives (default true), like xterm's write callback. */
  autoAck?: boolean;
  /**
   * With autoAck: acknowledge only once this many bytes are unacknowledged, as
   * the page does (FLOW_ACK_EVERY_BYTES, src/client/ack-counter.ts); default 0,
   * every chunk (tests that watch the server's accounting closely).
   */
  ackEveryBytes?: number;
  /** A lab's machine: …/machines/:machine/terminals/:name. */
  machine?: string;
}

export interface Closed {
  code: number;
  reason: string;
}

/** A terminal WebSocket. Output arrives on onData (a generic source for the terminal reader). */
export class TerminalClient {
  readonly ws: WebSocket;
  readonly messages: ServerMessage[] = [];
  readonly closed: Promise<Closed>;
  autoAck: boolean;
  /** Unacknowledged bytes that trigger an automatic ack (0: every chunk). */
  ackEveryBytes = 0;
  /** Keep every output chunk for text() and onDataFromStart (turn off for floods in benchmarks). */
  keepOutput = true;
  receivedBytes = 0;
  private unacked = 0;
  private readonly chunks: Buffer[] = [];
  private readonly dataListeners = new Set<(chunk: Buffer) => void>();
  private readonly messageListeners = new Set<(message: ServerMessage) => void>();

  private constructor(ws: WebSocket, autoAck: boolean) {
    this.ws = ws;
    this.autoAck = autoAck;
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data, isBinary) => {
      const buffer = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      if (isBinary) {
        this.receivedBytes += buffer.length;
        if (this.keepOutput) this.chunks.push(buffer);
        for (const listener of this.dataListeners) listener(buffer);
        this.unacked += buffer.length;
        if (this.autoAck && this.unacked >= this.ackEveryBytes) this.ack();
        return;
      }
      const parsed = parseServerMessage(buffer.toString());
      if (!parsed.ok) throw new Error(`Server sent a bad control frame: ${buffer.toString()}`);
      this.messages.push(parsed.value);
      for (const listener of this.messageListeners) listener(parsed.value);
    });
  }

  static terminalUrl(server: ServerAddress, id: string, name: string, options: TerminalOptions = {}): string {
    const path = options.machine === undefined ? apiPath.terminal(id, name) : apiPath.machineTerminal(id, options.machine, name);
    const url = new URL(path, server.url);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const query: string[] = [];
    if (options.cols !== undefined) query.push(`cols=${options.cols}`);
    if (options.rows !== undefined) query.push(`rows=${options.rows}`);
    if (options.query) query.push(options.query);
    if (options.token !== undefined && options.cookie === undefined) query.push(`${TOKEN_QUERY_PARAM}=${encodeURIComponent(options.token)}`);
    url.search = query.join('&');
    return url.toString();
  }

  /** Open the socket (resolves once open; refusals then arrive as an error message and a close code). */
  static async connect(server: ServerAddress, id: string, name: string, options: TerminalOptions = {}): Promise<TerminalClient> {
    const headers: Record<string, string> = {};
    if (options.cookie !== undefined) headers.cookie = options.cookie;
    if (options.forwardedFor !== undefined) headers['x-forwarded-for'] = options.forwardedFor;
    const ws = new WebSocket(TerminalClient.terminalUrl(server, id, name, options), { headers, origin: options.origin ?? new URL(server.url).origin });
    const client = new TerminalClient(ws, options.autoAck ?? true);
    client.ackEveryBytes = options.ackEveryBytes ?? 0;
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  /** Output from now on. */
  onData(listener: (chunk: Buffer) => void): { dispose(): void } {
    this.dataListeners.add(listener);
    return { dispose: () => this.dataListeners.delete(listener) };
  }

  /** Output received so far, then output from now on (frames may arrive in the same tick as `open`). */
  onDataFromStart(listener: (chunk: Buffer) => void): { dispose(): void } {
    for (const chunk of this.chunks) listener(chunk);
    return this.onData(listener);
  }

  /** Everything received so far as text. */
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  /** Resolves with the first control message (past or future) of `type`. */
  waitForMessage<T extends ServerMessage['type']>(type: T, timeoutMs = 30_000): Promise<Extract<ServerMessage, { type: T }>> {
    type Wanted = Extract<ServerMessage, { type: T }>;
    const past = this.messages.find((message) => message.type === type);
    if (past) return Promise.resolve(past as Wanted);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.messageListeners.delete(listener);
        reject(new Error(`No "${type}" message within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`));
      }, timeoutMs);
      const listener = (message: ServerMessage) => {
        if (message.type !== type) return;
        clearTimeout(timer);
        this.messageListeners.delete(listener);
        resolve(message as Wanted);
      };
      this.messageListeners.add(listener);
    });
  }

  /** Resolves once `bytes` of output in all have come (the replay that `ready` announced, say). */
  async waitForBytes(bytes: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.receivedBytes < bytes) {
      if (Date.now() > deadline) throw new Error(`only ${this.receivedBytes} of ${bytes} bytes came within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Terminal input (a binary frame). */
  type(input: string | Buffer): void {
    this.ws.send(typeof input === 'string' ? Buffer.from(input) : input, { binary: true });
  }

  /** A raw text frame (control message or garbage). */
  sendText(text: string): void {
    this.ws.send(text, { binary: false });
  }

  control(message: unknown): void {
    this.sendText(JSON.stringify(message));
  }

  /** Acknowledge everything received so far. */
  ack(): void {
    if (this.unacked === 0) return;
    this.control({ type: 'ack', bytes: this.unacked });
    this.unacked = 0;
  }

  get unackedBytes(): number {
    return this.unacked;
  }

  async close(): Promise<Closed> {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(1000);
    return this.closed;
  }
}

export interface AttachedTerminal {
  client: TerminalClient;
  /** Reads the terminal as a person would (OSC 133 marks); `reader.run(command)` types into the socket. */
  reader: TerminalReader;
  ready: ReadyMessage;
}

/** Attach terminal `name` of `sandbox` (120×40 unless told) and wait for `ready`. */
export async function attachTerminal(
  server: ServerAddress,
  sandbox: { id: string; token: string },
  name: string,
  options: TerminalOptions = {},
): Promise<AttachedTerminal> {
  const client = await TerminalClient.connect(server, sandbox.id, name, { token: sandbox.token, cols: 120, rows: 40, ...options });
  const reader = new TerminalReader({ onData: (listener) => client.onDataFromStart(listener) }, (text) => client.type(text));
  const ready = await client.waitForMessage('ready');
  return { client, reader, ready };
}
