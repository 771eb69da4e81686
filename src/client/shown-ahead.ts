// Output a terminal showed before its socket opened (the warm pool's prompt,
// from the answer of POST api/sandboxes): the socket's replay then starts with
// the same bytes, which must not be written twice. Given each chunk of output
// as it comes, says what is not on screen yet, and when the shell's output
// parts from what was shown (then the screen is redrawn from the replay).
// No DOM: testable alone.

export interface Unseen {
  /** Clear the screen and write these first: what was shown ahead is not what the shell printed. */
  redraw?: Uint8Array;
  /** What to write now (empty when the whole chunk was already shown). */
  rest: Uint8Array;
}

export class ShownAhead {
  private readonly bytes: Uint8Array;
  /** How many of `bytes` the replay has matched so far. */
  private matched = 0;
  private settled = false;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /** Whether nothing more is to be skipped (all matched, or parted): the caller may drop this. */
  get done(): boolean {
    return this.settled;
  }

  /** The socket said `replayBytes` follow: fewer than were shown means another output (redraw it). */
  replayAnnounced(replayBytes: number): Unseen | undefined {
    if (this.settled || replayBytes >= this.bytes.length) return undefined;
    return this.part(new Uint8Array(0));
  }

  /** A chunk of the terminal's output (`replay`: part of the replay after ready). */
  unseen(chunk: Uint8Array, replay: boolean): Unseen {
    if (this.settled) return { rest: chunk };
    let same = 0;
    while (replay && same < chunk.length && this.matched + same < this.bytes.length && chunk[same] === this.bytes[this.matched + same]) same++;
    this.matched += same;
    if (this.matched === this.bytes.length) {
      this.settled = true;
      return { rest: chunk.subarray(same) };
    }
    if (same === chunk.length) return { rest: chunk.subarray(same) };
    return this.part(chunk.subarray(same));
  }

  private part(rest: Uint8Array): Unseen {
    this.settled = true;
    return { redraw: this.bytes.subarray(0, this.matched), rest };
  }
}
