// Who imports whom, read from the sources as text (no bundler, no compiler):
// enough to hold the boundaries between the browser (src/), the server
// (sandbox-server/src/), the agent (sandbox-server/agent/) and the contracts
// they share (contracts/).
import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, normalize } from 'node:path';

const SOURCE = /\.(ts|mts|mjs|js|astro)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', '.astro', '.git', '.toolchain', 'test-results', 'bench-results', 'fixtures']);

/** Every source file below `root`, as paths relative to it with `/` separators. */
export function sourceFiles(root: string, dir = ''): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) files.push(...sourceFiles(root, path));
    } else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      files.push(path);
    }
  }
  return files.sort();
}

/** Comments out of the way, so that an example in a comment is not an import. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** The module specifiers a source names: static, re-exports, side-effect and dynamic imports. */
export function importSpecifiers(source: string): string[] {
  const code = withoutComments(source);
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g, // import x from '…', export { x } from '…'
    /\bimport\s*['"]([^'"]+)['"]/g, // import '…'
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // import('…')
  ];
  for (const pattern of patterns) for (const match of code.matchAll(pattern)) found.push(match[1]!);
  return found;
}

export interface Import {
  /** The importing file, relative to the root. */
  from: string;
  /** As written. */
  specifier: string;
  /** For a relative specifier, the file it names relative to the root (query removed); else undefined. */
  target?: string;
  /** For a bare specifier, the package or builtin (`node:fs`, `zod`, `@xterm/xterm`). */
  packageName?: string;
}

const BUILTINS = new Set(builtinModules);

export function isNodeBuiltin(name: string): boolean {
  return name.startsWith('node:') || BUILTINS.has(name);
}

function packageOf(specifier: string): string {
  if (specifier.startsWith('node:')) return specifier.split('/')[0]!;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

export function resolveImport(from: string, specifier: string): Import {
  if (specifier.startsWith('.')) {
    const target = normalize(join(dirname(from), specifier.replace(/\?.*$/, '')))
      .split('\\')
      .join('/');
    return { from, specifier, target };
  }
  return { from, specifier, packageName: packageOf(specifier) };
}

/** The imports of the given files (paths relative to root), read from disk. */
export function importsOf(root: string, files: string[]): Import[] {
  return files.flatMap((file) => importSpecifiers(readFileSync(join(root, file), 'utf8')).map((specifier) => resolveImport(file, specifier)));
}
