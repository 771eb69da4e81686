/**
 * The shortcodes that stand for a value or a piece of HTML, replaced in the
 * Markdown source before it is parsed, as Hugo itself does (so that
 * `[texte]({{< ref "page.md" >}})` is a link): ref, relref, siteparam, param,
 * icon, badge, button, figure, youtube, include, children, attachments, and
 * the ones whose content is not Markdown — mermaid, math, highlight — which
 * become fenced blocks (markdown-plugin.ts renders ```mermaid and ```math).
 *
 * Code (fenced blocks and `inline code`) is left alone, and line numbers stay
 * those of the file (a replacement keeps its line breaks), except after an
 * include, whose text takes the place of one line.
 *
 * The shortcodes that wrap Markdown (notice, expand, tabs, tab) are left for
 * block-shortcodes.ts, which works on the tree.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, posix, relative } from 'node:path';
import { ContentError } from '../errors.ts';
import { parseFrontMatter } from '../front-matter.ts';
import { withBase } from '../links-images.ts';
import type { TreeNode } from '../content-tree.ts';
import { escapeHtml } from '../../snippets/transcript-html.ts';
import { BLOCK_SHORTCODES, INLINE_SHORTCODE_NAMES } from './block-nodes.ts';
import type { SiteIndex } from './site-index.ts';
import { findTags, parseParams, TagParams, tagName, tagSample, type FoundTag } from './tags.ts';

export interface InlineShortcodeContext {
  /** The page's file as named in errors. */
  file: string;
  /** The page's path relative to content/ ("docker_linux/namespaces.md"). */
  contentPath: string | undefined;
  basePath: string;
  /** The site's [params], keys lower-cased. */
  siteParams: Record<string, unknown>;
  /** The page's front matter, keys as written. */
  pageParams: Record<string, unknown>;
  /** The Hugo site's root (include paths start there). */
  siteDir: string;
  contentDir: string;
  index: (() => SiteIndex) | undefined;
}

const PAIRED = new Set(['badge', 'button', 'mermaid', 'math', 'highlight']);
const RAW_FENCE: Record<string, string> = { mermaid: 'mermaid', math: 'math' };

/** Ranges of the source that are code: fenced blocks and inline code spans. */
function codeRanges(source: string): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  const lines = source.split('\n');
  let offset = 0;
  let fence: { char: string; len: number; start: number } | undefined;
  for (const line of lines) {
    const end = offset + line.length + 1;
    const m = /^(?:\s*>)*\s*(?:(?:[-*+]|\d+[.)])\s+)?(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (
        m &&
        m[1]![0] === fence.char &&
        m[1]!.length >= fence.len &&
        line
          .trim()
          .replace(/^(>\s*)+/, '')
          .replace(/^([-*+]|\d+[.)])\s+/, '') === m[1]
      ) {
        ranges.push([fence.start, end]);
        fence = undefined;
      }
    } else if (m) {
      fence = { char: m[1]![0]!, len: m[1]!.length, start: offset };
    } else {
      for (const span of line.matchAll(/(`+)(?!`)[\s\S]*?[^`]\1(?!`)/g)) ranges.push([offset + span.index, offset + span.index + span[0].length]);
    }
    offset = end;
  }
  if (fence) ranges.push([fence.start, source.length]);
  return ranges;
}

const lineAt = (source: string, index: number) => source.slice(0, index).split('\n').length;

/** Learn's Font Awesome names we show as a sign (this site ships no icon font). */
const ICONS: Record<string, string> = {
  book: '📖',
  terminal: '⌨',
  github: '⌥',
  gitlab: '⌥',
  code: '⌘',
  download: '⬇',
  upload: '⬆',
  link: '🔗',
  'external-link-alt': '↗',
  info: 'ℹ',
  'info-circle': 'ℹ',
  exclamation: '!',
  'exclamation-triangle': '⚠',
  check: '✓',
  times: '✗',
  home: '⌂',
  bars: '☰',
  edit: '✎',
  pen: '✎',
  search: '🔍',
  heart: '♥',
  star: '★',
  bug: '🐞',
  cog: '⚙',
  wrench: '🔧',
  file: '📄',
  folder: '📁',
  'angle-double-right': '»',
  'angle-right': '›',
  'arrow-right': '→',
  'arrow-left': '←',
  bookmark: '🔖',
  docker: '🐳',
  linux: '🐧',
  'chalkboard-teacher': '👩‍🏫',
  lightbulb: '💡',
  'question-circle': '?',
  user: '👤',
  users: '👥',
  clock: '⏱',
  play: '▶',
};

