// One named terminal of a sandbox: the shell's pty stream, the output it keeps
// for replay, and at most one client (peer) attached to it. The session
// outlives its clients: detaching leaves the shell running, attaching again
// replays recent output and carries on; a new attach takes over from the old.
import type { Disposable, TerminalStream } from '../drivers/driver.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import {
  CloseCode,
  FLOW_HIGH_WATERMARK,
  FLOW_LOW_WATERMARK,
  MAX_SERVER_FRAME_BYTES,
  OUTPUT_COALESCE_MS,
  REPLAY_BUFFER_BYTES,
  type ErrorInfo,
  type ServerMessage,
  type TerminalStatus,
} from '../../../contracts/protocol.ts';
import type { TerminalSize } from '../../../contracts/sizes.ts';
import { FlowControl } from './flow-control.ts';
import { OutputCoalescer } from './output-coalescer.ts';
import { ReplayBuffer } from '../../../contracts/replay-buffer.ts';

/** The client end of an attached terminal (a WebSocket in practice). */
export interface TerminalPeer {
  /** Short id for logs. */
  readonly id: string;
  sendOutput(frame: Buffer): void;
  sendControl(message: ServerMessage): void;
  /** Send `error` as an error frame if given, then close with `code`. */
  close(code: CloseCode, reason: string, error?: ErrorInfo): void;
  /** Bytes queued in the connection, not yet handed to the kernel. */
  bufferedBytes(): number;
  /** Stop reading the client (its input has nowhere to go for now), and read it again. */
  pauseInput?(): void;
  resumeInput?(): void;
}

/**
 * Second guard besides acknowledgements: a client that acknowledges output
 * it never reads would let the socket's send queue grow; pause while it is
 * this full, and look again every SOCKET_POLL_MS.
 */
const SOCKET_BUFFER_LIMIT = 2 * FLOW_HIGH_WATERMARK;
const SOCKET_POLL_MS = 50;
/**
 * The server's own ceiling on output queued for one client, whatever the
 * sandbox does: an honest one stops within ≈ 0.5 MiB of a pause, so output
 * past this comes from a sandbox that ignores Pause and is dropped (the
 * driver ends such a sandbox soon after).
 */
export const OUTPUT_QUEUE_CEILING = 4 * 1024 * 1024;

export interface TerminalSessionOptions {
  sandboxId: string;
  name: string;
  size: TerminalSize;
  stream: TerminalStream;
  /** A shell started before any reader asked (warm pool): what it printed so far, replayed to the first page. */
  startedAhead?: Buffer | undefined;
  log: Logger;
  metrics: Metrics;
  /** A client attached or detached. */
  onAttachmentChange(): void;
  /** The shell exited; the session is finished. */
  onExit(session: TerminalSession): void;
}

export class TerminalSession {
  readonly name: string;
  readonly createdAt = new Date();
  private size: TerminalSize;
  private readonly options: TerminalSessionOptions;
  private readonly stream: TerminalStream;
  private readonly log: Logger;
  private readonly replay = new ReplayBuffer(REPLAY_BUFFER_BYTES);
  private readonly flow: FlowControl;
  private readonly coalescer: OutputCoalescer;
  private readonly subscriptions: Disposable[];
  private peer: TerminalPeer | undefined;
  private socketCongested = false;
  private socketPoll: NodeJS.Timeout | undefined;
  private streamPaused = false;
  private finished = false;
  /** The client's socket is paused because the sandbox does not take input (see TerminalStream.writable). */
  private inputWait: Disposable | undefined;
  private droppedOutputBytes = 0;
  private shownOnce = false;

