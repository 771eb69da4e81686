// Astro 7 wraps every rendered content entry (`file.md?astroPropagatedAssets`) in a
// small module that starts with the directive "use astro:head-inject". Nothing reads
// that directive any more: head propagation is decided from the module id (the
// `astroPropagatedAssets` flag, see astro/dist/vite-plugin-head). Rolldown, which
// drops unknown module-level directives when bundling, rightly warns about it
// (MODULE_LEVEL_DIRECTIVE), once per Markdown file: noise that teaches an author
// to skip the build output where their own file:line errors appear
// (withastro/astro issue 18087).
//
// This plugin removes exactly that statement from exactly those modules before
// Rolldown parses them. No log is filtered: any other directive, in any other
// module, still warns. When Astro stops emitting it, the plugin does nothing.
import type { Plugin } from 'vite';

const PROPAGATED_ENTRY = /[?&]astroPropagatedAssets(?:&|=|$)/;
const DEAD_DIRECTIVE = /^(\s*)(["'])use astro:head-inject\2;?/;

/** The module's code without its leading "use astro:head-inject" directive, or undefined when it has none. */
export function withoutHeadInjectDirective(code: string): string | undefined {
  const match = DEAD_DIRECTIVE.exec(code);
  if (!match) return undefined;
  // Same number of lines and columns before the rest of the module: positions stay true.
  return match[1] + ' '.repeat(match[0].length - match[1]!.length) + code.slice(match[0].length);
}

export function dropHeadInjectDirective(): Plugin {
  return {
    name: 'course:drop-head-inject-directive',
    // After Astro's own pre plugin has produced the wrapper module.
    enforce: 'post',
    transform: {
      filter: { id: PROPAGATED_ENTRY },
      handler(code) {
        const cleaned = withoutHeadInjectDirective(code);
        return cleaned === undefined ? undefined : { code: cleaned, map: null };
      },
    },
  };
}