function iconHtml(name: string | undefined): string {
  const key = (name ?? '')
    .replace(/^(fa[srlbd]?|fa-solid|fa-regular|fa-brands)\s+/, '')
    .replace(/^fa-/, '')
    .trim();
  return `<span class="icon" aria-hidden="true" data-icon="${escapeHtml(key)}">${ICONS[key] ?? '•'}</span>`;
}

/** A parameter's value as text ("a.b" walks into tables). */
function lookupParam(params: Record<string, unknown>, name: string): unknown {
  let v: unknown = params;
  for (const part of name.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    const entry = Object.entries(v as Record<string, unknown>).find(([k]) => k.toLowerCase() === part.toLowerCase());
    v = entry?.[1];
  }
  return v;
}

const showValue = (v: unknown): string => (v instanceof Date ? v.toISOString().slice(0, 10) : typeof v === 'object' ? JSON.stringify(v) : String(v));

export class InlineShortcodes {
  private readonly ctx: InlineShortcodeContext;
  private source = '';
  private depth = 0;
  constructor(ctx: InlineShortcodeContext) {
    this.ctx = ctx;
  }

  private fail(index: number, reason: string, hint: string): never {
    throw new ContentError({ file: this.ctx.file, line: lineAt(this.source, index), reason, hint });
  }

  /** The source with this file's inline shortcodes replaced. */
  run(source: string): string {
    this.source = source;
    const ranges = codeRanges(source);
    const inCode = (i: number) => ranges.some(([a, b]) => i >= a && i < b);
    const tags = findTags(
      source,
      (reason, hint, index) => this.fail(index, reason, hint),
      (i) => !inCode(i),
    ).filter((t) => t.inner !== undefined);
    let out = '';
    let at = 0;
    for (let i = 0; i < tags.length; i++) {
      const tag = tags[i]!;
      const { name, closing, rest } = tagName(tag.inner!);
      if (name !== undefined && !INLINE_SHORTCODE_NAMES.includes(name) && !Object.hasOwn(BLOCK_SHORTCODES, name)) this.unknown(name, tag);
      if (name === undefined || !INLINE_SHORTCODE_NAMES.includes(name)) continue;
      if (closing)
        this.fail(
          tag.start,
          `the closing tag ${tag.raw} has no matching opening before it`,
          `add ${tagSample(tag.delimiter, ` ${name} `)} before it, or remove it`,
        );
      const params = new TagParams(parseParams(rest, (reason, hint) => this.fail(tag.start, reason, hint)));
      let end = tag.end;
      let inner: string | undefined;
      if (PAIRED.has(name) && !tag.inner!.trim().endsWith('/')) {
        const close = tags.findIndex((t, j) => j > i && t.inner !== undefined && tagName(t.inner).closing && tagName(t.inner).name === name);
        if (close === -1) this.fail(tag.start, `the ${name} opened here is never closed`, `add ${tagSample(tag.delimiter, ` /${name} `)} after its content`);
        inner = source.slice(tag.end, tags[close]!.start);
        end = tags[close]!.end;
        i = close;
      }
      const replaced = this.replace(name, params, inner, tag);
      out += source.slice(at, tag.start) + keepLines(source.slice(tag.start, end), replaced, name);
      at = end;
    }
    return out + source.slice(at);
  }

