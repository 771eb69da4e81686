/**
 * Hugo notice shortcodes in Markdown pages, turned into the notice markup of
 * notice-kinds.ts (the same HTML as the `<Notice>` component).
 *
 * Accepted, as Hugo's Learn and Relearn themes accept them:
 *
 *   {{% notice tip %}} … {{% /notice %}}                 Learn
 *   {{% notice warning "Mon titre" %}} … {{% /notice %}}  positional title (Relearn; a 3rd positional, the icon, is ignored)
 *   {{< notice tip >}} … {{< /notice >}}                 the other delimiter (both render Markdown inside)
 *   {{% notice style="caution" title="Titre" %}} …       Relearn's named parameters (style, title, icon)
 *   {{%/* notice tip *\/%}}                               Hugo's escape: shows the shortcode as text
 *
 * with notices nested in notices, and any Markdown inside (lists, code, …).
 * Kinds: note, info, tip, warning, caution, important (case does not matter).
 *
 * Anything else fails the build with the file, the line and the shortcode's
 * name: an unknown shortcode, an unknown kind, a notice never closed, a close
 * without an opening, a notice that cannot be placed (inside a heading, a table,
 * a link…). Nothing is dropped silently.
 *
 * How: the shortcode tags are found in the Markdown tree (mdast), not in the
 * source, so code blocks and inline code are left alone. A tag may share a
 * paragraph with other text (the opening tag, text and closing tag written on
 * consecutive lines are one paragraph): the paragraph is split around it. A
 * closing tag written right after a list or a quote is, for Markdown, part of
 * its last item ("lazy continuation"); it is moved back out.
 *
 * Two entry points over one transform:
 * - `remarkHugoShortcodes`: a unified/remark plugin (remark-parse → this → remark-rehype);
 * - `satteriHugoShortcodes`: the same as a Sätteri mdast plugin, for Astro 7's
 *   default Markdown processor: `markdown: { processor: satteri({ mdastPlugins: [satteriHugoShortcodes] }) }`
 *   with `satteri` from '@astrojs/markdown-satteri'.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Html, Paragraph, PhrasingContent, Root, RootContent, Text } from 'mdast';
import type { Plugin } from 'unified';
import type { VFile } from 'vfile';
import type { MdastPluginDefinition } from 'satteri';
import {
  NOTICE_KIND_NAMES,
  isNoticeKind,
  noticeAsideProperties,
  noticeHeaderHast,
  resolveNotice,
  type NoticeKind,
} from '../notice-kinds.ts';
import { ContentError } from './errors.ts';

/** The shortcodes this plugin knows. */
export const SUPPORTED_SHORTCODES = ['notice'] as const;
/** Named parameters of Relearn's notice. `icon` is accepted and ignored: the icon comes from the kind. */
const NOTICE_NAMED_PARAMS = ['style', 'title', 'icon'] as const;

export interface HugoShortcodesOptions {
  /**
   * How the file is named in errors. Default: its path relative to the current
   * directory (e.g. "content/docker_linux/namespaces.md").
   */
  displayPath?: (absolutePath: string | undefined) => string;
}

// ── Tags ────────────────────────────────────────────────────────────────────

type Delimiter = '<' | '%';

interface Where {
  line: number | undefined;
  column: number | undefined;
}

interface OpenToken extends Where {
  type: 'open';
  kind: NoticeKind;
  title: string | undefined;
  selfClosing: boolean;
  delimiter: Delimiter;
}

interface CloseToken extends Where {
  type: 'close';
  delimiter: Delimiter;
}

type Token = OpenToken | CloseToken;

/** A tag found in a string: a shortcode tag, or an escaped one (`{{</* x *\/>}}`) that stays text. */
interface FoundTag {
  start: number;
  end: number;
  /** The tag as written, for messages. */
  raw: string;
  delimiter: Delimiter;
  /** What is between the delimiters, for a real tag; undefined for an escaped one. */
  inner: string | undefined;
}

/** Stands for a non-text node in a paragraph's flattened text: no tag may span it. */
const PLACEHOLDER = '\uFFFC';

/** The character before `}}` that closes a tag opened with `{{<` or `{{%`. */
const closer = (d: Delimiter) => (d === '<' ? '>' : '%');
const tagSample = (d: Delimiter, inner: string) => `{{${d}${inner}${closer(d)}}}`;
const CLOSE_HINT = (d: Delimiter) => tagSample(d, ' /notice ');

