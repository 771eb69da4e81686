/**
 * What each Markdown-wrapping shortcode becomes: mdast nodes carrying their
 * HTML element in `data` (hName/hProperties), which both remark-rehype and
 * Sätteri turn into our markup.
 *
 *   notice  Learn: {{% notice tip "Titre" %}}; Relearn: style, title, icon, color, expanded
 *           → the <Notice> markup (notice-kinds.ts); expanded=true/false makes it foldable
 *   expand  Learn: {{% expand "Titre" %}}; Relearn: title, expanded → <details>
 *   tabs    {{< tabs groupid="os" >}} with {{% tab name="Linux" %}} (Learn) or title= (Relearn)
 *           → tabs that work without script (radio buttons and labels)
 *   tab     inside tabs, or alone (one tab)
 */
import type { RootContent } from 'mdast';
import { isNoticeKind, NOTICE_KIND_NAMES, noticeAsideProperties, noticeHeaderHast, resolveNotice, type NoticeKind } from '../../notice-kinds.ts';
import type { Point } from './positions.ts';
import type { TagParams } from './tags.ts';

export interface OpenToken {
  type: 'open';
  name: BlockName;
  params: TagParams;
  raw: string;
  selfClosing: boolean;
  delimiter: '<' | '%';
  line: number | undefined;
  column: number | undefined;
}

interface Spec {
  named: string[];
  positionalExample: string;
  namedExample: string;
}

export const BLOCK_SHORTCODES = {
  notice: {
    named: ['style', 'title', 'icon', 'color', 'expanded'],
    positionalExample: 'notice tip "Mon titre"',
    namedExample: 'notice style="tip" title="Mon titre"',
  },
  expand: { named: ['title', 'expanded', 'open'], positionalExample: 'expand "Voir la solution"', namedExample: 'expand title="Voir la solution"' },
  tabs: { named: ['groupid', 'title', 'style', 'color', 'icon'], positionalExample: 'tabs', namedExample: 'tabs groupid="os"' },
  tab: { named: ['name', 'title', 'style', 'color', 'icon'], positionalExample: 'tab "Linux"', namedExample: 'tab title="Linux"' },
} as const satisfies Record<string, Spec>;

export type BlockName = keyof typeof BLOCK_SHORTCODES;

/** Shortcodes written inline or alone on a line, replaced in the source before parsing (inline-shortcodes.ts). */
export const INLINE_SHORTCODE_NAMES = [
  'ref',
  'relref',
  'siteparam',
  'param',
  'icon',
  'badge',
  'button',
  'youtube',
  'figure',
  'include',
  'children',
  'attachments',
  'mermaid',
  'math',
  'highlight',
];

/** Relearn's styles that are colours rather than kinds, mapped onto our kinds. */
const STYLE_ALIASES: Record<string, NoticeKind> = {
  primary: 'note',
  secondary: 'note',
  accent: 'note',
  default: 'note',
  transparent: 'note',
  code: 'note',
  blue: 'info',
  grey: 'note',
  green: 'tip',
  orange: 'warning',
  red: 'caution',
};

interface BuildContext {
  parentName: string | undefined;
  nextId: () => number;
  fail: (reason: string, hint: string) => never;
}

type Position = { start: Point; end: Point } | undefined;

const positionOf = (open: OpenToken, end: Point | undefined): Position =>
  open.line !== undefined ? { start: { line: open.line, column: open.column ?? 1 }, end: end ?? { line: open.line, column: open.column ?? 1 } } : undefined;

/** A CSS colour a Relearn author may write (name, #hex, rgb()/hsl()); anything else is refused. */
function cssColor(value: string | undefined, fail: BuildContext['fail']): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^(#[0-9a-f]{3,8}|[a-z]+|(rgb|hsl)a?\([\d\s.,%/]+\))$/i.test(v)) return v;
  return fail(`color="${value}" is not a CSS colour`, 'write a colour name or code, e.g. color="#c9302c" or color="teal"');
}

const element = (type: string, hName: string, hProperties: Record<string, unknown>, children: RootContent[], position?: Position): RootContent =>
  ({ type, data: { hName, hProperties }, children, ...(position ? { position } : {}) }) as unknown as RootContent;

const textElement = (type: string, hName: string, hProperties: Record<string, unknown>, text: string): RootContent =>
  ({ type, data: { hName, hProperties, hChildren: [{ type: 'text', value: text }] }, children: [] }) as unknown as RootContent;

