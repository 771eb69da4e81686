// Which machine of the page's lab a shell block runs on. An author says it in
// one of three ways, the first that is there wins:
//
//   ```bash {machine=node2}               a fence attribute
//   <Transcript machine="node2" …>        a prop (MDX)
//   // Sur node2                          the block's first line (a remark the reader sees too)
//
// and a Hugo course's own prompts say it as well: `(node2) $ docker node ls`.
// A block that says nothing runs on the lab's first machine.
//
// Naming a machine the lab does not have is a content error (the block would
// run somewhere else than the author meant), except through a prompt: `(venv) $`
// is a Python prompt, not a machine, so a prompt only counts when it names one
// of the lab's machines. On a page without a lab, `// Sur …` is an ordinary
// remark; an explicit attribute or prop is an error there (say which lab).

/** `// Sur node2` (or `// On node2`) as a whole line. */
const MACHINE_LINE = /^\s*\/\/\s*(?:Sur|On)\s+([a-z0-9][a-z0-9-]{0,15})\s*:?\s*$/i;
/** `// Terminal 2`, which may come before it. */
const TERMINAL_LINE = /^\s*\/\/\s*Terminal\s+\d{1,2}\s*$/i;

/** The lab of the page, as the check needs it (page-lab.ts makes it). */
export interface LabOfPage {
  machines: readonly string[];
  /** The content file that declares it, for the message. */
  declaredIn: string;
}

export interface BlockMachineChoice {
  /** From `{machine=…}` or `machine="…"`. */
  declared?: string | undefined;
  /** How the author wrote it, for the message: `{machine=node4}`, `<Transcript machine="node4">`. */
  declaredAs?: string | undefined;
  /** The block's text: its `// Sur node2` line is looked for. */
  code: string;
  /** From a `(node2) $` prompt. */
  prompt?: string | undefined;
}

export class BlockMachineError extends Error {
  override name = 'BlockMachineError';
  readonly hint: string;
  constructor(reason: string, hint: string) {
    super(reason);
    this.hint = hint;
  }
}

/** The machine named by a `// Sur node2` line at the top of `code` (after a `// Terminal N` line, if any). */
export function machineLineOf(code: string): string | undefined {
  const lines = code.split('\n').filter((line) => line.trim() !== '');
  for (const line of lines.slice(0, 2)) {
    const named = MACHINE_LINE.exec(line);
    if (named) return named[1]!.toLowerCase();
    if (!TERMINAL_LINE.test(line)) return undefined;
  }
  return undefined;
}

/**
 * The machine the block runs on (what its `data-machine` says).
 * @param lab the page's lab; null: the page has none; undefined: not known here (nothing is checked).
 * @throws BlockMachineError for a machine the lab does not have.
 */
export function blockMachine(choice: BlockMachineChoice, lab: LabOfPage | null | undefined): string | undefined {
  const line = machineLineOf(choice.code);
  if (lab === undefined) return choice.declared ?? line ?? choice.prompt;
  const declaredAs = choice.declaredAs ?? `{machine=${choice.declared}}`;
  if (lab === null) {
    if (choice.declared !== undefined) {
      throw new BlockMachineError(
        `${declaredAs}: this block runs on machine ${choice.declared}, but the page has no lab (no machines: in its front matter nor in its section's _index.md)`,
        `add machines: [node1, ${choice.declared === 'node1' ? 'node2' : choice.declared}] to the page's front matter (or its section's _index.md, for the whole chapter), or remove ${declaredAs}`,
      );
    }
    return choice.prompt;
  }
  const names = lab.machines;
  const among = names.join(', ');
  if (choice.declared !== undefined && !names.includes(choice.declared)) {
    throw new BlockMachineError(
      `${declaredAs}: the page's lab has no machine ${choice.declared} (its machines are ${among}, from ${lab.declaredIn})`,
      `name one of ${among}, or add ${choice.declared} to machines: in ${lab.declaredIn}`,
    );
  }
  if (choice.declared !== undefined) return choice.declared;
  if (line !== undefined && !names.includes(line)) {
    throw new BlockMachineError(
      `"// Sur ${line}": the page's lab has no machine ${line} (its machines are ${among}, from ${lab.declaredIn})`,
      `write // Sur ${names[0]} (or another of ${among}), or add ${line} to machines: in ${lab.declaredIn}`,
    );
  }
  if (line !== undefined) return line;
  if (choice.prompt !== undefined && names.includes(choice.prompt)) return choice.prompt;
  return names[0];
}
