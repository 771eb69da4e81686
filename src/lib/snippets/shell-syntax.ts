// Just enough of bash's grammar to know whether a command typed so far is
// finished, the way bash knows it when it shows its "> " continuation prompt:
// a "\" at the end, an open quote, a here-document before its delimiter, a
// pipe or && at the end, an open ( or { group, or a compound command
// (if/for/while/until/case/select) before its closing word.
//
// The runnable snippets type one whole command at a time and wait for it to
// finish (OSC 133): a command cut in the middle would never finish.

const OPENERS: Record<string, string> = { if: 'fi', for: 'done', while: 'done', until: 'done', select: 'done', case: 'esac' };
const CLOSERS = new Set(['fi', 'done', 'esac']);

/** True when bash would wait for more lines after `text` (one command, possibly on several lines). */
export function commandIsIncomplete(text: string): boolean {
  const lines = text.split('\n');
  const pendingHeredocs: Array<{ word: string; tabs: boolean }> = [];
  const stack: string[] = [];
  let quote: '"' | "'" | '`' | undefined;
  let lastLineContinues = false;

  for (const line of lines) {
    if (pendingHeredocs.length > 0) {
      const h = pendingHeredocs[0]!;
      if ((h.tabs ? line.replace(/^\t+/, '') : line) === h.word) pendingHeredocs.shift();
      lastLineContinues = false;
      continue;
    }
    let word = '';
    let afterOperator = true; // at a command's start: keywords count only there
    const endWord = () => {
      if (word === '') return;
      if (afterOperator && OPENERS[word] !== undefined) stack.push(OPENERS[word]!);
      else if (afterOperator && CLOSERS.has(word) && stack.at(-1) === word) stack.pop();
      else if (afterOperator && word === '{') stack.push('}');
      else if (afterOperator && word === '}' && stack.at(-1) === '}') stack.pop();
      afterOperator = ['then', 'do', 'else', 'elif', '{', '!', 'time'].includes(word);
      word = '';
    };
    lastLineContinues = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (quote !== undefined) {
        if (c === '\\' && quote !== "'") i++;
        else if (c === quote) quote = undefined;
        continue;
      }
      if (c === '\\') {
        if (i === line.length - 1) lastLineContinues = true;
        i++;
        word += 'x';
        continue;
      }
      if (c === '"' || c === "'" || c === '`') {
        quote = c;
        word += 'x';
        continue;
      }
      if (c === '#' && word === '') break; // a comment to the end of the line
      if (c === '<' && line[i + 1] === '<' && line[i + 2] !== '<') {
        const m = /^<<(-?)\s*(['"]?)([\w.-]+)\2/.exec(line.slice(i));
        if (m) {
          endWord();
          pendingHeredocs.push({ word: m[3]!, tabs: m[1] === '-' });
          i += m[0].length - 1;
          continue;
        }
      }
      if (c === '(' && stack.at(-1) !== 'esac') {
        endWord();
        stack.push(')');
        afterOperator = true;
        continue;
      }
      if (c === ')' && stack.at(-1) === ')') {
        endWord();
        stack.pop();
        continue;
      }
      if (/\s/.test(c)) {
        endWord();
        continue;
      }
      if (c === ';' || c === '&' || c === '|') {
        endWord();
        afterOperator = true;
        continue;
      }
      word += c;
    }
    endWord();
    // A line ending with | or && or || goes on (bash waits for the rest of the pipeline).
    if (quote === undefined && /(\|\||&&|\|)\s*$/.test(line.replace(/\s+#.*$/, ''))) lastLineContinues = true;
  }
  return quote !== undefined || pendingHeredocs.length > 0 || stack.length > 0 || lastLineContinues;
}
