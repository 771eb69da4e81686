// Highlights the commands of a transcript with Shiki, in one call so that the
// grammar sees them as one script, then hands back one token list per command.
// Synchronous (Shiki's JavaScript regex engine, bash grammar only) so that the
// Markdown plugin, which cannot wait, gives fenced blocks the same colours as
// the <Transcript> component.
import { createHighlighterCoreSync, type HighlighterCore, type ThemedToken } from 'shiki/core';
import { createJavaScriptRegexEngine } from 'shiki/engine/javascript';
import bash from 'shiki/langs/bash.mjs';
import githubDark from 'shiki/themes/github-dark.mjs';
import githubLight from 'shiki/themes/github-light.mjs';
import { SHIKI_THEMES } from '../../components/shiki-themes.ts';

export interface StyledToken {
  content: string;
  /** Inline style carrying both theme colours as CSS variables. */
  style: string;
}

let highlighter: HighlighterCore | undefined;

/**
 * The tokens of the transcripts highlighted lately, by their commands: `npm run dev` renders a page again
 * at each edit, and its other transcripts, unchanged, are not highlighted again (Shiki was the largest
 * part of our time on a one-page edit). Bounded: the oldest go first.
 */
const recent = new Map<string, readonly StyledToken[][][]>();
const RECENT_MAX = 2_000;

function styleOf(token: ThemedToken): string {
  return Object.entries(token.htmlStyle ?? {})
    .map(([property, value]) => `${property}:${value}`)
    .join(';');
}

/** For each command, its lines of tokens (a command continued with "\" spans several lines). Shared: not to be changed. */
export function highlightCommandsSync(commands: readonly string[]): readonly StyledToken[][][] {
  if (commands.length === 0) return [];
  const key = commands.join('\0');
  const known = recent.get(key);
  if (known !== undefined) {
    recent.delete(key); // the most recent goes last
    recent.set(key, known);
    return known;
  }
  const highlighted = highlightUncached(commands);
  recent.set(key, highlighted);
  if (recent.size > RECENT_MAX) recent.delete(recent.keys().next().value as string);
  return highlighted;
}

function highlightUncached(commands: readonly string[]): StyledToken[][][] {
  highlighter ??= createHighlighterCoreSync({ themes: [githubLight, githubDark], langs: [bash], engine: createJavaScriptRegexEngine() });
  // No time limit per line: Shiki's default (500 ms) counts the grammar's lazy regex compilation of
  // the first line, so on a loaded host a build published some commands half coloured, differently
  // from one build to the next (measured: three runs, three outputs; with no limit, one).
  const { tokens } = highlighter.codeToTokens(commands.join('\n'), { lang: 'bash', themes: SHIKI_THEMES, defaultColor: false, tokenizeTimeLimit: 0 });
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

/** The same, for callers that can wait (kept for the component's signature). */
export async function highlightCommands(commands: readonly string[]): Promise<readonly StyledToken[][][]> {
  return highlightCommandsSync(commands);
}
