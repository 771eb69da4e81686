// The fenced code blocks of a Markdown source with their line numbers, for
// `npm run check:content` (which reports on a course without building it).
// Enough of CommonMark for this: ``` or ~~~ fences, indented inside lists or
// quotes, closed by the same character at least as many times; the front
// matter is skipped.

export interface ScannedFence {
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  meta: string;
  value: string;
}

export function scanFences(source: string): ScannedFence[] {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const out: ScannedFence[] = [];
  let i = 0;
  const fm = /^(---|\+\+\+)\s*$/.exec(lines[0] ?? '');
  if (fm) {
    i = 1;
    while (i < lines.length && lines[i]!.trim() !== fm[1]) i++;
    i++;
  }
  for (; i < lines.length; i++) {
    const open = /^((?:\s*>)*\s*(?:(?:[-*+]|\d+[.)])\s+)?)(`{3,}|~{3,})\s*([^\s{`]*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.replace(/[^\s]/g, ' ').length;
    const fence = open[2]!;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!.replace(/^(\s*>)+ ?/, '');
      if (new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`).test(l)) break;
      body.push(l.slice(Math.min(indent, /^\s*/.exec(l)![0].length)));
    }
    out.push({ line: i + 1, lang: open[3]!, meta: open[4]!.trim(), value: body.join('\n') });
    i = j;
  }
  return out;
}