  constructor(options: TerminalSessionOptions) {
    this.options = options;
    this.name = options.name;
    this.size = options.size;
    this.stream = options.stream;
    this.log = options.log;
    this.flow = new FlowControl(FLOW_HIGH_WATERMARK, FLOW_LOW_WATERMARK, {
      pause: () => this.updatePause(),
      resume: () => this.updatePause(),
    });
    this.coalescer = new OutputCoalescer({
      delayMs: OUTPUT_COALESCE_MS,
      maxFrameBytes: MAX_SERVER_FRAME_BYTES,
      flush: (frame) => this.send(frame),
    });
    if (options.startedAhead) this.replay.append(options.startedAhead);
    this.subscriptions = [this.stream.onData((chunk) => this.onOutput(chunk)), this.stream.onExit((exit) => this.onShellExit(exit))];
  }

  /** Started ahead (warm pool) and not attached yet: its first reader gets it as a new shell. */
  get neverShown(): boolean {
    return this.options.startedAhead !== undefined && !this.shownOnce;
  }

  get attached(): boolean {
    return this.peer !== undefined;
  }

  get paused(): boolean {
    return this.streamPaused;
  }

  get unackedBytes(): number {
    return this.peer ? this.flow.unacked : 0;
  }

  /** Output held in this process on its way to the client. */
  get bufferedBytes(): number {
    return this.coalescer.pendingBytes + (this.peer?.bufferedBytes() ?? 0);
  }

  /** The output kept for replay (a read-only viewer starts from it). */
  recentOutput(): Buffer {
    return asBuffer(this.replay.snapshot());
  }

  status(): TerminalStatus {
    return {
      name: this.name,
      attached: this.attached,
      cols: this.size.cols,
      rows: this.size.rows,
      createdAt: this.createdAt.toISOString(),
      paused: this.streamPaused,
    };
  }

  /** Attach `peer`, taking over from any client already attached; replays recent output. */
  attach(peer: TerminalPeer, size: TerminalSize, resumed: boolean): void {
    if (this.finished) {
      peer.close(CloseCode.gone, 'terminal finished', {
        code: 'gone',
        message: "This terminal's shell has exited.",
        hint: 'Attach again to start a new shell.',
      });
      return;
    }
    const previous = this.peer;
    if (previous) {
      this.coalescer.flush();
      this.peer = undefined;
      this.log.info({ client: previous.id, by: peer.id }, 'terminal taken over');
      previous.close(CloseCode.takenOver, 'attached elsewhere', {
        code: 'taken-over',
        message: 'This terminal was opened in another window or tab.',
        hint: 'Only one window shows a terminal at a time; reconnect here to take it back.',
      });
    }
    this.coalescer.discard();
    this.flow.reset();
    this.stopSocketPoll();
    this.socketCongested = false;
    this.inputWait?.dispose();
    this.inputWait = undefined;
    // A resumed shell, or one started ahead at the pool's size, takes this page's size (the same size is a no-op).
    this.resize(size);

    const replay = asBuffer(this.replay.snapshot());
    this.peer = peer;
    this.shownOnce = true;
    peer.sendControl({
      type: 'ready',
      sandbox: this.options.sandboxId,
      terminal: this.name,
      cols: this.size.cols,
      rows: this.size.rows,
      resumed,
      replayBytes: replay.length,
    });
    for (let offset = 0; offset < replay.length; offset += MAX_SERVER_FRAME_BYTES) {
      this.send(replay.subarray(offset, offset + MAX_SERVER_FRAME_BYTES));
    }
    this.updatePause();
    this.log.info({ client: peer.id, cols: this.size.cols, rows: this.size.rows, resumed, replayBytes: replay.length }, 'terminal attached');
    this.options.onAttachmentChange();
  }

  /** `peer` went away; the shell keeps running. */
  detach(peer: TerminalPeer): void {
    if (this.peer !== peer) return;
    this.inputWait?.dispose();
    this.inputWait = undefined;
    this.peer = undefined;
    this.coalescer.discard();
    this.flow.reset();
    this.stopSocketPoll();
    this.socketCongested = false;
    this.updatePause();
    this.log.info({ client: peer.id }, 'terminal detached');
    this.options.onAttachmentChange();
  }

