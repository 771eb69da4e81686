/**
 * GitHub's callouts, which Relearn renders as notices:
 *
 *   > [!NOTE]            > [!TIP] Un titre à soi
 *   > Le texte.          > Le texte.
 *
 * NOTE, TIP, IMPORTANT, WARNING, CAUTION (and Relearn's INFO) become the
 * notice of the same kind; `[!NOTE]-` / `[!NOTE]+` make it foldable (closed /
 * open), as Relearn does. A quote whose first line is anything else stays a quote.
 */
import type { Blockquote, Root, RootContent } from 'mdast';
import { isNoticeKind, noticeAsideProperties, noticeHeaderHast, resolveNotice } from '../../notice-kinds.ts';

const MARKER = /^\[!([A-Za-z]+)\]([+-]?)[ \t]*([^\n]*)(?:\n|$)/;

function callout(quote: Blockquote): RootContent | undefined {
  const first = quote.children[0];
  if (first?.type !== 'paragraph') return undefined;
  const text = first.children[0];
  if (text?.type !== 'text') return undefined;
  const m = MARKER.exec(text.value);
  if (!m) return undefined;
  const kind = m[1]!.toLowerCase();
  if (!isNoticeKind(kind)) return undefined;
  const rest = text.value.slice(m[0].length);
  const paragraphChildren =
    rest === '' ? first.children.slice(1).filter((c, i) => !(i === 0 && c.type === 'break')) : [{ ...text, value: rest }, ...first.children.slice(1)];
  const body = [...(paragraphChildren.length > 0 ? [{ ...first, children: paragraphChildren }] : []), ...quote.children.slice(1)] as RootContent[];
  const n = resolveNotice(kind, m[3]!.trim() || undefined);
  const fold = m[2];
  const header = {
    type: 'hugoNoticeHeader',
    data: { hName: fold ? 'summary' : 'div', hProperties: { className: ['notice__header'] }, hChildren: noticeHeaderHast(n).children },
    children: [],
  };
  const content = { type: 'hugoNoticeBody', data: { hName: 'div', hProperties: { className: ['notice__body'] } }, children: body };
  const inner = fold
    ? [{ type: 'hugoNoticeFold', data: { hName: 'details', hProperties: { className: ['notice__fold'], open: fold === '+' } }, children: [header, content] }]
    : [header, content];
  return {
    type: 'hugoNotice',
    data: { hName: 'aside', hProperties: noticeAsideProperties(n) },
    children: inner,
    position: quote.position,
  } as unknown as RootContent;
}

export function transformCallouts(tree: Root | { children: RootContent[] }): void {
  tree.children = tree.children.map((node) => {
    if (node.type === 'blockquote') {
      const notice = callout(node);
      if (notice) {
        transformCallouts(notice as unknown as { children: RootContent[] });
        return notice;
      }
    }
    if ('children' in node && Array.isArray(node.children)) transformCallouts(node as { children: RootContent[] });
    return node;
  });
}
