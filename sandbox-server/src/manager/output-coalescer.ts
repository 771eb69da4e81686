// Gathers terminal output for a few milliseconds so a burst becomes a few
// large frames instead of thousands of tiny ones, except right after the
// reader typed: the echo of a keystroke goes out at once.
export interface CoalescerOptions {
  delayMs: number;
  /** Largest frame handed to `flush`; bigger batches are split. */
  maxFrameBytes: number;
  flush(frame: Buffer): void;
}

export class OutputCoalescer {
  private readonly options: CoalescerOptions;
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private timer: NodeJS.Timeout | undefined;
  private echoExpected = false;

  constructor(options: CoalescerOptions) {
    this.options = options;
  }

  get pendingBytes(): number {
    return this.pendingLength;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.pending.push(chunk);
    this.pendingLength += chunk.length;
    if (this.echoExpected || this.pendingLength >= this.options.maxFrameBytes) {
      this.echoExpected = false;
      this.flush();
    } else {
      this.timer ??= setTimeout(() => this.flush(), this.options.delayMs);
    }
  }

  /** The reader just sent input: send what is waiting now, and the next output (its echo) without delay. */
  expectEcho(): void {
    this.echoExpected = true;
    this.flush();
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pendingLength === 0) return;
    const batch = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingLength);
    this.pending = [];
    this.pendingLength = 0;
    const max = this.options.maxFrameBytes;
    for (let offset = 0; offset < batch.length; offset += max) {
      this.options.flush(batch.subarray(offset, offset + max));
    }
  }

  /** Drop what is waiting (it is already in the replay buffer) and stop the timer. */
  discard(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = [];
    this.pendingLength = 0;
    this.echoExpected = false;
  }
}