  input(peer: TerminalPeer, data: Buffer): void {
    if (this.peer !== peer || this.finished) return;
    this.options.metrics.terminalBytesIn.inc(data.length);
    this.stream.write(data);
    this.coalescer.expectEcho();
    if (this.stream.writable === false && !this.inputWait) {
      // Backpressure toward the reader: stop reading its socket until the sandbox reads again.
      peer.pauseInput?.();
      this.log.debug('input paused: the sandbox is not reading');
      this.inputWait = this.stream.onWritable?.(() => this.stopInputWait()) ?? { dispose() {} };
    }
  }

  private stopInputWait(): void {
    if (!this.inputWait) return;
    this.inputWait.dispose();
    this.inputWait = undefined;
    this.peer?.resumeInput?.();
  }

  resize(size: TerminalSize, peer?: TerminalPeer): void {
    if ((peer && this.peer !== peer) || this.finished) return;
    if (size.cols === this.size.cols && size.rows === this.size.rows) return;
    this.size = size;
    this.stream.resize(size);
  }

  ack(peer: TerminalPeer, bytes: number): void {
    if (this.peer !== peer) return;
    this.flow.acked(bytes);
  }

  /** The sandbox is going away: close the client with `code`, stop listening to the stream. */
  end(code: CloseCode, reason: string, error?: ErrorInfo): void {
    const peer = this.peer;
    this.finish();
    peer?.close(code, reason, error);
  }

  private onOutput(chunk: Buffer): void {
    if (this.finished) return;
    this.replay.append(chunk);
    if (this.peer) this.coalescer.push(chunk);
  }

  private onShellExit(exit: { code: number | null; signal: number | null }): void {
    if (this.finished) return;
    this.coalescer.flush();
    const peer = this.peer;
    this.finish();
    this.log.info({ exitCode: exit.code, signal: exit.signal }, 'shell exited');
    if (peer) {
      peer.sendControl({ type: 'exit', code: exit.code, signal: exit.signal });
      peer.close(CloseCode.normal, 'shell exited');
    }
    this.options.onExit(this);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const subscription of this.subscriptions) subscription.dispose();
    this.coalescer.discard();
    this.stopSocketPoll();
    this.inputWait?.dispose();
    this.inputWait = undefined;
    const hadPeer = this.peer !== undefined;
    this.peer = undefined;
    if (hadPeer) this.options.onAttachmentChange();
  }

  private send(frame: Buffer): void {
    const peer = this.peer;
    if (!peer) return;
    if (peer.bufferedBytes() + frame.length > OUTPUT_QUEUE_CEILING) {
      if (this.droppedOutputBytes === 0) this.log.warn({ client: peer.id, queued: peer.bufferedBytes() }, 'output dropped: the sandbox ignores flow control');
      this.droppedOutputBytes += frame.length;
      return;
    }
    peer.sendOutput(frame);
    this.options.metrics.terminalBytesOut.inc(frame.length);
    this.flow.sent(frame.length);
    if (!this.socketCongested && peer.bufferedBytes() > SOCKET_BUFFER_LIMIT) {
      this.socketCongested = true;
      this.updatePause();
      this.socketPoll = setInterval(() => {
        if ((this.peer?.bufferedBytes() ?? 0) < FLOW_LOW_WATERMARK) {
          this.stopSocketPoll();
          this.socketCongested = false;
          this.updatePause();
        }
      }, SOCKET_POLL_MS);
    }
  }

  private stopSocketPoll(): void {
    if (this.socketPoll) clearInterval(this.socketPoll);
    this.socketPoll = undefined;
  }

  /** Pause the pty while the attached client is behind; never while nobody is attached (output then only feeds the replay buffer). */
  private updatePause(): void {
    const shouldPause = !this.finished && this.peer !== undefined && (this.flow.paused || this.socketCongested);
    if (shouldPause === this.streamPaused) return;
    this.streamPaused = shouldPause;
    if (shouldPause) this.stream.pause();
    else this.stream.resume();
    this.log.debug({ paused: shouldPause, unacked: this.flow.unacked }, shouldPause ? 'output paused' : 'output resumed');
  }
}

/** The same bytes as a Buffer, without a copy. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
