// The last N bytes a terminal printed, so a reader who reloads the page sees
// where they were. A fixed ring: memory stays at `capacity` whatever the shell
// prints, and appending never allocates. Kept on both sides of the agent
// protocol: by the server for each attached page, and by the agent inside the
// machine, which outlives the server (a restarted server gets it back).
export class ReplayBuffer {
  readonly capacity: number;
  private readonly ring: Uint8Array;
  /** Where the next byte goes. */
  private head = 0;
  private length = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new RangeError(`ReplayBuffer capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.ring = new Uint8Array(capacity);
  }

  get size(): number {
    return this.length;
  }

  append(chunk: Uint8Array): void {
    // Only the tail of an oversized chunk can survive.
    const data = chunk.length > this.capacity ? chunk.subarray(chunk.length - this.capacity) : chunk;
    const firstPart = Math.min(data.length, this.capacity - this.head);
    this.ring.set(data.subarray(0, firstPart), this.head);
    this.ring.set(data.subarray(firstPart), 0);
    this.head = (this.head + data.length) % this.capacity;
    this.length = Math.min(this.capacity, this.length + data.length);
  }

  /** A copy of the kept bytes, oldest first (plain bytes: this module runs anywhere; Node callers wrap it in a Buffer). */
  snapshot(): Uint8Array {
    const start = (this.head - this.length + this.capacity) % this.capacity;
    if (start + this.length <= this.capacity) return this.ring.slice(start, start + this.length);
    const copy = new Uint8Array(this.length);
    copy.set(this.ring.subarray(start), 0);
    copy.set(this.ring.subarray(0, this.head), this.capacity - start);
    return copy;
  }

  clear(): void {
    this.head = 0;
    this.length = 0;
  }
}
