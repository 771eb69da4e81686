// OSC 133 "shell integration" marks, found in the raw byte stream of a
// terminal. The sandbox's bash prints them around every prompt and command:
//
//   ESC ] 133 ; A ST     prompt starts
//   ESC ] 133 ; B ST     prompt ends: the shell now reads a command line
//   ESC ] 133 ; C ST     the command line was accepted and runs
//   ESC ] 133 ; D ; n ST the command finished with status n
//
// ST is BEL or ESC \. The parser works on bytes (the marks are ASCII) and
// keeps its state between chunks, because a WebSocket frame may end in the
// middle of a mark.

export type Osc133Kind = 'A' | 'B' | 'C' | 'D';

export interface Osc133Mark {
  kind: Osc133Kind;
  /** Exit status carried by a D mark, when the shell gave one. */
  status?: number;
}

const ESC = 0x1b;
const BEL = 0x07;
const CAN = 0x18;
const SUB = 0x1a;
const RIGHT_BRACKET = 0x5d; // ]
const BACKSLASH = 0x5c;

/** OSC payloads longer than this are not ours (titles, hyperlinks…): they are skipped, not stored. */
const MAX_PAYLOAD = 64;

type State = 'ground' | 'escape' | 'osc' | 'osc-escape';

export class Osc133Parser {
  private state: State = 'ground';
  private payload: number[] = [];
  private overflow = false;

  /** Feeds the next chunk of terminal output; returns the marks it completes, in order. */
  push(chunk: Uint8Array): Osc133Mark[] {
    const marks: Osc133Mark[] = [];
    for (const byte of chunk) {
      switch (this.state) {
        case 'ground':
          if (byte === ESC) this.state = 'escape';
          break;
        case 'escape':
          if (byte === RIGHT_BRACKET) this.startOsc();
          else if (byte !== ESC) this.state = 'ground';
          break;
        case 'osc':
          if (byte === BEL) this.endOsc(marks);
          else if (byte === ESC) this.state = 'osc-escape';
          else if (byte === CAN || byte === SUB) this.state = 'ground';
          else this.collect(byte);
          break;
        case 'osc-escape':
          if (byte === BACKSLASH) this.endOsc(marks);
          // Any other escape aborts the OSC and starts a new sequence.
          else if (byte === RIGHT_BRACKET) this.startOsc();
          else this.state = byte === ESC ? 'escape' : 'ground';
          break;
      }
    }
    return marks;
  }

  /** Forgets a half-read sequence (a new connection starts a new stream). */
  reset(): void {
    this.state = 'ground';
    this.payload = [];
    this.overflow = false;
  }

  private startOsc(): void {
    this.state = 'osc';
    this.payload = [];
    this.overflow = false;
  }

  private collect(byte: number): void {
    if (this.payload.length < MAX_PAYLOAD) this.payload.push(byte);
    else this.overflow = true;
  }

  private endOsc(marks: Osc133Mark[]): void {
    this.state = 'ground';
    if (this.overflow) return;
    const mark = parseOsc133Payload(String.fromCharCode(...this.payload));
    if (mark !== undefined) marks.push(mark);
  }
}

/** "133;D;130" → { kind: 'D', status: 130 }; undefined for any other OSC. */
export function parseOsc133Payload(payload: string): Osc133Mark | undefined {
  const parts = payload.split(';');
  if (parts[0] !== '133') return undefined;
  const kind = parts[1];
  if (kind !== 'A' && kind !== 'B' && kind !== 'C' && kind !== 'D') return undefined;
  if (kind !== 'D') return { kind };
  // Options such as "aid=…" may follow as key=value pairs; the status is the bare number.
  const status = parts[2] !== undefined && /^\d+$/.test(parts[2]) ? Number(parts[2]) : undefined;
  return status === undefined ? { kind } : { kind, status };
}
