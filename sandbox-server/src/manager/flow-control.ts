// Acknowledgement-based flow control for one terminal connection, after the
// xterm.js flow-control guide: count output bytes sent, subtract what the
// client says it has written into xterm, and ask for a pause above the high
// watermark and a resume below the low one. Pure accounting: the caller owns
// the pty and the timers.
export interface FlowControlEvents {
  pause(): void;
  resume(): void;
}

export class FlowControl {
  readonly high: number;
  readonly low: number;
  private readonly events: FlowControlEvents;
  private unackedBytes = 0;
  private pausedNow = false;

  constructor(high: number, low: number, events: FlowControlEvents) {
    if (!(low >= 0 && low < high)) throw new RangeError(`FlowControl needs 0 <= low < high, got low=${low} high=${high}`);
    this.high = high;
    this.low = low;
    this.events = events;
  }

  get unacked(): number {
    return this.unackedBytes;
  }

  get paused(): boolean {
    return this.pausedNow;
  }

  sent(bytes: number): void {
    this.unackedBytes += bytes;
    if (!this.pausedNow && this.unackedBytes > this.high) {
      this.pausedNow = true;
      this.events.pause();
    }
  }

  /** The client wrote `bytes` more; acks beyond what was sent are clamped, so a confused client cannot buy credit. */
  acked(bytes: number): void {
    this.unackedBytes = Math.max(0, this.unackedBytes - bytes);
    if (this.pausedNow && this.unackedBytes < this.low) {
      this.pausedNow = false;
      this.events.resume();
    }
  }

  /** Forget everything (the client went away or was replaced); resumes if paused. */
  reset(): void {
    this.unackedBytes = 0;
    if (this.pausedNow) {
      this.pausedNow = false;
      this.events.resume();
    }
  }
}
