// Which fenced code blocks of a page become runnable snippets, and how.
//
//   ```bash {terminal=2 machine=web title="Sur le serveur"}     Hugo's fence attributes
//   // Terminal 2                                              or a first line naming the terminal
//   student@tp:~$ ls -l
//   ```
//
// A block labelled bash, sh, shell, zsh or console, or unlabelled but starting
// with a "$ " / "user@host:~$ " prompt, is read with parseTranscript:
// - with prompts: the lines after a prompt are typed, the rest is output;
// - without any prompt (bash/sh/shell/zsh): a script, every command typed in
//   order, "# " lines are comments.
// It is copy-only (shown, « Copier » copies the commands, no « Exécuter »)
// when it cannot be run faithfully, and the plan says why: a console block
// without a prompt (only output), a script file (#!), commands typed at a
// container's prompt ("/ # ", the page cannot tell when they end), a "# "
// line that may be a comment or a root command, a transcript that does not
// parse, or {runnable=false}.
// Only fence attributes that cannot be read fail the build.
import { BlockMachineError, blockMachine, type LabOfPage } from './block-machine.ts';
import { parseTranscript, TranscriptError, type Transcript } from './transcript.ts';

export interface PlanOptions {
  /** The page's lab (block-machine.ts): null when it has none; undefined: not known, the machine is not checked. */
  lab?: LabOfPage | null | undefined;
}

export const SHELL_LANGUAGES = ['bash', 'sh', 'shell', 'zsh', 'console', 'shell-session', 'shellsession'] as const;

export interface FenceAttributes {
  terminal?: string;
  machine?: string;
  title?: string;
  runnable?: boolean;
}

export type ShellBlockPlan =
  | { kind: 'skip' }
  | { kind: 'run'; transcript: Transcript; terminal: string; machine: string | undefined; title: string | undefined; code: string }
  | {
      kind: 'copy-only';
      transcript: Transcript | undefined;
      terminal: string;
      machine: string | undefined;
      title: string | undefined;
      reason: string;
      code: string;
    };

export class FenceError extends Error {
  override name = 'FenceError';
  readonly hint: string;
  constructor(reason: string, hint: string) {
    super(reason);
    this.hint = hint;
  }
}

const TERMINAL = /^[1-9][0-9]?$/;
const MACHINE = /^[a-z0-9][a-z0-9-]{0,30}$/;

/**
 * Hugo's code fence attributes: `{terminal=2, machine="web", linenos=true}`
 * (commas or spaces between, values bare or quoted). Keys we do not use
 * (linenos, hl_lines…) are ignored as Hugo's highlighter would take them.
 */
export function parseFenceAttributes(meta: string | null | undefined): FenceAttributes {
  const m = (meta ?? '').trim();
  if (m === '') return {};
  if (!m.startsWith('{')) return {};
  if (!m.endsWith('}')) throw new FenceError(`the fence attributes ${m} are not closed with "}"`, 'write them as ```bash {terminal=2}');
  const body = m.slice(1, -1);
  const out: FenceAttributes = {};
  const re = /\s*([A-Za-z_][\w-]*)\s*=\s*("([^"]*)"|'([^']*)'|\[[^\]]*\]|[^\s,]+)\s*,?|\s*([.#][\w-]+)\s*,?/gy;
  let at = 0;
  for (let match = re.exec(body); match !== null && match[0] !== ''; match = re.exec(body)) {
    at = re.lastIndex;
    if (match[5] !== undefined) continue; // {.class #id}
    const key = match[1]!.toLowerCase();
    const value = match[3] ?? match[4] ?? match[2]!;
    if (key === 'terminal') {
      if (!TERMINAL.test(value)) throw new FenceError(`terminal=${value}: a terminal is named by a number from 1 to 99`, 'write {terminal=2}');
      out.terminal = value;
    } else if (key === 'machine') {
      if (!MACHINE.test(value)) throw new FenceError(`machine=${value}: a machine is named by lower-case letters, digits and "-"`, 'write {machine=web}');
      out.machine = value;
    } else if (key === 'title') out.title = value;
    else if (key === 'runnable' || key === 'run') {
      if (!/^(true|false)$/i.test(value))
        throw new FenceError(`${key}=${value}: expected true or false`, 'write {runnable=false} to show a block without « Exécuter »');
      out.runnable = value.toLowerCase() === 'true';
    }
  }
  if (body.slice(at).trim() !== '')
    throw new FenceError(
      `the fence attributes ${m} cannot be read from "${body.slice(at).trim()}"`,
      'write key=value pairs, e.g. ```bash {terminal=2 machine=web}',
    );
  return out;
}

