/**
 * The shortcodes that wrap Markdown — notice, expand, tabs/tab — found in the
 * Markdown tree (mdast), not in the source, so code blocks and inline code are
 * left alone, and paired into nodes that render as our markup.
 *
 * A tag may share a paragraph with other text (the opening tag, text and
 * closing tag written on consecutive lines are one paragraph): the paragraph is
 * split around it. A closing tag written right after a list or a quote is, for
 * Markdown, part of its last item ("lazy continuation"); it is moved back out.
 *
 * Anything else fails with the file, the line and the fix: an unknown
 * shortcode, a bad parameter, a shortcode never closed, a close without an
 * opening or closing another one, a tab outside tabs, a tag inside a heading,
 * a table or a link.
 */
import type { Html, Paragraph, PhrasingContent, Root, RootContent } from 'mdast';
import { ContentError } from '../errors.ts';
import { blockNode, BLOCK_SHORTCODES, INLINE_SHORTCODE_NAMES, type BlockName, type OpenToken } from './block-nodes.ts';
import { cutText, pointIn, trimInline, type Point } from './positions.ts';
import { findTags, parseParams, PLACEHOLDER, TagParams, tagName, tagSample, unescapeTags, closer, type FoundTag } from './tags.ts';

interface Where {
  line: number | undefined;
  column: number | undefined;
}

interface CloseToken extends Where {
  type: 'close';
  name: BlockName;
  delimiter: '<' | '%';
}

type Token = OpenToken | CloseToken;
type Item = { node: RootContent } | { token: Token };

const CONTAINERS = new Set(['blockquote', 'listItem', 'footnoteDefinition']);
const NAMES: Record<string, string> = { listItem: 'list item', blockquote: 'quote', footnoteDefinition: 'footnote' };
const closeSample = (t: { delimiter: '<' | '%'; name: string }) => tagSample(t.delimiter, ` /${t.name} `);

/** What to call the place of a misplaced tag. */
const PLACES: Record<string, string> = {
  heading: 'a heading',
  tableCell: 'a table',
  link: 'a link',
  linkReference: 'a link',
  emphasis: 'emphasised text',
  strong: 'bold text',
  delete: 'struck-through text',
};

const SUPPORTED = () => [...Object.keys(BLOCK_SHORTCODES), ...INLINE_SHORTCODE_NAMES];

/** Turns a found tag into a token, or fails with a helpful message. */
function toToken(tag: FoundTag, where: Where, fail: (reason: string, hint: string) => never): Token | undefined {
  if (tag.inner === undefined) return undefined;
  const { name, closing, rest, selfClosing } = tagName(tag.inner);
  const d = tag.delimiter;
  if (!name) fail(`the shortcode tag ${tag.raw} has no name`, `write ${tagSample(d, ' notice tip ')} … ${tagSample(d, ' /notice ')}`);
  if (!Object.hasOwn(BLOCK_SHORTCODES, name)) {
    if (INLINE_SHORTCODE_NAMES.includes(name)) {
      fail(`the shortcode ${tag.raw} cannot be used here`, `write it in running text or on a line of its own, outside headings, tables and links`);
    }
    fail(
      `unknown shortcode "${name}" (${tag.raw}); supported: ${SUPPORTED()
        .map((n) => `"${n}"`)
        .join(', ')}`,
      `rewrite it in Markdown, or escape it as {{${d}/* ${name} */${closer(d)}}} to show it as text`,
    );
  }
  const block = name as BlockName;
  if (closing) {
    if (rest.trim() !== '') fail(`the closing tag ${tag.raw} takes no parameters`, `write ${closeSample({ delimiter: d, name })}`);
    return { type: 'close', name: block, delimiter: d, ...where };
  }
  const params = parseParams(rest, fail);
  if (params.some((p) => p.name === undefined) && params.some((p) => p.name !== undefined)) {
    fail(
      `the ${name} ${tag.raw} mixes positional and named parameters, which Hugo does not allow`,
      `write either ${tagSample(d, ` ${BLOCK_SHORTCODES[block].positionalExample} `)} or ${tagSample(d, ` ${BLOCK_SHORTCODES[block].namedExample} `)}`,
    );
  }
  const spec: { named: readonly string[]; namedExample: string } = BLOCK_SHORTCODES[block];
  for (const p of params) {
    if (p.name !== undefined && !spec.named.includes(p.name.toLowerCase())) {
      fail(
        `unknown ${name} parameter "${p.name}" in ${tag.raw}; allowed: ${spec.named.join(', ')}`,
        `remove ${p.name}=…, e.g. ${tagSample(d, ` ${spec.namedExample} `)}`,
      );
    }
  }
  return { type: 'open', name: block, params: new TagParams(params), raw: tag.raw, selfClosing, delimiter: d, ...where };
}

export class BlockShortcodes {
  private readonly file: string;
  private ids = 0;
  constructor(file: string) {
    this.file = file;
  }