/**
 * Finds shortcode tags in `s`. Calls `fail(reason, hint, index)` for a tag that
 * is never closed or contains Markdown formatting. `startsTag(index)` may
 * refuse a `{{` (one inside inline code, for instance).
 */
function findTags(
  s: string,
  fail: (reason: string, hint: string, index: number) => never,
  startsTag: (index: number) => boolean = () => true,
): FoundTag[] {
  const out: FoundTag[] = [];
  let from = 0;
  for (;;) {
    const start = s.indexOf('{{', from);
    if (start === -1) return out;
    const d = s[start + 2];
    if ((d !== '<' && d !== '%') || !startsTag(start)) {
      from = start + 2;
      continue;
    }
    const close = `${closer(d)}}}`;
    // Escaped form: {{</* … */>}} is shown as {{< … >}}.
    const escaped = /^\s*\/\*/.exec(s.slice(start + 3));
    if (escaped) {
      const commentEnd = s.indexOf('*/', start + 3 + escaped[0].length);
      const after = commentEnd === -1 ? null : /^\s*/.exec(s.slice(commentEnd + 2));
      if (commentEnd !== -1 && after && s.startsWith(close, commentEnd + 2 + after[0].length)) {
        const end = commentEnd + 2 + after[0].length + close.length;
        out.push({ start, end, raw: s.slice(start, end), delimiter: d, inner: undefined });
        from = end;
        continue;
      }
    }
    const end = s.indexOf(close, start + 3);
    const placeholder = s.indexOf(PLACEHOLDER, start + 3);
    if (end === -1) {
      const name = /^\s*\/?\s*([\w./-]+)/.exec(s.slice(start + 3))?.[1];
      fail(
        `the shortcode tag ${name ? `"${name}" ` : ''}opened with {{${d} is never closed with ${close}`,
        `end the tag on the same line: ${tagSample(d, ` ${name ?? 'notice tip'} `)}`,
        start,
      );
    }
    if (placeholder !== -1 && placeholder < end) {
      fail(
        'a shortcode tag may not contain Markdown formatting (emphasis, code, links…)',
        `write its parameters as plain text, e.g. ${tagSample(d, ' notice tip "Mon titre" ')}`,
        start,
      );
    }
    out.push({ start, end: end + close.length, raw: s.slice(start, end + close.length), delimiter: d, inner: s.slice(start + 3, end) });
    from = end + close.length;
  }
}

/** Hugo's escaped tags shown as text: `{{</* notice *\/>}}` → `{{< notice >}}`. */
function unescapeTags(s: string): string {
  if (!s.includes('{{')) return s;
  return s.replace(/\{\{([<%])\s*\/\*([\s\S]*?)\*\/\s*([>%])\}\}/g, (all, open: string, inner: string, closeD: string) =>
    closer(open as Delimiter) === closeD ? `{{${open}${inner}${closeD}}}` : all,
  );
}

const QUOTES: Record<string, string> = { '"': '"', '`': '`', '“': '”', '„': '“', '«': '»', '‘': '’' };

interface Param {
  name: string | undefined;
  value: string;
}

/** Hugo's shortcode parameters: positional or named (`key=value`), values bare or quoted. */
function parseParams(s: string, fail: (reason: string, hint: string) => never): Param[] {
  const params: Param[] = [];
  let i = 0;
  const readValue = (): string => {
    const q = s[i]!;
    const closeQ = QUOTES[q];
    if (closeQ) {
      let value = '';
      i++;
      while (i < s.length && s[i] !== closeQ) {
        if (q === '"' && s[i] === '\\' && i + 1 < s.length) i++;
        value += s[i];
        i++;
      }
      if (i >= s.length) fail(`a parameter opened with ${q} is never closed with ${closeQ}`, `close the quote: ${q}…${closeQ}`);
      i++;
      return q === '«' ? value.replace(/^[\s\u00a0\u202f]+|[\s\u00a0\u202f]+$/g, '') : value;
    }
    const m = /^[^\s]+/.exec(s.slice(i))!;
    i += m[0].length;
    return m[0];
  };
  for (;;) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (i >= s.length) return params;
    const named = /^([A-Za-z_][\w-]*)=/.exec(s.slice(i));
    if (named) {
      i += named[0].length;
      if (i >= s.length || /\s/.test(s[i]!)) fail(`the parameter ${named[1]}= has no value`, `write ${named[1]}="…"`);
      params.push({ name: named[1], value: readValue() });
    } else {
      params.push({ name: undefined, value: readValue() });
    }
  }
}

