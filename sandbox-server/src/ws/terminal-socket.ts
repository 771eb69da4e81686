// One WebSocket attached to one terminal session: binary frames are terminal
// bytes both ways, text frames are JSON control messages (protocol.ts). Bad
// frames get an error frame and are ignored; the connection carries on. A
// failure while handling a frame (a bug, not bad input) closes this one
// connection with 1011 and is logged with its ids; the shell keeps running
// and the page reconnects to it.
import { randomBytes } from 'node:crypto';
import type { RawData, WebSocket } from 'ws';
import { closeReason } from './close-reason.ts';
import { contained, reportFailure } from '../contain.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { TerminalPeer, TerminalSession } from '../manager/terminal-session.ts';
import { CloseCode, MAX_CLIENT_FRAME_BYTES, parseClientMessage, type ErrorInfo, type ServerMessage } from '../../../contracts/protocol.ts';

const EARLY_FRAMES_KEPT = 64;

export class TerminalSocket implements TerminalPeer {
  readonly id = randomBytes(4).toString('hex');
  readonly log: Logger;
  private readonly ws: WebSocket;
  private readonly metrics: Metrics;
  private session: TerminalSession | undefined;
  /** Frames that arrived while the terminal was being opened (a client may type before `ready`). */
  private early: { data: Buffer; isBinary: boolean }[] | undefined = [];

  constructor(ws: WebSocket, log: Logger, metrics: Metrics) {
    this.ws = ws;
    this.log = log.child({ connection: this.id });
    this.metrics = metrics;
    const guard = <A extends unknown[]>(listener: (...args: A) => void) =>
      contained(this.log, metrics.failuresContained, 'terminal-socket', {}, listener, () => this.fail());
    ws.on(
      'message',
      guard((data: RawData, isBinary: boolean) => {
        const frame = { data: toBuffer(data), isBinary };
        if (this.session) this.onFrame(this.session, frame.data, frame.isBinary);
        else if (this.early && this.early.length < EARLY_FRAMES_KEPT) this.early.push(frame);
      }),
    );
    ws.on(
      'close',
      guard((code: number) => {
        this.log.debug({ code }, 'connection closed');
        this.session?.detach(this);
      }),
    );
  }

  /** Something failed while serving this connection: tell the page, end the connection, keep the shell. */
  private fail(): void {
    const session = this.session;
    this.session = undefined;
    this.early = undefined;
    try {
      session?.detach(this);
    } finally {
      this.close(CloseCode.internalError, 'server error', {
        code: 'internal',
        message: 'The server failed while serving this terminal.',
        hint: 'The page reconnects by itself to the same shell; the server log has the details.',
      });
    }
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  sendOutput(frame: Buffer): void {
    if (this.open) this.ws.send(frame, { binary: true });
  }

  sendControl(message: ServerMessage): void {
    if (this.open) this.ws.send(JSON.stringify(message));
  }

  sendError(error: ErrorInfo): void {
    this.sendControl({ type: 'error', ...error });
  }

  close(code: CloseCode, reason: string, error?: ErrorInfo): void {
    if (!this.open) return;
    if (error) this.sendError(error);
    // A client whose input was paused must be read again, or its answer to the close would never be seen.
    if (this.ws.isPaused) this.ws.resume();
    this.ws.close(code, closeReason(reason));
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  pauseInput(): void {
    if (this.open) this.ws.pause();
  }

  resumeInput(): void {
    if (this.open) this.ws.resume();
  }

  /** Route this socket's frames to `session` (once it has attached us) until it closes. */
  bind(session: TerminalSession): void {
    this.session = session;
    const early = this.early ?? [];
    this.early = undefined;
    try {
      for (const frame of early) this.onFrame(session, frame.data, frame.isBinary);
    } catch (error) {
      reportFailure(this.log, this.metrics.failuresContained, 'terminal-socket', error);
      this.fail();
      return;
    }
    if (!this.open) session.detach(this);
  }

  private onFrame(session: TerminalSession, data: Buffer, isBinary: boolean): void {
    if (data.length > MAX_CLIENT_FRAME_BYTES) {
      this.metrics.rejected.inc({ reason: 'bad-frame' });
      this.sendError({
        code: 'frame-too-large',
        message: `A ${data.length}-byte frame was refused: the limit is ${MAX_CLIENT_FRAME_BYTES} bytes.`,
        hint: 'Send large input in several frames (e.g. one per 16 KiB).',
      });
      return;
    }
    if (isBinary) {
      session.input(this, data);
      return;
    }
    const parsed = parseClientMessage(data.toString('utf8'));
    if (!parsed.ok) {
      this.metrics.rejected.inc({ reason: 'bad-frame' });
      this.log.debug({ code: parsed.error.code }, 'bad control message');
      this.sendError(parsed.error);
      return;
    }
    const message = parsed.value;
    if (message.type === 'resize') session.resize({ cols: message.cols, rows: message.rows }, this);
    else session.ack(this, message.bytes);
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
