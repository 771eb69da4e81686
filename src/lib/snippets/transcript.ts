// A lesson transcript is what a reader would see in a terminal, written the
// way the course always wrote it:
//
//   // a remark from the author
//   $ a command typed as the student
//   # a command typed as root
//   the output of that command
//
// and the ways Hugo courses write prompts: `user@host:~$ `, `root@host:/# `,
// `[root@host ~]# `, `(node1) $ `, a shell inside a container (`/ # `).
// A command that is not finished on its line (a `\` at the end, an open
// quote, a here-document, `for … do` before its `done`) goes on over the next
// lines, with or without the shell's `> ` continuation prompt.
//
// A block with no prompt at all is read as a script (`mode: 'script'`): every
// line is typed, `# ` lines are shell comments, shown and not typed.
//
// parseTranscript turns that text into typed lines so the page can style
// each kind and the runnable snippets can run exactly the commands, never
// the outputs or remarks.
import { commandIsIncomplete } from './shell-syntax.ts';

export type Prompt = '$' | '#';

export type TranscriptLine =
  /** `shown`: the prompt as written when it is more than "$" or "#" ("" for a script line); `foreign`: typed in a shell that is not the machine's own (a container's). */
  | { kind: 'command'; prompt: Prompt; text: string; shown?: string; foreign?: true }
  /** `marker`: "#" for a shell comment of a script; remarks are "//" otherwise. */
  | { kind: 'output'; text: string }
  | { kind: 'remark'; text: string; marker?: '#' };

export interface Transcript {
  lines: TranscriptLine[];
  /** The commands in order, as they would be typed (continuation lines joined with "\n"). */
  commands: string[];
  /** "transcript": prompts tell commands from outputs; "script": no prompt, every line is typed. */
  mode: 'transcript' | 'script';
  /** Set by a `(node1) $ ` prompt: the machine the author typed in. */
  machine?: string;
}

export interface ParseTranscriptOptions {
  /** "auto" (default): a transcript if any line carries a prompt, else a script. */
  mode?: 'auto' | 'transcript' | 'script';
}

export class TranscriptError extends Error {
  override name = 'TranscriptError';
  /** 1-based line inside the transcript text (after the leading blank lines are dropped). */
  readonly line: number;
  /** "ambiguous": the text can be read two ways; the block is shown but not run. */
  readonly kind: 'invalid' | 'ambiguous';
  constructor(line: number, message: string, kind: 'invalid' | 'ambiguous' = 'invalid') {
    super(`transcript line ${line}: ${message}`);
    this.line = line;
    this.kind = kind;
  }
}