/** Turns a found tag into a token, or fails with a helpful message. */
function toToken(tag: FoundTag, where: Where, fail: (reason: string, hint: string) => never): Token | undefined {
  if (tag.inner === undefined) return undefined;
  let t = tag.inner.trim();
  const closing = t.startsWith('/');
  if (closing) t = t.slice(1).trim();
  const selfClosing = !closing && t.endsWith('/');
  if (selfClosing) t = t.slice(0, -1).trim();
  const name = /^[\w./-]+/.exec(t)?.[0];
  const d = tag.delimiter;
  if (!name) {
    fail(`the shortcode tag ${tag.raw} has no name`, `write ${tagSample(d, ' notice tip ')} … ${CLOSE_HINT(d)}`);
  }
  if (!(SUPPORTED_SHORTCODES as readonly string[]).includes(name)) {
    fail(
      `unknown shortcode "${name}" (${tag.raw}); only ${SUPPORTED_SHORTCODES.map((n) => `"${n}"`).join(', ')} is supported`,
      `rewrite it in Markdown, or escape it as {{${d}/* ${name} */${closer(d)}}} to show it as text`,
    );
  }
  if (closing) {
    if (t.slice(name.length).trim() !== '') fail(`the closing tag ${tag.raw} takes no parameters`, `write ${CLOSE_HINT(d)}`);
    return { type: 'close', delimiter: d, ...where };
  }

  const params = parseParams(t.slice(name.length), fail);
  const positional = params.filter((p) => p.name === undefined);
  const named = params.filter((p) => p.name !== undefined);
  if (positional.length > 0 && named.length > 0) {
    fail(
      `the notice ${tag.raw} mixes positional and named parameters, which Hugo does not allow`,
      `write either ${tagSample(d, ' notice tip "Mon titre" ')} or ${tagSample(d, ' notice style="tip" title="Mon titre" ')}`,
    );
  }
  let kind: string | undefined;
  let title: string | undefined;
  if (named.length > 0) {
    for (const p of named) {
      const key = p.name!.toLowerCase();
      if (!(NOTICE_NAMED_PARAMS as readonly string[]).includes(key)) {
        fail(
          `unknown notice parameter "${p.name}" in ${tag.raw}; allowed: ${NOTICE_NAMED_PARAMS.join(', ')}`,
          `remove ${p.name}=…, e.g. ${tagSample(d, ' notice style="tip" title="Mon titre" ')}`,
        );
      }
      if (key === 'style') kind = p.value;
      if (key === 'title') title = p.value;
    }
  } else {
    if (positional.length > 3) {
      fail(
        `the notice ${tag.raw} has ${positional.length} parameters; it takes a kind, then optionally a title (and an icon, ignored)`,
        `put quotes around a title with spaces: ${tagSample(d, ' notice tip "Mon titre" ')}`,
      );
    }
    kind = positional[0]?.value;
    title = positional[1]?.value;
  }
  if (kind === undefined || kind.trim() === '') {
    fail(`the notice ${tag.raw} has no kind`, `name one of ${NOTICE_KIND_NAMES.join(', ')}: ${tagSample(d, ' notice tip ')}`);
  }
  const k = kind.trim().toLowerCase();
  if (!isNoticeKind(k)) {
    fail(
      `unknown notice kind "${kind}" in ${tag.raw}; allowed kinds: ${NOTICE_KIND_NAMES.join(', ')}`,
      `write e.g. ${tagSample(d, ' notice warning ')}`,
    );
  }
  return { type: 'open', kind: k, title: title?.trim() || undefined, selfClosing, delimiter: d, ...where };
}

// ── Positions ───────────────────────────────────────────────────────────────

type Point = { line: number; column: number };

/** Approximate source point of `value[index]` in a text-like node: exact line, column exact on the node's first line. */
function pointIn(node: { value: string; position?: { start: { line: number; column: number } } | undefined }, index: number): Point | undefined {
  const start = node.position?.start;
  if (!start) return undefined;
  const before = node.value.slice(0, index);
  const nl = before.lastIndexOf('\n');
  if (nl === -1) return { line: start.line, column: start.column + index };
  return { line: start.line + (before.match(/\n/g)?.length ?? 0), column: index - nl };
}

