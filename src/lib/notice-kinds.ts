/**
 * The one list of notice kinds ("admonitions"), shared by the `<Notice>` Astro
 * component (MDX pages) and the Hugo shortcode plugin (Markdown pages), so that
 * both produce the same HTML.
 *
 * Markup (the site's stylesheet targets these classes):
 *
 * ```html
 * <aside class="notice notice--tip" role="note" aria-label="Astuce">
 *   <div class="notice__header">
 *     <svg class="notice__icon" aria-hidden="true" …>…</svg>
 *     <span class="notice__title">Astuce</span>
 *   </div>
 *   <div class="notice__body">…Markdown content…</div>
 * </aside>
 * ```
 *
 * - `.notice` — the box; `.notice--KIND` (note, info, tip, warning, caution,
 *   important) picks its colour.
 * - `.notice__header` — one line: icon then title.
 * - `.notice__icon` — 20×20 inline SVG drawn with `stroke="currentColor"`, so it
 *   takes the header's text colour; hidden from assistive technology.
 * - `.notice__title` — the author's title, or the kind's French default.
 * - `.notice__body` — the content, block elements (`<p>`, `<ul>`, `<pre>`, nested
 *   `.notice`…).
 *
 * Accessibility: every kind is a static `role="note"` (never `alert`: the text is
 * part of the page, not a live event), labelled with the kind's French name so a
 * screen reader announces what kind of notice it is even under a custom title.
 *
 * The `<Notice>` component renders the same thing with:
 *
 * ```astro
 * const n = resolveNotice(kind, title);
 * <aside class={n.className} role={n.role} aria-label={n.ariaLabel}>
 *   <div class="notice__header"><Fragment set:html={n.icon} /><span class="notice__title">{n.title}</span></div>
 *   <div class="notice__body"><slot /></div>
 * </aside>
 * ```
 *
 * or with `noticeOpenHtml(kind, title)` + body + `NOTICE_CLOSE_HTML`.
 */
import type { Element, ElementContent, Properties } from 'hast';

/** One SVG child element (`path`, `circle`…) with its attributes, in output order. */
interface IconShape {
  readonly tag: 'path' | 'circle';
  readonly attrs: Readonly<Record<string, string>>;
}

/** Attributes of every icon's `<svg>`, in output order (HTML attribute names). */
const SVG_ATTRS: ReadonlyArray<readonly [string, string]> = [
  ['xmlns', 'http://www.w3.org/2000/svg'],
  ['viewBox', '0 0 24 24'],
  ['width', '20'],
  ['height', '20'],
  ['fill', 'none'],
  ['stroke', 'currentColor'],
  ['stroke-width', '2'],
  ['stroke-linecap', 'round'],
  ['stroke-linejoin', 'round'],
  ['aria-hidden', 'true'],
  ['focusable', 'false'],
  ['class', 'notice__icon'],
];

/** The same attributes as hast property names (what `hast-util-to-html` expects). */
const SVG_HAST_NAMES: Readonly<Record<string, string>> = {
  'stroke-width': 'strokeWidth',
  'stroke-linecap': 'strokeLinecap',
  'stroke-linejoin': 'strokeLinejoin',
  'aria-hidden': 'ariaHidden',
  class: 'className',
};

const path = (d: string): IconShape => ({ tag: 'path', attrs: { d } });

/** 24×24 stroke icons drawn for this project. */
const ICON_SHAPES = {
  // a pencil
  note: [path('M12 20h9'), path('M16.5 3.5a2.12 2.12 0 0 1 3 3L7 19l-4 1 1-4Z')],
  // an "i" in a circle
  info: [{ tag: 'circle', attrs: { cx: '12', cy: '12', r: '10' } }, path('M12 16v-4'), path('M12 8h.01')],
  // a light bulb
  tip: [path('M9 18h6'), path('M10 22h4'), path('M12 2a7 7 0 0 0-4 12.7c.6.5 1 1.3 1 2.3h6c0-1 .4-1.8 1-2.3A7 7 0 0 0 12 2Z')],
  // a triangle with "!"
  warning: [path('M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0Z'), path('M12 9v4'), path('M12 17h.01')],
  // an octagon with "!"
  caution: [path('M7.9 2h8.2L22 7.9v8.2L16.1 22H7.9L2 16.1V7.9Z'), path('M12 8v4'), path('M12 16h.01')],
  // a speech bubble with "!"
  important: [path('M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2Z'), path('M12 7v4'), path('M12 14h.01')],
} as const satisfies Record<string, readonly IconShape[]>;

/** Serialises an icon exactly as `hast-util-to-html` serialises `iconHast()`. */
function iconSvg(shapes: readonly IconShape[]): string {
  const attrs = (pairs: Iterable<readonly [string, string]>) => [...pairs].map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join('');
  const inner = shapes.map((s) => `<${s.tag}${attrs(Object.entries(s.attrs))}></${s.tag}>`).join('');
  return `<svg${attrs(SVG_ATTRS)}>${inner}</svg>`;
}

function iconHast(shapes: readonly IconShape[]): Element {
  const properties: Properties = {};
  for (const [k, v] of SVG_ATTRS) {
    const name = SVG_HAST_NAMES[k] ?? k;
    properties[name] = name === 'className' ? v.split(' ') : v;
  }
  return {
    type: 'element',
    tagName: 'svg',
    properties,
    children: shapes.map((s) => ({ type: 'element', tagName: s.tag, properties: { ...s.attrs }, children: [] })),
  };
}

