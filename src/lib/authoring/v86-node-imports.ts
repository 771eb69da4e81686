// v86's ES build (node_modules/v86/build/libv86.mjs) reaches for Node's crypto,
// fs and perf_hooks only when it runs under Node: each use sits behind a
// `typeof process` / `typeof require` check. In the browser machine's worker
// those branches never run, yet Vite resolves the five imports and warns, on
// every build, that it externalized each one for the browser: noise an author
// learns to skip, right where their own file:line errors appear.
//
// This plugin answers exactly those imports, from that one file, with an empty
// module: what the browser gets is the same (nothing to load), and the build
// says nothing. A Node import anywhere else in browser code still warns.
import type { Plugin } from 'vite';

const V86_LIBRARY = /[\\/]node_modules[\\/]v86[\\/]build[\\/]libv86\.mjs$/;
const NODE_ONLY = new Set(['crypto', 'node:crypto', 'fs', 'node:fs/promises', 'perf_hooks']);
const EMPTY = '\0course:v86-node-only';

/** True for one of v86's Node-only imports, made by v86's library itself. */
export function isV86NodeOnlyImport(id: string, importer: string | undefined): boolean {
  return importer !== undefined && NODE_ONLY.has(id) && V86_LIBRARY.test(importer);
}

export function v86NodeOnlyImports(): Plugin {
  return {
    name: 'course:v86-node-only-imports',
    enforce: 'pre',
    resolveId(id, importer) {
      return isV86NodeOnlyImport(id, importer) ? EMPTY : undefined;
    },
    load(id) {
      return id === EMPTY ? 'export default {};' : undefined;
    },
  };
}