/** `$ cmd`, `# cmd`. */
const BARE = /^([$#])(?: (.*))?$/;
/** `user@host:~$ cmd`, `root@host:/# cmd`, `(node1) $ cmd`, `(venv) user@h:~/x$ cmd`, `[root@host ~]# cmd`. */
const FULL = /^(?:\(([\w.-]+)\) ?)?(?:([\w.-]+@[\w.-]+(?::[^\s$#]*)?)|\[[\w.-]+@[\w.-]+ [^\]]*\])?([$#])(?: (.*))?$/;
/** A busybox/ash prompt inside a container: `/ # cmd`, `/app $ cmd`, `~ # cmd`. */
const FOREIGN = /^([~/][^\s$#]*) ([$#]) (.*)$/;
const REMARK = /^\/\/ ?(.*)$/;
// "\$ ls" shows a literal "$ ls" as output, for the rare output line that looks like a prompt.
const ESCAPED = /^\\([$#/])/;

interface PromptMatch {
  prompt: Prompt;
  shown: string | undefined;
  text: string;
  machine: string | undefined;
  foreign: boolean;
  bare: boolean;
}

function matchPrompt(raw: string): PromptMatch | undefined {
  const bare = BARE.exec(raw);
  if (bare) return { prompt: bare[1] as Prompt, shown: undefined, text: (bare[2] ?? '').trim(), machine: undefined, foreign: false, bare: true };
  const full = FULL.exec(raw);
  if (full && (full[1] !== undefined || full[2] !== undefined || raw.startsWith('['))) {
    const shown = raw.slice(0, raw.length - (full[4] ?? '').length).trimEnd();
    return { prompt: full[3] as Prompt, shown, text: (full[4] ?? '').trim(), machine: full[1], foreign: false, bare: false };
  }
  const foreign = FOREIGN.exec(raw);
  if (foreign)
    return { prompt: foreign[2] as Prompt, shown: `${foreign[1]} ${foreign[2]}`, text: foreign[3]!.trim(), machine: undefined, foreign: true, bare: false };
  return undefined;
}

// French (and English) words that mark a `# ` line as a sentence, not a command.
const PROSE_WORDS = new Set(
  'le la les un une des du de au aux on et ou pour puis avec dans sur sous est sont nous vous il elle ce cette ces qui que quand si pas ne mais donc car the a an to of and is are we you this that then with'.split(
    ' ',
  ),
);

/**
 * True when the text after a bare "# " reads as a sentence (a comment in
 * French) rather than a command: starts with a capital or an accented word,
 * ends like a sentence, or is made of plain words among which a French one,
 * with no shell syntax at all.
 */
export function looksLikeProse(text: string): boolean {
  const t = text.trim();
  if (t === '') return false;
  const words = t.split(/\s+/);
  const first = words[0]!;
  if (/^[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]/.test(first) && !/[/=$|<>]/.test(t)) return true;
  if (/[à-öø-ÿ]/i.test(first)) return true;
  if (/[/|<>$=;&`\\]|\s-{1,2}\w/.test(t)) return false;
  if (/[.:!?…]$/.test(t) && words.length >= 2) return true;
  return words.length >= 3 && words.slice(1).some((w) => PROSE_WORDS.has(w.toLowerCase().replace(/[,.;:!?']/g, '')));
}

/** Drops blank lines around the text and the indentation common to every line (MDX template literals are indented with the markup). */
function dedent(text: string): string[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
  while (lines.length > 0 && lines.at(-1)!.trim() === '') lines.pop();
  const indents = lines.filter((line) => line.trim() !== '').map((line) => /^[ \t]*/.exec(line)![0].length);
  const common = indents.length > 0 ? Math.min(...indents) : 0;
  return lines.map((line) => line.slice(common).trimEnd());
}

/**
 * How a fenced block reads: "transcript" when a line carries a "$" prompt or a
 * full prompt (user@host…), "script" when there is no prompt, or only "# "
 * lines that all read as comments. Only bare "# " lines that could be root
 * commands: ambiguous (TranscriptError of kind "ambiguous").
 */
export function detectMode(text: string): 'transcript' | 'script' {
  const source = dedent(text);
  const prompts = source.map((line, index) => ({ index, match: /^#!/.test(line) ? undefined : matchPrompt(line) })).filter((p) => p.match !== undefined);
  if (prompts.some((p) => !p.match!.bare || p.match!.prompt === '$')) return 'transcript';
  const commandLike = prompts.filter((p) => !looksLikeProse(p.match!.text));
  if (commandLike.length === 0) return 'script';
  const first = commandLike[0]!;
  throw new TranscriptError(
    first.index + 1,
    `"${source[first.index]}" may be a root command or a shell comment, and no other line has a prompt; write the command after a full prompt ("root@machine:~# ${first.match!.text}"), or start the block with a "$ " command, or mark it {runnable=false}.`,
    'ambiguous',
  );
}

export function parseTranscript(text: string, options: ParseTranscriptOptions = {}): Transcript {
  const source = dedent(text);
  if (source.length === 0) {
    throw new TranscriptError(1, 'the transcript is empty; write at least one command such as "$ hostname".');
  }
  const mode = options.mode === undefined || options.mode === 'auto' ? detectMode(text) : options.mode;
  return mode === 'script' ? parseScript(source) : parsePrompted(source);
}

function parsePrompted(source: string[]): Transcript {
  const lines: TranscriptLine[] = [];
  const commands: string[] = [];
  let machine: string | undefined;
  let continuing: { kind: 'command'; prompt: Prompt; text: string } | undefined;

  source.forEach((raw, index) => {
    const lineNumber = index + 1;
    if (continuing !== undefined) {
      // An unfinished command goes on to the next line, as in bash; "> " is the shell's continuation prompt.
      continuing.text += `\n${raw.replace(/^> ?/, '')}`;
      commands[commands.length - 1] = continuing.text;
      if (!commandIsIncomplete(continuing.text)) continuing = undefined;
      return;
    }
    const prompt = matchPrompt(raw);
    if (prompt !== undefined) {
      if (prompt.text === '') {
        throw new TranscriptError(
          lineNumber,
          `a prompt "${prompt.shown ?? prompt.prompt}" with no command; write the command after the prompt and a space, or write "\\${prompt.prompt}" to show it as output.`,
        );
      }
      if (prompt.bare && prompt.prompt === '#' && looksLikeProse(prompt.text)) {
        throw new TranscriptError(
          lineNumber,
          `"# ${prompt.text}" reads like a comment but "# " is also the root prompt; write the remark as "// ${prompt.text}" (or the command after a full prompt such as "root@machine:~# ").`,
          'ambiguous',
        );
      }
      const line: Extract<TranscriptLine, { kind: 'command' }> = { kind: 'command', prompt: prompt.prompt, text: prompt.text };
      if (prompt.shown !== undefined) line.shown = prompt.shown;
      if (prompt.foreign) line.foreign = true;
      machine ??= prompt.machine;
      lines.push(line);
      commands.push(prompt.text);
      if (commandIsIncomplete(prompt.text)) continuing = line;
      return;
    }
    const remark = REMARK.exec(raw);
    if (remark !== null) {
      lines.push({ kind: 'remark', text: remark[1]! });
      return;
    }
    lines.push({ kind: 'output', text: raw.replace(ESCAPED, '$1') });
  });

  if (continuing !== undefined) {
    throw new TranscriptError(
      source.length,
      continuing.text.trimEnd().endsWith('\\')
        ? 'the last command ends with "\\" but no line follows; finish the command or remove the backslash.'
        : `the last command is not finished (an open quote, here-document or "do … done"); finish it: ${JSON.stringify(continuing.text.split('\n')[0])}.`,
    );
  }
  const out: Transcript = { lines, commands, mode: 'transcript' };
  if (machine !== undefined) out.machine = machine;
  return out;
}

/** A block without prompts: every line is typed, grouped into whole commands; `# ` lines are comments. */
function parseScript(source: string[]): Transcript {
  const lines: TranscriptLine[] = [];
  const commands: string[] = [];
  let continuing: Extract<TranscriptLine, { kind: 'command' }> | undefined;
  source.forEach((raw) => {
    if (continuing !== undefined) {
      continuing.text += `\n${raw}`;
      commands[commands.length - 1] = continuing.text;
      if (!commandIsIncomplete(continuing.text)) continuing = undefined;
      return;
    }
    if (raw.trim() === '') {
      lines.push({ kind: 'output', text: '' });
      return;
    }
    const remark = REMARK.exec(raw);
    if (remark !== null) {
      lines.push({ kind: 'remark', text: remark[1]! });
      return;
    }
    const comment = /^\s*#(?!!) ?(.*)$/.exec(raw);
    if (comment !== null) {
      lines.push({ kind: 'remark', text: comment[1]!, marker: '#' });
      return;
    }
    const line: Extract<TranscriptLine, { kind: 'command' }> = { kind: 'command', prompt: '$', text: raw, shown: '' };
    lines.push(line);
    commands.push(raw);
    if (commandIsIncomplete(raw)) continuing = line;
  });
  if (continuing !== undefined) {
    throw new TranscriptError(
      source.length,
      `the last command is not finished (an open quote, here-document, "\\" or "do … done"); finish it: ${JSON.stringify(continuing.text.split('\n')[0])}.`,
    );
  }
  return { lines, commands, mode: 'script' };
}