/** `// Terminal 2` as the block's first line. */
const TERMINAL_LINE = /^\s*\/\/\s*Terminal\s+(\d{1,2})\s*$/i;
/** What makes an unlabelled block a transcript: its first line is a "$" prompt. */
const STARTS_WITH_PROMPT = /^\s*(?:\([\w.-]+\) ?)?(?:[\w.-]+@[\w.-]+(?::[^\s$#]*)?)?\$ \S/;

/**
 * What to do with a fenced block.
 * @throws FenceError when its attributes cannot be read, or it names a machine the page's lab does not have (the only fatal cases).
 */
export function planShellBlock(lang: string | null | undefined, meta: string | null | undefined, value: string, options: PlanOptions = {}): ShellBlockPlan {
  const language = (lang ?? '').toLowerCase();
  const shellLanguage = (SHELL_LANGUAGES as readonly string[]).includes(language);
  if (!shellLanguage && !(language === '' && STARTS_WITH_PROMPT.test(value.split('\n').find((l) => l.trim() !== '' && !TERMINAL_LINE.test(l)) ?? ''))) {
    return { kind: 'skip' };
  }
  const attributes = parseFenceAttributes(meta);
  let code = value;
  let terminal = attributes.terminal;
  const lines = value.split('\n');
  const first = lines.findIndex((l) => l.trim() !== '');
  const named = first === -1 ? null : TERMINAL_LINE.exec(lines[first]!);
  if (named) {
    if (!TERMINAL.test(named[1]!)) throw new FenceError(`"${lines[first]!.trim()}": a terminal is named by a number from 1 to 99`, 'write // Terminal 2');
    terminal ??= named[1]!;
    code = lines.slice(first + 1).join('\n');
  }
  const machineOf = (prompt: string | undefined) => {
    try {
      return blockMachine({ declared: attributes.machine, code, prompt }, options.lab);
    } catch (error) {
      if (!(error instanceof BlockMachineError)) throw error;
      throw new FenceError(error.message, error.hint);
    }
  };
  const base = { terminal: terminal ?? '1', machine: attributes.machine, title: attributes.title, code };
  if (code.trim() === '') return { kind: 'copy-only', transcript: undefined, ...base, machine: machineOf(undefined), reason: 'the block is empty' };
  if (/^\s*#!/.test(code))
    return { kind: 'copy-only', transcript: undefined, ...base, machine: machineOf(undefined), reason: 'a script file (#!): save it to a file and run it' };

  let transcript: Transcript;
  try {
    transcript = parseTranscript(code, { mode: language === 'console' || language === 'shell-session' || language === 'shellsession' ? 'transcript' : 'auto' });
  } catch (error) {
    if (!(error instanceof TranscriptError)) throw error;
    return { kind: 'copy-only', transcript: undefined, ...base, machine: machineOf(undefined), reason: error.message };
  }
  const plan = { transcript, ...base, machine: machineOf(transcript.machine) };
  if (attributes.runnable === false) return { kind: 'copy-only', ...plan, reason: 'the fence says {runnable=false}' };
  if (transcript.commands.length === 0) return { kind: 'copy-only', ...plan, reason: 'no prompt, only output (a console block shows what a command printed)' };
  const foreign = transcript.lines.find((l) => l.kind === 'command' && l.foreign === true);
  if (foreign && foreign.kind === 'command') {
    return {
      kind: 'copy-only',
      ...plan,
      reason: `"${foreign.shown} ${foreign.text}" is typed in a shell inside a container, whose end the page cannot see`,
    };
  }
  return { kind: 'run', ...plan };
}
