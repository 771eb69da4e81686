/**
 * The shortcodes that wrap Markdown (notice, expand, tabs/tab) and GitHub
 * callouts, as plugins over one transform (shortcodes.ts):
 *
 *   {{% notice tip %}} … {{% /notice %}}                 Learn
 *   {{% notice warning "Mon titre" %}} … {{% /notice %}}  positional title (Relearn; a 3rd positional, the icon, is ignored)
 *   {{< notice tip >}} … {{< /notice >}}                 the other delimiter (both render Markdown inside)
 *   {{% notice style="caution" title="Titre" color="teal" expanded="false" %}}  Relearn's named parameters
 *   {{%/* notice tip *\/%}}                               Hugo's escape: shows the shortcode as text
 *
 * - `remarkHugoShortcodes`: a unified/remark plugin (remark-parse → this → remark-rehype);
 * - `satteriHugoShortcodes`: the same as a Sätteri mdast plugin (the course site
 *   itself uses markdown-plugin.ts, which also runs the source pass).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Root } from 'mdast';
import type { MdastPluginDefinition } from 'satteri';
import type { Plugin } from 'unified';
import type { VFile } from 'vfile';
import { BLOCK_SHORTCODES, INLINE_SHORTCODE_NAMES } from './shortcodes/block-nodes.ts';
import { transformHugoShortcodes as transformTree } from './shortcodes.ts';

/** The shortcodes the course understands. */
export const SUPPORTED_SHORTCODES = [...Object.keys(BLOCK_SHORTCODES), ...INLINE_SHORTCODE_NAMES] as const;

export interface HugoShortcodesOptions {
  /**
   * How the file is named in errors. Default: its path relative to the current
   * directory (e.g. "content/docker_linux/namespaces.md").
   */
  displayPath?: (absolutePath: string | undefined) => string;
}

/** The file as named in errors: relative to the current directory when under it. */
function defaultDisplayPath(absolutePath: string | undefined): string {
  if (!absolutePath) return '<markdown>';
  const rel = path.relative(process.cwd(), absolutePath);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : absolutePath;
}

/**
 * Replaces the Markdown-wrapping shortcodes of a tree (in place).
 * @param file the file as named in errors, e.g. "content/docker_linux/namespaces.md".
 * @throws ContentError with file, line and the shortcode's name.
 */
export function transformHugoShortcodes(tree: Root, file: string): Root {
  return transformTree(tree, { file });
}

/** The unified (remark) plugin. */
export const remarkHugoShortcodes: Plugin<[HugoShortcodesOptions?], Root> = (options) => {
  const display = options?.displayPath ?? defaultDisplayPath;
  return (tree: Root, file: VFile) => {
    transformHugoShortcodes(tree, display(file.path));
  };
};

/** Deep copy of a Sätteri tree as plain mdast (without its internal `_` fields). */
export function plainTree(root: unknown): Root {
  return JSON.parse(JSON.stringify(root, (key, value: unknown) => (key.startsWith('_') ? undefined : value))) as Root;
}

/** The same transform as a Sätteri mdast plugin. Markdown only: MDX pages use `<Notice>`. */
export function createSatteriHugoShortcodes(options?: HugoShortcodesOptions): MdastPluginDefinition {
  const display = options?.displayPath ?? defaultDisplayPath;
  return {
    name: 'hugo-shortcodes',
    options: { position: true },
    before(root, ctx) {
      if (ctx.sourceFormat !== 'markdown' || !/\{\{[<%]|\[!/.test(ctx.source)) return;
      const tree = plainTree(root);
      transformHugoShortcodes(tree, display(ctx.fileURL ? fileURLToPath(ctx.fileURL) : undefined));
      ctx.replaceNode(root, tree as never);
    },
  };
}

export const satteriHugoShortcodes: MdastPluginDefinition = createSatteriHugoShortcodes();
