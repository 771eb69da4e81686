// One terminal of the browser machine, seen through the same interface as a
// WebSocket to the sandbox server (terminal-session.ts's SocketLike), and
// speaking the same protocol (contracts/protocol.ts): a `ready` text frame,
// the replay of what the terminal showed before, then live output as binary
// frames; input as binary frames, `resize` and `ack` as text frames. So the
// terminal, its status line and the Exécuter queue are the server machines'
// own code, unchanged.
import { CloseCode } from '../../../contracts/errors.ts';
import type { ReadyMessage } from '../../../contracts/protocol.ts';
import type { TerminalSize } from '../../../contracts/sizes.ts';
import type { SocketLike } from '../terminal-session.ts';

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

/** What a port socket needs from the machine. */
export interface PortHost {
  /** Recent output of `port`, to replay on attach (what the server's replay buffer does). */
  screen(port: number): Uint8Array;
  input(port: number, bytes: Uint8Array): void;
  resize(port: number, size: TerminalSize): void;
  /** Registers the socket that receives `port`'s output; the previous one is taken over. */
  attach(port: number, socket: PortSocket): void;
  detach(port: number, socket: PortSocket): void;
}

export class PortSocket implements SocketLike {
  binaryType = 'arraybuffer';
  readyState = CONNECTING;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  private readonly host: PortHost;
  private readonly port: number;

  constructor(host: PortHost, machineId: string, terminal: string, port: number, size: TerminalSize) {
    this.host = host;
    this.port = port;
    // Like a WebSocket: events come after the constructor returns, once the caller has set its handlers.
    queueMicrotask(() => {
      if (this.readyState !== CONNECTING) return;
      this.readyState = OPEN;
      this.host.attach(port, this);
      this.host.resize(port, size);
      const replay = this.host.screen(port);
      const ready: ReadyMessage = { type: 'ready', sandbox: machineId, terminal, cols: size.cols, rows: size.rows, resumed: false, replayBytes: replay.length };
      this.onopen?.({});
      this.onmessage?.({ data: JSON.stringify(ready) });
      if (replay.length > 0) this.deliver(replay);
    });
  }

  /** Output of the machine for this terminal. */
  deliver(bytes: Uint8Array): void {
    if (this.readyState !== OPEN) return;
    this.onmessage?.({ data: bytes.slice().buffer });
  }

  send(data: string | ArrayBufferLike | ArrayBufferView): void {
    if (this.readyState !== OPEN) return;
    if (typeof data === 'string') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(data);
      } catch {
        return;
      }
      // Acks pace a network connection; a port in the same tab has nothing to pace. A resize passes on as before: two numbers.
      const message = typeof parsed === 'object' && parsed !== null ? (parsed as { type?: unknown; cols?: unknown; rows?: unknown }) : {};
      if (message.type === 'resize' && typeof message.cols === 'number' && typeof message.rows === 'number') {
        this.host.resize(this.port, { cols: message.cols, rows: message.rows });
      }
      return;
    }
    const bytes = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
    this.host.input(this.port, bytes.slice());
  }

  close(code: number = CloseCode.normal, reason = ''): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.host.detach(this.port, this);
    this.onclose?.({ code, reason });
  }
}
