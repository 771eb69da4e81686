/**
 * The Learn/Relearn shortcodes of a Markdown page, in two passes:
 *
 * 1. in the source, before parsing (shortcodes/inline-shortcodes.ts): the ones
 *    that stand for a value or a piece of HTML — ref, relref, siteparam, param,
 *    icon, badge, button, figure, youtube, include, children, attachments —
 *    and the ones whose content is not Markdown — mermaid, math, highlight;
 * 2. in the tree (shortcodes/block-shortcodes.ts): the ones that wrap
 *    Markdown — notice, expand, tabs, tab — and GitHub's `> [!NOTE]` callouts
 *    (shortcodes/callouts.ts).
 *
 * Every bad use fails the build with the file, the line and the fix.
 */
import type { Root } from 'mdast';
import { BlockShortcodes } from './shortcodes/block-shortcodes.ts';
import { transformCallouts } from './shortcodes/callouts.ts';
import { InlineShortcodes, type InlineShortcodeContext } from './shortcodes/inline-shortcodes.ts';

export type ShortcodeContext = InlineShortcodeContext;

/** Pass 1: the source with its value shortcodes replaced (the same string when it has none). */
export function preprocessShortcodes(source: string, context: ShortcodeContext): string {
  if (!/\{\{[<%]/.test(source)) return source;
  return new InlineShortcodes(context).run(source);
}

/** Pass 2: the Markdown-wrapping shortcodes and callouts of a parsed tree, in place. */
export function transformHugoShortcodes(tree: Root, context: { file: string }): Root {
  transformCallouts(tree);
  new BlockShortcodes(context.file).run(tree);
  return tree;
}
