// The root filesystem recipe, read from sandbox-server/rootfs/:
//   packages.txt   Debian packages added to a minbase system
//   files/         copied in verbatim (owner root, mode as in the repository)
//   setup.sh       run inside the new tree once the files are in
// Its hash names the build in the cache: the same recipe gives the same name,
// any change gives a new build.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bump when the build procedure itself changes in a way the recipe files do not show. */
const BUILD_FORMAT = 1;

export const DEFAULT_RECIPE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../rootfs');

export interface RecipeFile {
  /** Path inside the root filesystem, without a leading slash. */
  path: string;
  source: string;
  mode: number;
}

export interface Recipe {
  suite: string;
  variant: string;
  packages: string[];
  files: RecipeFile[];
  setupScript: string;
  /** Names the debootstrap stage: suite, variant and packages only. */
  baseHash: string;
  /** Names the finished root filesystem: everything above. */
  hash: string;
}

export function readRecipe(dir = DEFAULT_RECIPE_DIR): Recipe {
  const suite = 'bookworm';
  const variant = 'minbase';
  const packages = parsePackageList(readFileSync(join(dir, 'packages.txt'), 'utf8'));
  const filesDir = join(dir, 'files');
  const files = listFiles(filesDir).map((source) => ({
    path: relative(filesDir, source),
    source,
    // Only the executable bit survives git; the rest is decided by setup.sh.
    mode: statSync(source).mode & 0o111 ? 0o755 : 0o644,
  }));
  const setupScript = readFileSync(join(dir, 'setup.sh'), 'utf8');
  const baseHash = hashOf({ BUILD_FORMAT, suite, variant, packages });
  const hash = hashOf({
    baseHash,
    files: files.map((file) => [file.path, file.mode, hashOf(readFileSync(file.source))]),
    setupScript,
  });
  return { suite, variant, packages, files, setupScript, baseHash, hash };
}

export function parsePackageList(text: string): string[] {
  const packages = new Set<string>();
  for (const [index, line] of text.split('\n').entries()) {
    const name = line.replace(/#.*/, '').trim();
    if (!name) continue;
    if (!/^[a-z0-9][a-z0-9+.-]+$/.test(name)) {
      throw new Error(`packages.txt line ${index + 1}: "${name}" is not a Debian package name`);
    }
    packages.add(name);
  }
  return [...packages].sort();
}

function listFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listFiles(path));
    else if (entry.isFile()) found.push(path);
  }
  return found.sort();
}

function hashOf(value: unknown): string {
  const data = Buffer.isBuffer(value) ? value : JSON.stringify(value);
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}
