// Reads a terminal the way a person would: accumulates its output, strips the
// escape sequences, and notes the shell integration marks (OSC 133) so a test
// can wait for "the command finished" rather than for a guessed delay.
//
// Works on any source of terminal bytes: a driver's TerminalStream, a
// WebSocket wrapped in an `onData`, a node-pty.
//
//   const reader = new TerminalReader(terminal, (text) => terminal.write(text));
//   await reader.waitForPrompt();
//   const { output, exitCode } = await reader.run('hostname');
//
// openTerminal() does that for a terminal of a driver's sandbox.
import type { Sandbox, TerminalSize, TerminalStream } from '../../sandbox-server/src/drivers/driver.ts';

export interface TerminalDataSource {
  onData(listener: (chunk: Buffer | Uint8Array | string) => void): { dispose(): void };
}

/** An OSC 133 mark: A prompt start, B prompt end (shell waits for input), C command runs, D command done. */
export interface Mark {
  kind: 'A' | 'B' | 'C' | 'D';
  /** D only: the command's exit status. */
  exitCode?: number;
  /** Offset in `text` where the mark was. */
  at: number;
}

export interface RunResult {
  /** What the command printed (between its C and D marks), escapes stripped, \r\n → \n. */
  output: string;
  /** From the D mark; undefined when the command started a new shell (a prompt came without D). */
  exitCode: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export class TerminalReader {
  /** Everything received, decoded, escapes included. */
  raw = '';
  /** Everything received, escapes stripped, \r\n → \n, other \r dropped. */
  text = '';
  readonly marks: Mark[] = [];
  #decoder = new TextDecoder('utf-8');
  #pending = ''; // an escape sequence cut by a chunk boundary
  #waiters = new Set<() => void>();
  #subscription: { dispose(): void };
  #write: ((text: string) => void) | undefined;

  constructor(source: TerminalDataSource, write?: (text: string) => void) {
    this.#write = write;
    this.#subscription = source.onData((chunk) => this.push(chunk));
  }

  dispose(): void {
    this.#subscription.dispose();
  }

  /** Feeds bytes in (called by the source; public for sources without onData). */
  push(chunk: Buffer | Uint8Array | string): void {
    const decoded = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    this.raw += decoded;
    this.#parse(this.#pending + decoded);
    for (const wake of [...this.#waiters]) wake();
  }

  /** Position to pass as `from` to only look at what comes next. */
  get cursor(): { text: number; marks: number } {
    return { text: this.text.length, marks: this.marks.length };
  }

  /** Resolves with the first match of `pattern` in the text after `from`. */
  waitFor(pattern: RegExp | string, options: { from?: number; timeoutMs?: number } = {}): Promise<RegExpExecArray> {
    const from = options.from ?? 0;
    const regex = typeof pattern === 'string' ? new RegExp(escapeRegExp(pattern)) : pattern;
    return this.#until(`text matching ${regex}`, options.timeoutMs, () => regex.exec(this.text.slice(from)) ?? undefined);
  }

  /** Resolves with the first mark of `kind` after mark index `from`. */
  waitForMark(kind: Mark['kind'], options: { from?: number; timeoutMs?: number } = {}): Promise<Mark> {
    const from = options.from ?? 0;
    return this.#until(`OSC 133 mark ${kind}`, options.timeoutMs, () => this.marks.slice(from).find((mark) => mark.kind === kind));
  }

  /** Waits until a shell waits for input (mark B) after mark index `from`. */
  waitForPrompt(options: { from?: number; timeoutMs?: number } = {}): Promise<Mark> {
    return this.waitForMark('B', options);
  }

  /**
   * Types `command` and Enter, waits until it ran (mark C) and a shell waits
   * for input again (mark B), and returns what the command printed and its
   * exit status. A command that starts a shell (`sudo unshare --uts
   * /bin/bash`) resolves at that shell's first prompt. Prompts redrawn
   * without a command (on a resize) are not mistaken for the end.
   */
  async run(command: string, options: { timeoutMs?: number } = {}): Promise<RunResult> {
    if (!this.#write) throw new Error('TerminalReader.run needs a write function (second constructor argument)');
    const start = this.cursor;
    this.#write(`${command}\r`);
    const started = await this.waitForMark('C', { from: start.marks, timeoutMs: options.timeoutMs });
    const afterStart = this.marks.indexOf(started) + 1;
    const prompt = await this.waitForPrompt({ from: afterStart, timeoutMs: options.timeoutMs });
    const marks = this.marks.slice(afterStart, this.marks.indexOf(prompt) + 1);
    const done = marks.find((mark) => mark.kind === 'D');
    const promptStart = marks.find((mark) => mark.kind === 'A');
    return {
      output: this.text.slice(started.at, done?.at ?? promptStart?.at ?? prompt.at),
      exitCode: done?.exitCode,
    };
  }

  /** The last `characters` of the text, for error messages. */
  tail(characters = 600): string {
    return this.text.slice(-characters);
  }

  #until<T>(what: string, timeoutMs = DEFAULT_TIMEOUT_MS, check: () => T | undefined): Promise<T> {
    const found = check();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const wake = () => {
        const value = check();
        if (value === undefined) return;
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve(value);
      };
      // A safety net against hanging forever, not a speed assertion.
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(new Error(`no ${what} within ${timeoutMs} ms; the terminal ends with:\n${this.tail()}`));
      }, timeoutMs);
      this.#waiters.add(wake);
    });
  }

  #parse(input: string): void {
    this.#pending = '';
    let i = 0;
    const special = /[\x1b\r\x07\x00\x01\x02\b]/g;
    while (i < input.length) {
      // Plain text up to the next control character, in one piece.
      special.lastIndex = i;
      const next = special.exec(input)?.index ?? input.length;
      if (next > i) {
        this.text += input.slice(i, next);
        i = next;
        continue;
      }
      const char = input[i]!;
      if (char === '\x1b') {
        const end = escapeEnd(input, i);
        if (end === undefined) {
          this.#pending = input.slice(i); // finish it with the next chunk
          return;
        }
        const sequence = input.slice(i, end);
        const mark = /^\x1b\]133;([ABCD])(?:;(-?\d+))?/.exec(sequence);
        if (mark) {
          this.marks.push({
            kind: mark[1] as Mark['kind'],
            ...(mark[2] !== undefined ? { exitCode: Number(mark[2]) } : {}),
            at: this.text.length,
          });
        }
        i = end;
        continue;
      }
      if (char === '\r') {
        if (i + 1 >= input.length) {
          this.#pending = '\r'; // \r\n may be split
          return;
        }
        if (input[i + 1] === '\n') {
          this.text += '\n';
          i += 2;
          continue;
        }
        i++;
        continue;
      }
      if (char === '\x07' || char === '\x00' || char === '\x01' || char === '\x02') {
        i++;
        continue;
      }
      // Backspace: the character before it was erased from the screen.
      this.text = this.text.slice(0, -1);
      i++;
    }
  }
}

