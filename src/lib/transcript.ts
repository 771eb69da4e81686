// A lesson transcript is what a reader would see in a terminal, written the
// way the course always wrote it:
//
//   // a remark from the author
//   $ a command typed as the student
//   # a command typed as root
//   the output of that command
//
// parseTranscript turns that text into typed lines so the page can style
// each kind and the runnable snippets can run exactly the commands, never
// the outputs or remarks.

export type Prompt = '$' | '#';

export type TranscriptLine =
  | { kind: 'command'; prompt: Prompt; text: string }
  | { kind: 'output'; text: string }
  | { kind: 'remark'; text: string };

export interface Transcript {
  lines: TranscriptLine[];
  /** The commands in order, as they would be typed (continuation lines joined with "\n"). */
  commands: string[];
}

export class TranscriptError extends Error {
  override name = 'TranscriptError';
  /** 1-based line inside the transcript text (after the leading blank lines are dropped). */
  readonly line: number;
  constructor(line: number, message: string) {
    super(`transcript line ${line}: ${message}`);
    this.line = line;
  }
}

const COMMAND = /^([$#])(?: (.*))?$/;
const REMARK = /^\/\/ ?(.*)$/;
// "\$ ls" shows a literal "$ ls" as output, for the rare output line that looks like a prompt.
const ESCAPED = /^\\([$#/])/;

/** Drops blank lines around the text and the indentation common to every line (MDX template literals are indented with the markup). */
function dedent(text: string): string[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
  while (lines.length > 0 && lines.at(-1)!.trim() === '') lines.pop();
  const indents = lines.filter((line) => line.trim() !== '').map((line) => /^[ \t]*/.exec(line)![0].length);
  const common = indents.length > 0 ? Math.min(...indents) : 0;
  return lines.map((line) => line.slice(common).trimEnd());
}

export function parseTranscript(text: string): Transcript {
  const source = dedent(text);
  if (source.length === 0) {
    throw new TranscriptError(1, 'the transcript is empty; write at least one command such as "$ hostname".');
  }
  const lines: TranscriptLine[] = [];
  const commands: string[] = [];
  let continuing: { kind: 'command'; prompt: Prompt; text: string } | undefined;

  source.forEach((raw, index) => {
    const lineNumber = index + 1;
    if (continuing !== undefined) {
      // A command ending with a backslash goes on to the next line, as in bash.
      continuing.text += `\n${raw}`;
      commands[commands.length - 1] = continuing.text;
      if (!raw.endsWith('\\')) continuing = undefined;
      return;
    }
    const command = COMMAND.exec(raw);
    if (command !== null) {
      const commandText = (command[2] ?? '').trim();
      if (commandText === '') {
        throw new TranscriptError(
          lineNumber,
          `a prompt "${command[1]}" with no command; write the command after the prompt and a space, or write "\\${command[1]}" to show it as output.`,
        );
      }
      const line = { kind: 'command' as const, prompt: command[1] as Prompt, text: commandText };
      lines.push(line);
      commands.push(commandText);
      if (commandText.endsWith('\\')) continuing = line;
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
    throw new TranscriptError(source.length, 'the last command ends with "\\" but no line follows; finish the command or remove the backslash.');
  }
  return { lines, commands };
}
