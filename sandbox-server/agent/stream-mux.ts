// Many TCP-like byte streams over one byte stream: how a VM reaches the class
// image store without a network. The guest's agent accepts dockerd's
// connections to 127.0.0.1:5000 and opens a stream for each over a
// virtio-serial port; the host (src/drivers/vm/registry-channel.ts) connects
// each stream to the store's read-only gate. Nothing but these streams goes
// over the port, and the host decides where they lead.
//
// Frame: kind (1 byte) · stream id (4 bytes, big-endian) · length (4 bytes) · payload.
//   open  a new stream (sent by the side that accepted a connection)
//   data  bytes of a stream, at most MAX_PAYLOAD per frame
//   end   the sender will send no more on this stream (TCP's FIN)
//   ack   the receiver has handed `length` bytes of the stream on (payload empty)
// Each side keeps at most WINDOW bytes of a stream unacknowledged, then
// pauses that stream's socket: a slow reader on one side holds data back in
// its sender's socket, not in memory (a layer is tens of MB, a VM's RAM 256 MiB).
import type net from 'node:net';
import type { Readable, Writable } from 'node:stream';

const KIND = { open: 1, data: 2, end: 3, ack: 4 } as const;
const HEADER_BYTES = 9;
export const MAX_PAYLOAD = 64 * 1024;
export const WINDOW = 256 * 1024;
/** A frame longer than this is not ours: the channel is closed rather than buffered without end. */
const MAX_FRAME = MAX_PAYLOAD + HEADER_BYTES;

interface Carried {
  socket: net.Socket;
  unacked: number;
  sentEnd: boolean;
}

export interface StreamMuxOptions {
  /** The peer opened stream `id`: connect it somewhere with carry(socket, id), or refuse with refuse(id). Unset: every open is refused. */
  onOpen?: (id: number) => void;
  /** The channel broke (bad frame, closed input): every stream is gone. */
  onClose?: (reason: string) => void;
}

export class StreamMux {
  readonly #output: Writable;
  readonly #options: StreamMuxOptions;
  readonly #streams = new Map<number, Carried>();
  #nextId = 1;
  #pending: Buffer = Buffer.alloc(0);
  #closed = false;

  constructor(input: Readable, output: Writable, options: StreamMuxOptions = {}) {
    this.#output = output;
    this.#options = options;
    input.on('data', (chunk: Buffer) => this.#receive(chunk));
    input.once('end', () => this.close('channel ended'));
    input.once('error', (error) => this.close(`channel failed: ${error.message}`));
    output.once('error', (error) => this.close(`channel failed: ${error.message}`));
  }

  /** Streams open now (tests and logs). */
  get size(): number {
    return this.#streams.size;
  }

  /**
   * Carries `socket` over the channel: a new stream announced to the peer,
   * or (with `id`) the peer's stream `id` that onOpen was told about.
   */
  carry(socket: net.Socket, id?: number): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const streamId = id ?? this.#allocate();
    const carried: Carried = { socket, unacked: 0, sentEnd: false };
    this.#streams.set(streamId, carried);
    if (id === undefined) this.#send(KIND.open, streamId);
    socket.on('data', (chunk: Buffer) => {
      for (let at = 0; at < chunk.length; at += MAX_PAYLOAD) this.#send(KIND.data, streamId, chunk.subarray(at, at + MAX_PAYLOAD));
      carried.unacked += chunk.length;
      if (carried.unacked > WINDOW) socket.pause();
    });
    const sendEnd = () => {
      if (carried.sentEnd) return;
      carried.sentEnd = true;
      this.#send(KIND.end, streamId);
    };
    socket.once('end', sendEnd);
    socket.once('error', () => socket.destroy());
    socket.once('close', () => {
      sendEnd();
      this.#streams.delete(streamId);
    });
  }

  /** Refuses the peer's stream `id` (nothing to connect it to). */
  refuse(id: number): void {
    this.#send(KIND.end, id);
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { socket } of this.#streams.values()) socket.destroy();
    this.#streams.clear();
    this.#options.onClose?.(reason);
  }

  #allocate(): number {
    do this.#nextId = this.#nextId >= 0xffffffff ? 1 : this.#nextId + 1;
    while (this.#streams.has(this.#nextId));
    return this.#nextId;
  }

  #send(kind: number, id: number, payload: Buffer = Buffer.alloc(0), length = payload.length): void {
    if (this.#closed) return;
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt8(kind, 0);
    header.writeUInt32BE(id, 1);
    header.writeUInt32BE(length, 5);
    this.#output.write(payload.length > 0 ? Buffer.concat([header, payload]) : header);
  }

  #receive(chunk: Buffer): void {
    this.#pending = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    while (!this.#closed && this.#pending.length >= HEADER_BYTES) {
      const kind = this.#pending.readUInt8(0);
      const id = this.#pending.readUInt32BE(1);
      const length = this.#pending.readUInt32BE(5);
      const payloadBytes = kind === KIND.ack ? 0 : length;
      if (payloadBytes + HEADER_BYTES > MAX_FRAME || kind < KIND.open || kind > KIND.ack) {
        this.close(`bad frame on the channel (kind ${kind}, length ${length})`);
        return;
      }
      if (this.#pending.length < HEADER_BYTES + payloadBytes) return;
      const payload = this.#pending.subarray(HEADER_BYTES, HEADER_BYTES + payloadBytes);
      this.#pending = this.#pending.subarray(HEADER_BYTES + payloadBytes);
      this.#frame(kind, id, length, payload);
    }
  }

  #frame(kind: number, id: number, length: number, payload: Buffer): void {
    const carried = this.#streams.get(id);
    if (kind === KIND.open) {
      if (carried || !this.#options.onOpen) this.refuse(id);
      else this.#options.onOpen(id);
      return;
    }
    if (!carried) return; // closed here meanwhile: the peer hears our end
    if (kind === KIND.data) {
      // Copied: the socket may keep it queued while the receive buffer moves on.
      carried.socket.write(Buffer.from(payload), () => this.#send(KIND.ack, id, undefined, payload.length));
    } else if (kind === KIND.end) {
      carried.socket.end();
    } else if (kind === KIND.ack) {
      carried.unacked -= length;
      if (carried.unacked <= WINDOW && carried.socket.isPaused()) carried.socket.resume();
    }
  }
}
