// One terminal of the reader's sandbox, over a WebSocket (protocol.ts):
// binary frames carry terminal bytes both ways, text frames carry JSON
// control messages. The session acknowledges output once it is on screen
// (ack-counter.ts), reconnects with backoff when the connection drops, and
// reattaches to the same shell, whose recent output the server replays.
//
// No DOM here: the page gives it a sink for output (xterm) and a WebSocket
// constructor, so it runs the same in a browser and in Node.
import type { FrenchWords } from '../../contracts/messages.fr.ts';
import type { ErrorCode, ErrorInfo, ExitMessage, ReadyMessage } from '../../contracts/protocol.ts';
import { MAX_CLIENT_FRAME_BYTES } from '../../contracts/wire.ts';
import { readServerMessage } from '../../contracts/wire-readers.ts';
import { isTerminalSize, type TerminalSize } from '../../contracts/sizes.ts';
import { AckCounter } from './ack-counter.ts';
import { Backoff } from './backoff.ts';
import { closeOutcome } from './close-outcome.ts';

export type SessionState =
  | 'idle'
  | 'connecting'
  | 'connected'
  | 'reconnecting'
  /** The shell exited; connect() again starts a new one. */
  | 'exited'
  | 'machine-gone'
  | 'taken-over'
  | 'failed'
  /** close() was called. */
  | 'closed';

export interface StateDetail {
  /** When reconnecting: the delay before the next attempt. */
  retryInMs?: number;
  /** When reconnecting: how many attempts were made since the connection was lost. */
  attempt?: number;
  /** The server's last error frame, when it explains the state. */
  error?: ErrorInfo;
}

export interface TerminalSessionEvents {
  state?(state: SessionState, detail: StateDetail): void;
  /** The server attached us; `replayBytes` of earlier output follow. */
  ready?(message: ReadyMessage): void;
  /**
   * Terminal output. Call `written` once it is on screen (xterm's write
   * callback): only then is it acknowledged. `replay` marks the output the
   * server replays after `ready`.
   */
  output(bytes: Uint8Array, replay: boolean, written: () => void): void;
  exit?(message: ExitMessage): void;
  /** An error frame from the server (some are followed by a close, some not). */
  error?(error: ErrorInfo): void;
}

/** The part of the browser's WebSocket we use (Node 22+ has the same global). */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
}
export type SocketFactory = (url: string) => SocketLike;

export interface TerminalSessionOptions {
  /** The WebSocket URL, built for each attempt (the size and credentials may have changed). */
  url(size: TerminalSize): string;
  /** Size to open the terminal at; resize() updates it. */
  size: TerminalSize;
  events: TerminalSessionEvents;
  socket?: SocketFactory;
  backoff?: Backoff;
  timers?: { set(callback: () => void, ms: number): unknown; clear(handle: unknown): void };
}

const OPEN = 1;
const encoder = new TextEncoder();

type Translate = (info: ErrorInfo) => FrenchWords;
/**
 * The French catalogue, loaded with the first error frame (a first prompt
 * needs none of it); shared by every terminal of the page. Its own chunk
 * could not come: the server's words are shown then, with the code.
 */
let catalogue: Promise<Translate> | undefined;
function loadCatalogue(): Promise<Translate> {
  catalogue ??= import('../../contracts/messages.fr.ts').then(
    ({ inFrench }) => inFrench,
    () => (info) => ({ message: `${info.message} (${info.code})`, hint: info.hint ?? '' }),
  );
  return catalogue;
}

export class TerminalSession {
  private readonly options: TerminalSessionOptions;
  private readonly events: TerminalSessionEvents;
  private readonly backoff: Backoff;
  private readonly acks: AckCounter;
  private readonly openSocket: SocketFactory;
  private readonly timers: NonNullable<TerminalSessionOptions['timers']>;
  private socket: SocketLike | undefined;
  private currentState: SessionState = 'idle';
  private size: TerminalSize;
  private retryTimer: unknown;
  private replayLeft = 0;
  private exitReceived = false;
  private lastError: ErrorInfo | undefined;
  /** Set once the catalogue is here; until then, the socket's events wait in `held` (in order) for it. */
  private translate: Translate | undefined;
  private held: (() => void)[] | undefined;

  constructor(options: TerminalSessionOptions) {
    this.options = options;
    this.events = options.events;
    this.size = options.size;
    this.backoff = options.backoff ?? new Backoff();
    this.openSocket = options.socket ?? ((url) => new WebSocket(url) as unknown as SocketLike);
    this.timers = options.timers ?? {
      set: (callback, ms) => setTimeout(callback, ms),
      clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    };
    this.acks = new AckCounter((bytes) => this.sendControl({ type: 'ack', bytes }));
  }

  get state(): SessionState {
    return this.currentState;
  }

  get connected(): boolean {
    return this.currentState === 'connected';
  }

  /** Output bytes handed to the sink and not yet on screen. */
  get bytesInFlight(): number {
    return this.acks.inFlight;
  }

  /** Opens (or reopens) the connection now, cancelling any pending retry. */
  connect(): void {
    this.cancelRetry();
    this.dropSocket();
    this.exitReceived = false;
    this.lastError = undefined;
    this.replayLeft = 0;
    this.acks.reset();
    this.setState(this.backoff.attempts > 0 ? 'reconnecting' : 'connecting', { attempt: this.backoff.attempts });
    const socket = this.openSocket(this.options.url(this.size));
    socket.binaryType = 'arraybuffer';
    socket.onmessage = (event) => this.inOrder(socket, () => this.onMessage(event.data));
    socket.onclose = (event) => this.inOrder(socket, () => this.onClose(socket, event.code));
    socket.onerror = () => {
      // Always followed by a close event, which decides what to do.
    };
    this.socket = socket;
  }