/** What a notice kind looks like and how it is announced. */
export interface NoticeKindSpec {
  /** Default title, shown when the author gives none (French). */
  readonly title: string;
  /** ARIA role of the `<aside>`. */
  readonly role: 'note';
  /** `aria-label` of the `<aside>`: the kind's French name. */
  readonly ariaLabel: string;
  /** Inline SVG markup of the icon (`<svg class="notice__icon" aria-hidden="true" …>`). */
  readonly icon: string;
}

const spec = (title: string, shapes: readonly IconShape[]): NoticeKindSpec => ({
  title,
  role: 'note',
  ariaLabel: title,
  icon: iconSvg(shapes),
});

/**
 * The notice kinds: Hugo Learn's four (note, info, tip, warning) and Relearn's
 * extra styles (caution, important). Order = documentation order.
 */
export const NOTICE_KINDS = {
  note: spec('Note', ICON_SHAPES.note),
  info: spec('Information', ICON_SHAPES.info),
  tip: spec('Astuce', ICON_SHAPES.tip),
  warning: spec('Avertissement', ICON_SHAPES.warning),
  caution: spec('Attention', ICON_SHAPES.caution),
  important: spec('Important', ICON_SHAPES.important),
} as const satisfies Record<string, NoticeKindSpec>;

export type NoticeKind = keyof typeof NOTICE_KINDS;

/** The kinds' names, in `NOTICE_KINDS` order. */
export const NOTICE_KIND_NAMES = Object.keys(NOTICE_KINDS) as NoticeKind[];

export function isNoticeKind(s: unknown): s is NoticeKind {
  return typeof s === 'string' && Object.hasOwn(NOTICE_KINDS, s);
}

/** Everything needed to render one notice. */
export interface ResolvedNotice {
  kind: NoticeKind;
  /** The title to show: the author's, else the kind's default. */
  title: string;
  /** Inline SVG markup of the icon. */
  icon: string;
  role: 'note';
  ariaLabel: string;
  /** `notice notice--KIND` */
  className: string;
}

/** Thrown for a notice kind that does not exist; its message lists the allowed ones. */
export class UnknownNoticeKindError extends Error {
  readonly given: unknown;
  readonly allowed: readonly NoticeKind[] = NOTICE_KIND_NAMES;
  constructor(given: unknown) {
    const lower = typeof given === 'string' ? given.trim().toLowerCase() : '';
    const suggestion = isNoticeKind(lower) ? ` Did you mean "${lower}"?` : '';
    super(`Unknown notice kind ${JSON.stringify(given)}. Allowed kinds: ${NOTICE_KIND_NAMES.join(', ')}.${suggestion}`);
    this.name = 'UnknownNoticeKindError';
    this.given = given;
  }
}

/**
 * Resolves a kind (exact, lower-case name) and an optional title into what to
 * render. An empty or blank title means "the default title".
 * @throws UnknownNoticeKindError for a kind not in NOTICE_KINDS.
 */
export function resolveNotice(kind: string, title?: string | null): ResolvedNotice {
  if (!isNoticeKind(kind)) throw new UnknownNoticeKindError(kind);
  const k = NOTICE_KINDS[kind];
  const shown = title != null && title.trim() !== '' ? title.trim() : k.title;
  return { kind, title: shown, icon: k.icon, role: k.role, ariaLabel: k.ariaLabel, className: `notice notice--${kind}` };
}

/** Properties of the notice's `<aside>` as hast properties. */
export function noticeAsideProperties(n: ResolvedNotice): Properties {
  return { className: ['notice', `notice--${n.kind}`], role: n.role, ariaLabel: n.ariaLabel };
}

/** The `<div class="notice__header">` element (icon + title) as hast. */
export function noticeHeaderHast(n: ResolvedNotice): Element {
  return {
    type: 'element',
    tagName: 'div',
    properties: { className: ['notice__header'] },
    children: [
      iconHast(ICON_SHAPES[n.kind]),
      { type: 'element', tagName: 'span', properties: { className: ['notice__title'] }, children: [{ type: 'text', value: n.title }] },
    ],
  };
}

/**
 * The whole notice as a hast element, `children` going into `.notice__body`.
 * @throws UnknownNoticeKindError for an unknown kind.
 */
export function noticeHast(kind: string, title: string | null | undefined, children: ElementContent[]): Element {
  const n = resolveNotice(kind, title);
  return {
    type: 'element',
    tagName: 'aside',
    properties: noticeAsideProperties(n),
    children: [noticeHeaderHast(n), { type: 'element', tagName: 'div', properties: { className: ['notice__body'] }, children }],
  };
}

/** HTML before the body: `<aside …><div class="notice__header">…</div><div class="notice__body">`. */
export function noticeOpenHtml(kind: string, title?: string | null): string {
  const n = resolveNotice(kind, title);
  return (
    `<aside class="${n.className}" role="${n.role}" aria-label="${escapeAttr(n.ariaLabel)}">` +
    `<div class="notice__header">${n.icon}<span class="notice__title">${escapeText(n.title)}</span></div>` +
    `<div class="notice__body">`
  );
}

/** HTML after the body. */
export const NOTICE_CLOSE_HTML = '</div></aside>';

/**
 * The whole notice as HTML, around an already-rendered body. Same output as
 * `toHtml(noticeHast(…), { characterReferences: { useNamedReferences: true } })`.
 */
export function noticeHtml(kind: string, title: string | null | undefined, bodyHtml: string): string {
  return noticeOpenHtml(kind, title) + bodyHtml + NOTICE_CLOSE_HTML;
}

/** Text content, escaped as `hast-util-to-html` does (with named references). */
function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

/** A double-quoted attribute value, escaped as `hast-util-to-html` does. */
function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
}
