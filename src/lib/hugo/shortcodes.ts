/**
 * The Learn/Relearn shortcodes of a Markdown page, replaced in its tree.
 * (Entry point of the shortcode layer; the notice pairing lives in remark-shortcodes.ts.)
 */
import type { Root } from 'mdast';
import { transformHugoShortcodes as transformNotices } from './remark-shortcodes.ts';

/** What the shortcodes of one page may need to know. */
export interface ShortcodeContext {
  /** The page's file as named in errors. */
  file: string;
}

export function transformHugoShortcodes(tree: Root, context: ShortcodeContext): Root {
  return transformNotices(tree, context.file);
}