// ── The transform ───────────────────────────────────────────────────────────

/** A notice in the Markdown tree; remark-rehype and Sätteri turn it into the notice markup through `data`. */
export interface HugoNoticeNode {
  type: 'hugoNotice';
  kind: NoticeKind;
  title: string | undefined;
  data: { hName: 'aside'; hProperties: Record<string, unknown> };
  children: [
    { type: 'hugoNoticeHeader'; data: { hName: 'div'; hProperties: Record<string, unknown>; hChildren: unknown[] }; children: [] },
    { type: 'hugoNoticeBody'; data: { hName: 'div'; hProperties: Record<string, unknown> }; children: RootContent[] },
  ];
  position?: { start: Point; end: Point } | undefined;
}

function noticeNode(open: OpenToken, children: RootContent[], end: Point | undefined): HugoNoticeNode {
  const n = resolveNotice(open.kind, open.title);
  return {
    type: 'hugoNotice',
    kind: n.kind,
    title: open.title,
    data: { hName: 'aside', hProperties: noticeAsideProperties(n) },
    children: [
      {
        type: 'hugoNoticeHeader',
        data: { hName: 'div', hProperties: { className: ['notice__header'] }, hChildren: noticeHeaderHast(n).children },
        children: [],
      },
      { type: 'hugoNoticeBody', data: { hName: 'div', hProperties: { className: ['notice__body'] } }, children },
    ],
    position:
      open.line !== undefined ? { start: { line: open.line, column: open.column ?? 1 }, end: end ?? { line: open.line, column: open.column ?? 1 } } : undefined,
  };
}

type Item = { node: RootContent } | { token: Token };

const CONTAINERS = new Set(['blockquote', 'listItem', 'footnoteDefinition']);
const NAMES: Record<string, string> = { listItem: 'list item', blockquote: 'quote', footnoteDefinition: 'footnote' };

class Transformer {
  private readonly file: string;
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

  /** Builds the notices inside a list item / quote; returns the closing tags left at its end, to be moved out. */
  private container(node: { type: string; children: RootContent[] }): CloseToken[] {
    const { nodes, trailing } = this.match(this.flow(node.children), node.type);
    node.children = nodes as typeof node.children;
    return trailing;
  }

  private strayClose(token: Token, containerType: string | undefined): never {
    const inside = containerType ? ` (it is inside a ${NAMES[containerType] ?? containerType}, and no notice is open there)` : '';
    this.fail(
      `the closing tag ${CLOSE_HINT(token.delimiter)} has no matching opening ${tagSample(token.delimiter, ' notice … ')} before it${inside}`,
      `add the opening tag before it, or remove it; a closing tag that ends a list or a quote must come right after its last line`,
      token,
    );
  }