  fail(reason: string, hint: string, where: Partial<Where> | undefined): never {
    throw new ContentError({ file: this.file, line: where?.line, column: where?.column, reason, hint });
  }

  run(tree: Root): void {
    tree.children = this.match(this.flow(tree.children), undefined).nodes;
    this.finish(tree);
  }

  /** A container's children as a flat list of blocks and tags. */
  private flow(children: RootContent[]): Item[] {
    const items: Item[] = [];
    for (const child of children) {
      if (child.type === 'paragraph') items.push(...this.splitInline(child));
      else if (child.type === 'html') items.push(...this.splitHtmlBlock(child));
      else if (child.type === 'list') {
        const last = child.children.length - 1;
        const trailing: Item[] = [];
        child.children.forEach((li, i) => {
          const closes = this.container(li);
          if (closes.length > 0 && i !== last) this.strayClose(closes[0]!, li.type);
          trailing.push(...closes.map((token) => ({ token })));
        });
        items.push({ node: child }, ...trailing);
      } else if (CONTAINERS.has(child.type) && 'children' in child) {
        const closes = this.container(child as Extract<RootContent, { children: RootContent[] }>);
        items.push({ node: child }, ...closes.map((token) => ({ token })));
      } else {
        items.push({ node: child });
      }
    }
    return items;
  }

  /** Builds the shortcodes inside a list item / quote; returns the closing tags left at its end, to be moved out. */
  private container(node: { type: string; children: RootContent[] }): CloseToken[] {
    const { nodes, trailing } = this.match(this.flow(node.children), node.type);
    node.children = nodes as typeof node.children;
    return trailing;
  }

  private strayClose(token: CloseToken, containerType: string | undefined): never {
    const inside = containerType ? ` (it is inside a ${NAMES[containerType] ?? containerType}, and no ${token.name} is open there)` : '';
    this.fail(
      `the closing tag ${closeSample(token)} has no matching opening ${tagSample(token.delimiter, ` ${token.name} … `)} before it${inside}`,
      'add the opening tag before it, or remove it; a closing tag that ends a list or a quote must come right after its last line',
      token,
    );
  }

  private build(open: OpenToken, children: RootContent[], end: Point | undefined, parentName: string | undefined): RootContent {
    return blockNode(open, children, end, {
      parentName,
      nextId: () => ++this.ids,
      fail: (reason, hint) => this.fail(reason, hint, open),
    });
  }

  /** Pairs opening and closing tags into shortcode nodes. */
  private match(items: Item[], containerType: string | undefined): { nodes: RootContent[]; trailing: CloseToken[] } {
    const top: RootContent[] = [];
    const stack: Array<{ open: OpenToken; children: RootContent[] }> = [];
    const trailing: CloseToken[] = [];
    const target = () => stack.at(-1)?.children ?? top;
    for (const item of items) {
      if ('node' in item) {
        if (trailing.length > 0) this.strayClose(trailing[0]!, containerType);
        target().push(item.node);
        continue;
      }
      const t = item.token;
      if (t.type === 'open') {
        if (trailing.length > 0) this.strayClose(trailing[0]!, containerType);
        if (t.selfClosing) target().push(this.build(t, [], undefined, stack.at(-1)?.open.name));
        else stack.push({ open: t, children: [] });
      } else if (stack.length > 0) {
        const { open, children } = stack.at(-1)!;
        if (open.name !== t.name) {
          this.fail(
            `the closing tag ${closeSample(t)} closes a ${t.name}, but the ${open.name} opened at line ${open.line ?? '?'} is still open`,
            `close the ${open.name} first with ${closeSample(open)}`,
            t,
          );
        }
        stack.pop();
        const end = t.line !== undefined ? { line: t.line, column: t.column ?? 1 } : undefined;
        target().push(this.build(open, children, end, stack.at(-1)?.open.name));
      } else if (containerType !== undefined) {
        trailing.push(t);
      } else {
        this.strayClose(t, undefined);
      }
    }
    const unclosed = stack[0];
    if (unclosed) {
      const inside = containerType ? ` inside this ${NAMES[containerType] ?? containerType}` : '';
      const sample = closeSample(unclosed.open);
      this.fail(
        `the ${unclosed.open.name} ${unclosed.open.name === 'notice' ? `"${unclosed.open.params.get('style', 0) ?? ''}" ` : ''}opened here is never closed${inside}`,
        containerType
          ? `add ${sample} inside the same ${NAMES[containerType] ?? containerType}, indented like the opening tag`
          : `add ${sample} on its own line after the ${unclosed.open.name}'s content`,
        unclosed.open,
      );
    }
    return { nodes: top, trailing };
  }

