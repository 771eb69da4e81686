// Fenced blocks that are pictures, not code: ```mermaid (and {{< mermaid >}},
// turned into that fence) is drawn in the browser by Mermaid, whose prebuilt
// script is published beside the site (site-integration.ts, only when a page
// has a diagram: bundling it would triple the build time) and loaded only by
// pages that hold one (src/client/diagrams.ts); ```math
// (and {{< math >}}) is typeset at build time by KaTeX into MathML, which
// browsers draw without any script or font.
import { createRequire } from 'node:module';
import { escapeHtml } from '../snippets/transcript-html.ts';

/**
 * KaTeX, loaded on the first formula: most courses have none, and loading it cost every build and
 * every start of `npm run dev` about 45 ms (measured at load 7).
 */
let katex: typeof import('katex').default | undefined;
function loadKatex(): typeof import('katex').default {
  katex ??= createRequire(import.meta.url)('katex') as typeof import('katex').default;
  return katex;
}

/** The HTML of a diagram or formula fence; undefined for any other fence. */
/** Where the site publishes Mermaid's script, under the base path. */
export const MERMAID_SCRIPT = '_course/mermaid.min.js';

export function diagramHtml(
  lang: string | null | undefined,
  value: string,
  basePath: string,
  fail: (reason: string, hint: string) => never,
): string | undefined {
  const language = (lang ?? '').toLowerCase();
  if (language === 'mermaid') {
    if (value.trim() === '') fail('the mermaid diagram is empty', 'write the diagram inside, e.g. graph LR; A --> B');
    return `<pre class="mermaid" data-diagram data-mermaid-src="${escapeHtml(basePath + MERMAID_SCRIPT)}">${escapeHtml(value.trim())}</pre>`;
  }
  if (language === 'math') {
    try {
      return `<div class="math-block">${loadKatex().renderToString(value.trim(), { displayMode: true, output: 'mathml', throwOnError: true })}</div>`;
    } catch (error) {
      return fail(
        `the formula cannot be read by KaTeX: ${(error as Error).message.replace(/^KaTeX parse error: /, '')}`,
        'fix the LaTeX (KaTeX supports most of it), e.g. \\frac{a}{b}',
      );
    }
  }
  return undefined;
}