function notice(open: OpenToken, children: RootContent[], position: Position, ctx: BuildContext): RootContent {
  const p = open.params;
  const given = p.get('style', 0);
  if (given === undefined || given.trim() === '') {
    ctx.fail(
      `the notice ${open.raw} has no kind`,
      `name one of ${NOTICE_KIND_NAMES.join(', ')}: {{${open.delimiter} notice tip ${open.delimiter === '<' ? '>' : '%'}}}`,
    );
  }
  if (p.positional.length > 3) {
    ctx.fail(
      `the notice ${open.raw} has ${p.positional.length} parameters; it takes a kind, then optionally a title (and an icon, ignored)`,
      `put quotes around a title with spaces: {{${open.delimiter} notice tip "Mon titre" ${open.delimiter === '<' ? '>' : '%'}}}`,
    );
  }
  const lower = given.trim().toLowerCase();
  const kind = isNoticeKind(lower) ? lower : STYLE_ALIASES[lower];
  if (kind === undefined) {
    ctx.fail(
      `unknown notice kind "${given}" in ${open.raw}; allowed kinds: ${NOTICE_KIND_NAMES.join(', ')}`,
      `write e.g. {{${open.delimiter} notice warning ${open.delimiter === '<' ? '>' : '%'}}}`,
    );
  }
  const n = resolveNotice(kind, p.get('title', 1)?.trim() || undefined);
  const color = cssColor(p.get('color'), ctx.fail);
  const expanded = p.named.get('expanded');
  const props = { ...noticeAsideProperties(n), ...(color ? { style: `--notice-accent:${color}` } : {}) };
  const header = {
    type: 'hugoNoticeHeader',
    data: { hName: expanded === undefined ? 'div' : 'summary', hProperties: { className: ['notice__header'] }, hChildren: noticeHeaderHast(n).children },
    children: [],
  };
  const body = { type: 'hugoNoticeBody', data: { hName: 'div', hProperties: { className: ['notice__body'] } }, children };
  if (expanded === undefined) {
    return {
      type: 'hugoNotice',
      kind: n.kind,
      title: p.get('title', 1),
      data: { hName: 'aside', hProperties: props },
      children: [header, body],
      position,
    } as unknown as RootContent;
  }
  // Relearn's expanded=true|false: a notice the reader folds and unfolds.
  const open_ = /^(true|1|yes)$/i.test(expanded.trim());
  return element(
    'hugoNotice',
    'aside',
    props,
    [element('hugoNoticeFold', 'details', { className: ['notice__fold'], open: open_ }, [header as unknown as RootContent, body as unknown as RootContent])],
    position,
  );
}

function expand(open: OpenToken, children: RootContent[], position: Position): RootContent {
  const p = open.params;
  const title = p.get('title', 0)?.trim() || 'Déplier';
  const isOpen = /^(true|1|yes)$/i.test((p.named.get('expanded') ?? p.named.get('open') ?? p.positional[1] ?? '').trim());
  return element(
    'hugoExpand',
    'details',
    { className: ['expand'], open: isOpen },
    [
      textElement('hugoExpandTitle', 'summary', { className: ['expand__title'] }, title),
      element('hugoExpandBody', 'div', { className: ['expand__body'] }, children),
    ],
    position,
  );
}

interface TabNode {
  type: 'hugoTab';
  title: string;
  children: RootContent[];
}

function tab(open: OpenToken, children: RootContent[], ctx: BuildContext): TabNode | RootContent {
  const title = open.params.get('title') ?? open.params.get('name', 0);
  if (title === undefined || title.trim() === '') {
    ctx.fail(`the tab ${open.raw} has no name`, `write {{${open.delimiter} tab title="Linux" ${open.delimiter === '<' ? '>' : '%'}}}`);
  }
  const node: TabNode = { type: 'hugoTab', title: title.trim(), children };
  // A tab alone (Relearn allows it) is a group of one.
  return ctx.parentName === 'tabs' ? (node as unknown as RootContent) : tabs(open, [node as unknown as RootContent], undefined, ctx);
}

function tabs(open: OpenToken, children: RootContent[], position: Position, ctx: BuildContext): RootContent {
  const tabNodes = children.filter((c) => (c as { type: string }).type === 'hugoTab') as unknown as TabNode[];
  const stray = children.find((c) => (c as { type: string }).type !== 'hugoTab' && !(c.type === 'html' && c.value.trim() === ''));
  if (stray) ctx.fail(`the tabs ${open.raw} hold content outside any tab`, 'put every part inside {{% tab title="…" %}} … {{% /tab %}}');
  if (tabNodes.length === 0) ctx.fail(`the tabs ${open.raw} have no tab`, 'add {{% tab title="Linux" %}} … {{% /tab %}} inside');
  const group = `tabs-${ctx.nextId()}`;
  const parts: RootContent[] = [];
  tabNodes.forEach((t, i) => {
    const id = `${group}-${i + 1}`;
    parts.push(
      {
        type: 'hugoTabInput',
        data: { hName: 'input', hProperties: { type: 'radio', name: group, id, className: ['tabs__radio'], checked: i === 0 } },
      } as unknown as RootContent,
      textElement('hugoTabLabel', 'label', { htmlFor: id, className: ['tabs__label'] }, t.title),
      element('hugoTabPanel', 'div', { className: ['tabs__panel'], role: 'tabpanel', ariaLabel: t.title }, t.children),
    );
  });
  const groupId = open.params.get('groupid');
  return element('hugoTabs', 'div', { className: ['tabs'], ...(groupId ? { dataTabGroup: groupId } : {}) }, parts, position);
}

/** The node a paired (or self-closed) shortcode becomes. */
export function blockNode(open: OpenToken, children: RootContent[], end: Point | undefined, ctx: BuildContext): RootContent {
  const position = positionOf(open, end);
  switch (open.name) {
    case 'notice':
      return notice(open, children, position, ctx);
    case 'expand':
      return expand(open, children, position);
    case 'tab':
      return tab(open, children, ctx) as RootContent;
    case 'tabs':
      return tabs(open, children, position, ctx);
  }
}