  /** Sends input as typed on a keyboard; false when not connected (the input is dropped). */
  input(data: string | Uint8Array): boolean {
    const socket = this.socket;
    if (socket === undefined || socket.readyState !== OPEN || this.currentState !== 'connected') return false;
    const bytes = typeof data === 'string' ? encoder.encode(data) : data;
    // A long paste is sent in several frames: the server refuses frames above its limit.
    for (let offset = 0; offset < bytes.length; offset += MAX_CLIENT_FRAME_BYTES) {
      socket.send(bytes.subarray(offset, offset + MAX_CLIENT_FRAME_BYTES));
    }
    return true;
  }

  /** The terminal's size changed on screen; invalid sizes (0×0 while hidden) are ignored. */
  resize(cols: number, rows: number): boolean {
    const size = { cols, rows };
    // The same rule as the server's and the agent's: what passes here passes every hop.
    if (!isTerminalSize(size)) return false;
    if (size.cols === this.size.cols && size.rows === this.size.rows) return true;
    this.size = size;
    if (this.currentState === 'connected') this.sendControl({ type: 'resize', ...size });
    return true;
  }

  /** Closes for good (no reconnection); the shell keeps running on the server. */
  close(): void {
    this.cancelRetry();
    this.dropSocket();
    this.setState('closed', {});
  }

  /** Runs the socket's event now, or after those held while the catalogue loads; none of a socket dropped meanwhile. */
  private inOrder(socket: SocketLike, handle: () => void): void {
    const run = () => {
      if (socket === this.socket) handle();
    };
    if (this.held !== undefined) this.held.push(run);
    else run();
  }

  private onMessage(data: unknown): void {
    if (typeof data === 'string') {
      this.onControl(data);
      return;
    }
    const bytes =
      data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined;
    if (bytes === undefined || bytes.length === 0) return;
    // A frame that straddles the end of the replay (it should not, but nothing forbids it) is split.
    const replayed = Math.min(this.replayLeft, bytes.length);
    if (replayed > 0) {
      this.replayLeft -= replayed;
      this.deliver(bytes.subarray(0, replayed), true);
    }
    if (replayed < bytes.length) this.deliver(bytes.subarray(replayed), false);
  }

  private deliver(bytes: Uint8Array, replay: boolean): void {
    const epoch = this.acks.epoch;
    this.acks.handed(bytes.length);
    let done = false;
    this.events.output(bytes, replay, () => {
      if (done) return;
      done = true;
      this.acks.wrote(bytes.length, epoch);
    });
  }

  private onControl(text: string): void {
    const parsed = readServerMessage(text);
    if (!parsed.ok) {
      this.events.error?.(parsed.error);
      return;
    }
    const message = parsed.value;
    switch (message.type) {
      case 'ready':
        this.backoff.reset();
        this.replayLeft = message.replayBytes;
        this.setState('connected', {});
        this.events.ready?.(message);
        // The server may have kept an older size (reattach): tell it ours.
        if (message.cols !== this.size.cols || message.rows !== this.size.rows) {
          this.sendControl({ type: 'resize', ...this.size });
        }
        break;
      case 'exit':
        this.exitReceived = true;
        this.events.exit?.(message);
        break;
      case 'error': {
        // The reader's words, from the catalogue by code (the server's own text is English, for developers).
        const report = (translate: Translate) => {
          this.lastError = { code: message.code, ...translate(message) };
          this.events.error?.(this.lastError);
        };
        if (this.translate !== undefined) {
          report(this.translate);
          break;
        }
        // What the socket says next (its close, most often) waits for these words.
        const held: (() => void)[] = [];
        const socket = this.socket;
        this.held = held;
        void loadCatalogue().then((translate) => {
          this.translate = translate;
          if (this.held !== held) return; // That socket was dropped meanwhile: its events are over.
          this.held = undefined;
          if (socket === this.socket) report(translate);
          for (const run of held) run();
        });
        break;
      }
    }
  }

  private onClose(socket: SocketLike, code: number): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    const outcome = closeOutcome(code, this.exitReceived, this.lastError?.code as ErrorCode | undefined);
    const error = this.lastError;
    const detail: StateDetail = error === undefined ? {} : { error };
    switch (outcome) {
      case 'retry': {
        const retryInMs = this.backoff.next();
        this.setState('reconnecting', { ...detail, retryInMs, attempt: this.backoff.attempts });
        this.retryTimer = this.timers.set(() => {
          this.retryTimer = undefined;
          this.connect();
        }, retryInMs);
        break;
      }
      case 'exited':
        this.setState('exited', detail);
        break;
      case 'machine-gone':
        this.setState('machine-gone', detail);
        break;
      case 'taken-over':
        this.setState('taken-over', detail);
        break;
      case 'fatal':
        this.setState('failed', detail);
        break;
    }
  }

  private sendControl(message: { type: 'ack'; bytes: number } | ({ type: 'resize' } & TerminalSize)): void {
    const socket = this.socket;
    if (socket !== undefined && socket.readyState === OPEN) socket.send(JSON.stringify(message));
  }

  private setState(state: SessionState, detail: StateDetail): void {
    this.currentState = state;
    this.events.state?.(state, detail);
  }

  private cancelRetry(): void {
    if (this.retryTimer !== undefined) this.timers.clear(this.retryTimer);
    this.retryTimer = undefined;
  }

  private dropSocket(): void {
    this.held = undefined;
    const socket = this.socket;
    if (socket === undefined) return;
    this.socket = undefined;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
    if (socket.readyState <= OPEN) socket.close(1000, 'closed by the page');
  }
}
