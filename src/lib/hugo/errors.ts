/**
 * The error every part of the Hugo compatibility layer throws for a problem in
 * the author's content: it names the file, the line, what is wrong and the fix.
 *
 * `message` reads like:
 *   content/x.md:4: weight must be a whole number, got "abc". Fix: write weight: 3
 *
 * It also carries the fields that tools read to point at the source: `line`,
 * `column`, `fatal` (like a vfile message) and `loc` and `hint` (like Astro's
 * errors, which its error overlay shows). Its base is the project's one error
 * with a hint (contracts/errors.ts).
 */
import { HintedError } from '../../../contracts/errors.ts';

export interface ContentErrorInit {
  /** The file as the author knows it, e.g. "content/docker_linux/namespaces.md". */
  file: string;
  /** 1-based line, when known. */
  line?: number | undefined;
  /** 1-based column, when known. */
  column?: number | undefined;
  /** What is wrong, e.g. `weight must be a whole number, got "abc"`. */
  reason: string;
  /** How to fix it, e.g. `write weight: 3`. */
  hint?: string | undefined;
  cause?: unknown;
}

export class ContentError extends HintedError<string | undefined> {
  readonly file: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly reason: string;
  /** Always fatal: content errors stop the build. */
  readonly fatal = true;
  /** Location in the shape Astro's error overlay reads. */
  readonly loc: { file: string; line: number | undefined; column: number | undefined };

  constructor(init: ContentErrorInit) {
    const reason = endSentence(init.reason);
    const where = init.line ? `${init.file}:${init.line}` : init.file;
    super(`${where}: ${reason}${init.hint ? ` Fix: ${init.hint}` : ''}`, init.hint, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ContentError';
    this.file = init.file;
    this.line = init.line;
    this.column = init.column;
    this.reason = reason;
    this.loc = { file: init.file, line: init.line, column: init.column };
  }
}

function endSentence(s: string): string {
  const t = s.trim();
  return /[.!?…]$/.test(t) ? t : `${t}.`;
}

/** `JSON.stringify` for messages, readable for dates and undefined too. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid date' : value.toISOString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