  /** Pairs opening and closing tags into notices. */
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
        if (t.selfClosing) target().push(noticeNode(t, [], undefined) as unknown as RootContent);
        else stack.push({ open: t, children: [] });
      } else if (stack.length > 0) {
        const { open, children } = stack.pop()!;
        const end = t.line !== undefined ? { line: t.line, column: t.column ?? 1 } : undefined;
        target().push(noticeNode(open, children, end) as unknown as RootContent);
      } else if (containerType !== undefined) {
        trailing.push(t);
      } else {
        this.strayClose(t, undefined);
      }
    }
    const unclosed = stack[0];
    if (unclosed) {
      const d = unclosed.open.delimiter;
      const inside = containerType ? ` inside this ${NAMES[containerType] ?? containerType}` : '';
      this.fail(
        `the notice "${unclosed.open.kind}" opened here is never closed${inside}`,
        containerType
          ? `add ${CLOSE_HINT(d)} inside the same ${NAMES[containerType] ?? containerType}, indented like the opening tag`
          : `add ${CLOSE_HINT(d)} on its own line after the notice's content`,
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
    const tags = findTags(flat, (reason, hint, index) => this.fail(reason, hint, locate(index)), inText).filter(
      (t) => t.inner !== undefined,
    );
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
      items.push({
        node: { type: 'paragraph', children: inline, ...(first && last ? { position: { start: first, end: last } } : {}) },
      });
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

  /** Last pass: unescape `{{</* … *\/>}}`, and fail on any tag left where a notice cannot go. */
  private finish(node: { type: string; children?: unknown[]; value?: unknown }, inside?: string): void {
    if (typeof node.value === 'string' && 'value' in node) {
      const n = node as { type: string; value: string; position?: { start: { line: number; column: number } } };
      if (n.type === 'text' || n.type === 'html') {
        const tags = findTags(n.value, (reason, hint, index) => this.fail(reason, hint, pointIn(n, index)));
        const real = tags.find((t) => t.inner !== undefined);
        if (real) {
          const name = /^\s*\/?\s*([\w./-]+)/.exec(real.inner!)?.[1] ?? '';
          if (!(SUPPORTED_SHORTCODES as readonly string[]).includes(name)) {
            toToken(real, {} as Where, (reason, hint) => this.fail(reason, hint, pointIn(n, real.start)));
          }
          this.fail(
            `the shortcode ${real.raw} cannot be used inside ${inside ?? 'this element'}; a notice must start on its own line`,
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

/** Cuts `node.value[a, b)` out of a text or html node, with an approximate position. */
function cutText<T extends Text | Html>(node: T, a: number, b: number): T {
  const start = pointIn(node, a);
  const end = pointIn(node, b);
  const { position: _drop, ...rest } = node;
  return { ...rest, value: node.value.slice(a, b), ...(start && end ? { position: { start, end } } : {}) } as T;
}

/** Drops blank text and line breaks at both ends of a run of inline nodes (left around a removed tag). */
function trimInline(nodes: PhrasingContent[]): PhrasingContent[] {
  const out = [...nodes];
  const blank = (n: PhrasingContent | undefined) => n !== undefined && ((n.type === 'text' && n.value.trim() === '') || n.type === 'break');
  while (blank(out[0])) out.shift();
  while (blank(out.at(-1))) out.pop();
  const first = out[0];
  if (first?.type === 'text' && /^\s/.test(first.value)) out[0] = { ...first, value: first.value.trimStart() };
  const last = out.at(-1);
  if (last?.type === 'text' && /\s$/.test(last.value)) out[out.length - 1] = { ...last, value: last.value.trimEnd() };
  return out;
}

/** The file as named in errors: relative to the current directory when under it. */
function defaultDisplayPath(absolutePath: string | undefined): string {
  if (!absolutePath) return '<markdown>';
  const rel = path.relative(process.cwd(), absolutePath);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : absolutePath;
}

/**
 * Replaces the notice shortcodes of a Markdown tree (in place) by notice nodes.
 * @param file the file as named in errors, e.g. "content/docker_linux/namespaces.md".
 * @throws ContentError with file, line and the shortcode's name.
 */
export function transformHugoShortcodes(tree: Root, file: string): Root {
  new Transformer(file).run(tree);
  return tree;
}

/** The unified (remark) plugin. */
export const remarkHugoShortcodes: Plugin<[HugoShortcodesOptions?], Root> = (options) => {
  const display = options?.displayPath ?? defaultDisplayPath;
  return (tree: Root, file: VFile) => {
    transformHugoShortcodes(tree, display(file.path));
  };
};

/** Deep copy of a Sätteri tree as plain mdast (without its internal `_` fields). */
function plainTree(root: unknown): Root {
  return JSON.parse(JSON.stringify(root, (key, value: unknown) => (key.startsWith('_') ? undefined : value))) as Root;
}

/** The same transform as a Sätteri mdast plugin (Astro 7's default Markdown processor). Markdown only: MDX pages use `<Notice>`. */
export function createSatteriHugoShortcodes(options?: HugoShortcodesOptions): MdastPluginDefinition {
  const display = options?.displayPath ?? defaultDisplayPath;
  return {
    name: 'hugo-shortcodes',
    options: { position: true },
    before(root, ctx) {
      if (ctx.sourceFormat !== 'markdown' || !/\{\{[<%]/.test(ctx.source)) return;
      const tree = plainTree(root);
      transformHugoShortcodes(tree, display(ctx.fileURL ? fileURLToPath(ctx.fileURL) : undefined));
      ctx.replaceNode(root, tree as never);
    },
  };
}

export const satteriHugoShortcodes: MdastPluginDefinition = createSatteriHugoShortcodes();