  /** Splits a paragraph around the tags it contains. */
  private splitInline(para: Paragraph): Item[] {
    const kids = para.children;
    let flat = '';
    const spans: Array<{ start: number; end: number }> = [];
    for (const k of kids) {
      const start = flat.length;
      // Inline code stays visible so that a backquoted parameter (Hugo's raw string) reads as one,
      // but no tag may start inside it.
      flat += k.type === 'text' || k.type === 'html' ? k.value : k.type === 'inlineCode' ? `\`${k.value}\`` : PLACEHOLDER;
      spans.push({ start, end: flat.length });
    }
    if (!flat.includes('{{')) return [{ node: para }];
    const locate = (index: number): Where => {
      const i = spans.findIndex((s) => index >= s.start && index < s.end);
      const k = kids[i];
      if (k && (k.type === 'text' || k.type === 'html')) {
        const p = pointIn(k, index - spans[i]!.start);
        return { line: p?.line, column: p?.column };
      }
      return { line: para.position?.start.line, column: para.position?.start.column };
    };
    const inText = (index: number) => {
      const k = kids[spans.findIndex((s) => index >= s.start && index < s.end)];
      return k?.type === 'text' || k?.type === 'html';
    };
    const tags = findTags(flat, (reason, hint, index) => this.fail(reason, hint, locate(index)), inText).filter((t) => t.inner !== undefined);
    if (tags.length === 0) return [{ node: para }];

    const slice = (from: number, to: number): PhrasingContent[] => {
      const out: PhrasingContent[] = [];
      kids.forEach((k, i) => {
        const { start, end } = spans[i]!;
        if (end <= from || start >= to) return;
        if (k.type === 'text' || k.type === 'html') {
          const a = Math.max(from, start) - start;
          const b = Math.min(to, end) - start;
          if (a === 0 && b === end - start) out.push(k);
          else out.push(cutText(k, a, b));
        } else if (start >= from && end <= to) {
          out.push(k);
        }
      });
      return out;
    };

    const items: Item[] = [];
    const pushPara = (from: number, to: number) => {
      const inline = trimInline(slice(from, to));
      if (inline.length === 0) return;
      const first = inline[0]!.position?.start;
      const last = inline.at(-1)!.position?.end;
      items.push({ node: { type: 'paragraph', children: inline, ...(first && last ? { position: { start: first, end: last } } : {}) } });
    };
    let at = 0;
    for (const tag of tags) {
      pushPara(at, tag.start);
      const where = locate(tag.start);
      const token = toToken(tag, where, (reason, hint) => this.fail(reason, hint, where));
      if (token) items.push({ token });
      at = tag.end;
    }
    pushPara(at, flat.length);
    return items;
  }

  /** An HTML block holding tags: split into HTML pieces and tags. */
  private splitHtmlBlock(node: Html): Item[] {
    if (!node.value.includes('{{')) return [{ node }];
    const where = (index: number): Where => {
      const p = pointIn(node, index);
      return { line: p?.line, column: p?.column };
    };
    const tags = findTags(node.value, (reason, hint, index) => this.fail(reason, hint, where(index))).filter((t) => t.inner !== undefined);
    if (tags.length === 0) return [{ node }];
    const items: Item[] = [];
    const piece = (a: number, b: number) => {
      const value = node.value.slice(a, b).trim();
      if (value) items.push({ node: { type: 'html', value } });
    };
    let at = 0;
    for (const tag of tags) {
      piece(at, tag.start);
      const w = where(tag.start);
      const token = toToken(tag, w, (reason, hint) => this.fail(reason, hint, w));
      if (token) items.push({ token });
      at = tag.end;
    }
    piece(at, node.value.length);
    return items;
  }

  /** Last pass: unescape `{{</* … *\/>}}`, and fail on any tag left where a shortcode cannot go. */
  private finish(node: { type: string; children?: unknown[]; value?: unknown }, inside?: string): void {
    if (typeof node.value === 'string' && 'value' in node) {
      const n = node as { type: string; value: string; position?: { start: { line: number; column: number } } };
      if (n.type === 'text' || n.type === 'html') {
        const tags = findTags(n.value, (reason, hint, index) => this.fail(reason, hint, pointIn(n, index)));
        const real = tags.find((t) => t.inner !== undefined);
        if (real) {
          const name = tagName(real.inner!).name ?? '';
          if (!Object.hasOwn(BLOCK_SHORTCODES, name)) {
            toToken(real, {} as Where, (reason, hint) => this.fail(reason, hint, pointIn(n, real.start)));
          }
          this.fail(
            `the shortcode ${real.raw} cannot be used inside ${inside ?? 'this element'}; a ${name} must start on its own line`,
            `put ${real.raw} on a line of its own, outside ${inside ?? 'that element'}`,
            pointIn(n, real.start),
          );
        }
      }
      if (n.type === 'text' || n.type === 'html' || n.type === 'code' || n.type === 'inlineCode') n.value = unescapeTags(n.value);
      return;
    }
    if (!Array.isArray(node.children)) return;
    const here = PLACES[node.type] ?? inside;
    for (const c of node.children) this.finish(c as { type: string }, here);
  }
}
