// Highlights the commands of a transcript with Shiki, in one call so that the
// grammar sees them as one script, then hands back one token list per command.
import { codeToTokens, type ThemedToken } from 'shiki';
import { SHIKI_THEMES } from './shiki-themes.ts';

export interface StyledToken {
  content: string;
  /** Inline style carrying both theme colours as CSS variables. */
  style: string;
}

function styleOf(token: ThemedToken): string {
  return Object.entries(token.htmlStyle ?? {})
    .map(([property, value]) => `${property}:${value}`)
    .join(';');
}

/** For each command, its lines of tokens (a command continued with "\" spans several lines). */
export async function highlightCommands(commands: readonly string[]): Promise<StyledToken[][][]> {
  if (commands.length === 0) return [];
  const { tokens } = await codeToTokens(commands.join('\n'), {
    lang: 'bash',
    themes: SHIKI_THEMES,
    defaultColor: false,
  });
  const styled = tokens.map((line) => line.map((token) => ({ content: token.content, style: styleOf(token) })));
  const perCommand: StyledToken[][][] = [];
  let next = 0;
  for (const command of commands) {
    const lineCount = command.split('\n').length;
    perCommand.push(styled.slice(next, next + lineCount));
    next += lineCount;
  }
  return perCommand;
}