export interface OpenedTerminal {
  terminal: TerminalStream;
  reader: TerminalReader;
}

/** Opens terminal `name` of a driver's sandbox (120×40 unless told) with a reader on it, and waits for its first prompt. */
export async function openTerminal(
  sandbox: Pick<Sandbox, 'openTerminal'>,
  name: string,
  size: TerminalSize = { cols: 120, rows: 40 },
  options: { timeoutMs?: number } = {},
): Promise<OpenedTerminal> {
  const terminal = await sandbox.openTerminal(name, size);
  const reader = new TerminalReader(terminal, (text) => terminal.write(text));
  await reader.waitForPrompt(options);
  return { terminal, reader };
}

/** Index just past the escape sequence starting at `start`, or undefined if it is incomplete. */
function escapeEnd(input: string, start: number): number | undefined {
  const kind = input[start + 1];
  if (kind === undefined) return undefined;
  if (kind === ']' || kind === 'P' || kind === '_' || kind === '^') {
    // OSC / DCS / APC / PM: until BEL or ST (ESC \).
    for (let i = start + 2; i < input.length; i++) {
      if (input[i] === '\x07') return i + 1;
      if (input[i] === '\x1b') return input[i + 1] === undefined ? undefined : i + 2;
    }
    return undefined;
  }
  if (kind === '[') {
    // CSI: parameters and intermediates, then one final byte in @..~.
    for (let i = start + 2; i < input.length; i++) {
      const code = input.charCodeAt(i);
      if (code >= 0x40 && code <= 0x7e) return i + 1;
    }
    return undefined;
  }
  if (kind === '(' || kind === ')' || kind === '*' || kind === '+' || kind === '#') {
    return input[start + 2] === undefined ? undefined : start + 3; // charset designation: one more byte
  }
  return start + 2; // two-byte escapes: ESC =, ESC >, ESC 7…
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