  private replace(name: string, p: TagParams, inner: string | undefined, tag: FoundTag): string {
    const { basePath } = this.ctx;
    const need = (value: string | undefined, what: string, example: string): string => {
      if (value === undefined || value.trim() === '') this.fail(tag.start, `${tag.raw} needs ${what}`, `write ${tagSample(tag.delimiter, ` ${example} `)}`);
      return value.trim();
    };
    switch (name) {
      case 'ref':
      case 'relref': {
        const target = need(p.get('path', 0) ?? p.get('page'), 'the page it points to', `${name} "docker_linux/namespaces.md"`);
        const found = this.index(tag).resolve(target, this.ctx.contentPath ?? '');
        if (!found) {
          this.fail(
            tag.start,
            `${tag.raw}: no page "${target}" in the site (REF_NOT_FOUND)`,
            `name the page's file relative to content/, e.g. ${tagSample(tag.delimiter, ` ${name} "/chapitre/page.md" `)}, or relative to this page`,
          );
        }
        return found.url;
      }
      case 'siteparam': {
        const key = need(p.get('name', 0), 'the name of a [params] key', 'siteparam "author"');
        const v = lookupParam(this.ctx.siteParams, key);
        if (v === undefined)
          this.fail(
            tag.start,
            `${tag.raw}: the site's configuration has no params.${key}`,
            `add ${key} = "…" under [params] in the site's config, or fix the name`,
          );
        return escapeHtml(showValue(v));
      }
      case 'param': {
        const key = need(p.get('name', 0), 'the name of a front matter key', 'param "author"');
        const v = lookupParam(this.ctx.pageParams, key) ?? lookupParam(this.ctx.siteParams, key);
        if (v === undefined)
          this.fail(
            tag.start,
            `${tag.raw}: neither this page's front matter nor the site's [params] has "${key}"`,
            `add ${key}: … to the front matter, or fix the name`,
          );
        return escapeHtml(showValue(v));
      }
      case 'icon':
        return iconHtml(need(p.get('icon', 0) ?? p.get('name'), 'an icon name', 'icon "book"'));
      case 'badge': {
        const style = (p.get('style') ?? 'default').toLowerCase();
        const title = p.get('title');
        const icon = p.get('icon');
        const color = p.get('color');
        return `<span class="badge badge--${escapeHtml(style)}"${color ? ` style="--badge-color:${escapeHtml(color)}"` : ''}>${icon ? iconHtml(icon) : ''}${title ? `<span class="badge__title">${escapeHtml(title)}</span>` : ''}<span class="badge__text">${(inner ?? '').trim()}</span></span>`;
      }
      case 'button': {
        const href = p.get('href', 0) ?? '';
        const style = (p.get('style') ?? 'default').toLowerCase();
        const icon = p.get('icon');
        const target =
          p.get('target') ??
          (/^(https?:)?\/\//.test(href) && this.ctx.siteParams.externallinktarget ? String(this.ctx.siteParams.externallinktarget) : undefined);
        const label = (inner ?? '').trim() || href;
        if (href === '') return `<button type="button" class="button button--${escapeHtml(style)}">${icon ? iconHtml(icon) : ''}${label}</button>`;
        return `<a class="button button--${escapeHtml(style)}" href="${escapeHtml(withBase(href, basePath))}"${target ? ` target="${escapeHtml(target)}" rel="noopener"` : ''}>${icon ? iconHtml(icon) : ''}${label}</a>`;
      }
      case 'figure': {
        const src = need(p.get('src'), 'the image (src=…)', 'figure src="/images/schema.png" title="Schéma"');
        const attrs = [
          `src="${escapeHtml(withBase(src, basePath))}"`,
          `alt="${escapeHtml(p.get('alt') ?? p.get('title') ?? '')}"`,
          'class="course-image"',
          'loading="lazy"',
        ];
        for (const k of ['width', 'height']) if (p.get(k)) attrs.push(`${k}="${escapeHtml(p.get(k)!)}"`);
        let img = `<img ${attrs.join(' ')}>`;
        const link = p.get('link');
        if (link) img = `<a href="${escapeHtml(withBase(link, basePath))}"${p.get('target') ? ` target="${escapeHtml(p.get('target')!)}"` : ''}>${img}</a>`;
        const title = p.get('title');
        const caption = p.get('caption');
        const cap =
          title || caption ? `<figcaption>${title ? `<strong>${escapeHtml(title)}</strong> ` : ''}${caption ? escapeHtml(caption) : ''}</figcaption>` : '';
        return `<figure class="hugo-figure${p.get('class') ? ` ${escapeHtml(p.get('class')!)}` : ''}">${img}${cap}</figure>`;
      }
      case 'youtube': {
        const id = need(p.get('id', 0), 'the video id', 'youtube "dQw4w9WgXcQ"');
        if (!/^[\w-]{6,20}$/.test(id))
          this.fail(tag.start, `${tag.raw}: "${id}" is not a YouTube video id`, 'write the id from the video address (the part after v=)');
        const title = p.get('title') ?? 'Vidéo';
        const origin = this.ctx.siteParams.videoembedorigin;
        return `<div class="video-embed" data-video-id="${escapeHtml(id)}" data-video-title="${escapeHtml(title)}"${typeof origin === 'string' ? ` data-video-origin="${escapeHtml(origin)}"` : ''}><button type="button" class="video-embed__play" data-video-play>▶ Lire la vidéo « ${escapeHtml(title)} »</button><p class="video-embed__note">Hébergée par YouTube : rien n’est demandé à YouTube avant ce clic.</p></div>`;
      }
      case 'include':
        return this.include(need(p.get('file', 0), 'the file to include', 'include "/partage/avertissement.md"'), tag);
      case 'children':
        return this.children(p, tag);
      case 'attachments':
        return this.attachments(p, tag);
      case 'mermaid':
      case 'math':
        return fence(RAW_FENCE[name]!, '', inner ?? '');
      case 'highlight': {
        const lang = p.positional[0] ?? p.get('lang') ?? '';
        const opts = p.positional[1] ?? p.get('options');
        return fence(lang, opts ? `{${opts}}` : '', inner ?? '');
      }
    }
    return tag.raw;
  }

  /** A shortcode we do not have: the site's own (a Go template in layouts/shortcodes/) or a typo. */
  private unknown(name: string, tag: FoundTag): never {
    const own = ['layouts', 'themes'].map((d) => join(this.ctx.siteDir, d)).some((d) => existsSync(d)) && findOwnShortcode(this.ctx.siteDir, name);
    if (own) {
      this.fail(
        tag.start,
        `${tag.raw}: "${name}" is this site's own shortcode (${own}), a Go template that is not run here`,
        'replace it by Markdown or by a supported shortcode (README, "Bring your Hugo course"), or escape it as {{</* … */>}} to show it as text',
      );
    }
    this.fail(
      tag.start,
      `unknown shortcode "${name}" (${tag.raw}); supported: ${[...Object.keys(BLOCK_SHORTCODES), ...INLINE_SHORTCODE_NAMES].map((n) => `"${n}"`).join(', ')}`,
      `rewrite it in Markdown, or escape it as {{${tag.delimiter}/* ${name} */${tag.delimiter === '<' ? '>' : '%'}}} to show it as text`,
    );
  }

  private index(tag: FoundTag): SiteIndex {
    if (!this.ctx.index)
      this.fail(tag.start, `${tag.raw} needs the site's pages, which this renderer was not given`, 'build the page with the course site (npm run build)');
    return this.ctx.index();
  }

  private include(file: string, tag: FoundTag): string {
    if (this.depth > 5) this.fail(tag.start, `${tag.raw}: includes nest more than 5 deep (an include of itself?)`, 'remove the loop');
    const here = this.ctx.contentPath ? posix.dirname(join(this.ctx.contentDir, this.ctx.contentPath)) : this.ctx.contentDir;
    const candidates = file.startsWith('/')
      ? [join(this.ctx.siteDir, file), join(this.ctx.contentDir, file)]
      : [join(here, file), join(this.ctx.siteDir, file), join(this.ctx.contentDir, file)];
    const found = candidates.find((c) => existsSync(c));
    if (!found) {
      this.fail(
        tag.start,
        `${tag.raw}: no file "${file}" (looked in ${candidates.map((c) => relative(this.ctx.siteDir, c) || c).join(', ')})`,
        'give its path from the site root, e.g. include "/shortcodes/avertissement.md"',
      );
    }
    const text = readFileSync(found, 'utf8');
    const shown = isAbsolute(found) ? relative(this.ctx.siteDir, found) : found;
    const { body } = parseFrontMatter(text, shown);
    const nested = new InlineShortcodes({ ...this.ctx, file: shown });
    nested.depth = this.depth + 1;
    return nested.run(body).trim();
  }

  private children(p: TagParams, tag: FoundTag): string {
    const index = this.index(tag);
    const self = this.ctx.contentPath ? index.byPath(this.ctx.contentPath) : undefined;
    if (!self) this.fail(tag.start, `${tag.raw}: this page is not in the site (a draft?)`, 'remove the shortcode, or publish the page');
    const section = self.kind === 'page' ? undefined : self;
    const depth = Number(p.get('depth') ?? '1');
    if (!Number.isInteger(depth) || depth < 1) this.fail(tag.start, `${tag.raw}: depth must be a whole number from 1`, 'write depth="2"');
    const showHidden = p.bool('showhidden', false);
    const description = p.bool('description', false);
    const style = (p.get('style') ?? 'li').toLowerCase();
    const list = (nodes: TreeNode[], level: number): string => {
      const shown = nodes.filter((n) => showHidden || !n.hidden);
      if (shown.length === 0) return '';
      const items = shown.map((n) => {
        const desc = description && n.frontMatter?.description ? `<p class="children__description">${escapeHtml(n.frontMatter.description)}</p>` : '';
        const sub = n.kind !== 'page' && level < depth ? list(n.children, level + 1) : '';
        const link = `<a href="${escapeHtml(n.url)}">${escapeHtml(n.linkTitle)}</a>`;
        return style === 'li'
          ? `<li>${link}${desc}${sub}</li>`
          : `<div class="children__item"><${/^h[1-6]$/.test(style) ? style : 'p'}>${link}</${/^h[1-6]$/.test(style) ? style : 'p'}>${desc}${sub}</div>`;
      });
      return style === 'li'
        ? `<ul class="children children-li">${items.join('')}</ul>`
        : `<div class="children children-${escapeHtml(style)}">${items.join('')}</div>`;
    };
    return list(section?.children ?? [], 1);
  }

  private attachments(p: TagParams, tag: FoundTag): string {
    const files = this.ctx.contentPath ? this.index(tag).attachments(this.ctx.contentPath) : [];
    const pattern = p.get('pattern');
    let re: RegExp | undefined;
    try {
      re = pattern ? new RegExp(pattern) : undefined;
    } catch {
      this.fail(tag.start, `${tag.raw}: pattern "${pattern}" is not a regular expression`, 'write e.g. pattern=".*\\.pdf"');
    }
    const chosen = files.filter((f) => !re || re.test(posix.basename(f)));
    const title = p.get('title') ?? 'Pièces jointes';
    const style = (p.get('style') ?? 'orange').toLowerCase();
    const items = chosen.map((f) => `<li><a href="${escapeHtml(withBase(`/${f}`, this.ctx.basePath))}" download>${escapeHtml(posix.basename(f))}</a></li>`);
    return `<div class="attachments attachments--${escapeHtml(style)}"><p class="attachments__title">${escapeHtml(title)}</p>${items.length ? `<ul>${items.join('')}</ul>` : '<p>Aucun fichier.</p>'}</div>`;
  }
}

/** The site's own template of a shortcode (layouts/shortcodes/NAME.html, or a theme's), relative to the site root. */
function findOwnShortcode(siteDir: string, name: string): string | undefined {
  const candidates = [join('layouts', 'shortcodes', `${name}.html`)];
  const themes = join(siteDir, 'themes');
  if (existsSync(themes)) for (const t of readdirSync(themes)) candidates.push(join('themes', t, 'layouts', 'shortcodes', `${name}.html`));
  return candidates.find((c) => existsSync(join(siteDir, c)));
}

/** A fenced block on lines of its own, with a fence longer than any run of backquotes inside. */
function fence(lang: string, meta: string, content: string): string {
  const longest = Math.max(2, ...[...content.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `\n${f}${lang}${meta ? ` ${meta}` : ''}\n${content.replace(/^\n/, '').replace(/\n\s*$/, '')}\n${f}\n`;
}

/** The replacement, with the line breaks of what it replaces (so later lines keep their numbers). */
function keepLines(original: string, replacement: string, name: string): string {
  const want = original.split('\n').length - 1;
  let text = replacement;
  const have = text.split('\n').length - 1;
  if (name === 'include') return text;
  if (have > want && !RAW_FENCE[name] && name !== 'highlight') text = text.replace(/\n/g, ' ');
  const now = text.split('\n').length - 1;
  return now < want ? text + '\n'.repeat(want - now) : text;
}
