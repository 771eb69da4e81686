/**
 * Page URLs as Hugo (0.111, default configuration) makes them. Checked against
 * the real `hugo` binary by tests/integration/hugo-compat.test.ts.
 *
 * - From the path relative to content/, without its extension:
 *   `docker_linux/namespaces.mdx` → `/docker_linux/namespaces/` (underscores kept).
 * - `_index.md` is its section's page: `docker_linux/_index.md` → `/docker_linux/`,
 *   `_index.md` → `/`. A section ignores `slug`.
 * - `index.md` is a leaf bundle: the page of its folder, `a/b/index.md` → `/a/b/`.
 * - The path is lower-cased (Hugo's default `disablePathToLower = false`) and
 *   sanitised as Hugo does: letters, digits and `. _ - + ~ # @ /` are kept, runs of
 *   spaces become one `-`, anything else is dropped (`Mon Fichier (v2).md` →
 *   `mon-fichier-v2`). Accents are kept.
 * - `slug` replaces the last segment (for a leaf bundle, its folder name); it is
 *   sanitised and lower-cased like a file name.
 * - `url` replaces the whole path and is used as written (no lower-casing, no
 *   sanitising); a leading `/` and, unless it ends in a file name with an
 *   extension (`/page.html`), a trailing `/` are added.
 * - Every URL is under the base path (`/tp-iut-docker/…` when the site is served
 *   there), `url` included.
 * - `aliases` become redirects to the page; an alias without a leading `/` is
 *   relative to the folder of the page's URL, and aliases are not lower-cased.
 *
 * URLs are returned decoded (`/réseau/été/`), as Astro routes want them; Hugo's
 * `.RelPermalink` gives the same path percent-encoded.
 */
import path from 'node:path/posix';
import { ContentError } from './errors.ts';

export interface HugoUrlOptions {
  /** Where the site is served, e.g. "/tp-iut-docker/" (default "/"). */
  basePath?: string | undefined;
  /** Hugo's `disablePathToLower` (default false: paths are lower-cased). */
  disablePathToLower?: boolean | undefined;
}

/** The front matter keys that decide a URL. `HugoFrontMatter` fits. */
export interface UrlFrontMatter {
  slug?: string | undefined;
  url?: string | undefined;
  aliases?: readonly string[] | undefined;
}

export type ContentKind = 'home' | 'section' | 'page';

export interface ContentPathInfo {
  /** The path with forward slashes and no leading "./" or "/". */
  path: string;
  kind: ContentKind;
  /** Folder segments, e.g. ["docker_linux"] for "docker_linux/namespaces.md". */
  dirSegments: string[];
  /** File name without its extension ("namespaces", "_index", "index"). */
  name: string;
  /** "leaf" for index.md (a leaf bundle), "branch" for _index.md, undefined for a plain page. */
  bundle: 'leaf' | 'branch' | undefined;
}

/** Normalises a path relative to content/ ("./a\\b.md" → "a/b.md"). */
export function normalizeContentPath(relativePath: string): string {
  return relativePath
    .replace(/\\/g, '/')
    .replace(/^(\.\/)+/, '')
    .replace(/^\/+/, '');
}

/** What a content file is: home, section (_index) or page (plain file or index.md leaf bundle). */
export function classifyContentPath(relativePath: string): ContentPathInfo {
  const p = normalizeContentPath(relativePath);
  const parts = p.split('/');
  const file = parts.pop() ?? '';
  const dot = file.lastIndexOf('.');
  const name = dot > 0 ? file.slice(0, dot) : file;
  if (name === '_index') {
    return { path: p, kind: parts.length === 0 ? 'home' : 'section', dirSegments: parts, name, bundle: 'branch' };
  }
  if (name === 'index') {
    // content/index.md is the home page's leaf bundle form; treat it as the home page.
    return { path: p, kind: parts.length === 0 ? 'home' : 'page', dirSegments: parts, name, bundle: 'leaf' };
  }
  return { path: p, kind: 'page', dirSegments: parts, name, bundle: undefined };
}

/** "/tp-iut-docker/" | "tp-iut-docker" | "/" | undefined → "/tp-iut-docker" or "". */
export function normalizeBasePath(basePath: string | undefined): string {
  if (!basePath) return '';
  const trimmed = basePath.trim().replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `/${trimmed}`;
}

/** Puts a site path ("/a/b/") under the base path ("/tp-iut-docker/a/b/"). */
export function withBasePath(sitePath: string, basePath: string | undefined): string {
  const base = normalizeBasePath(basePath);
  const p = sitePath.startsWith('/') ? sitePath : `/${sitePath}`;
  return base + p;
}

function isHex(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}

/**
 * Hugo's `UnicodeSanitize` (helpers/path.go, 0.111): keeps letters, digits,
 * marks, `. / \ _ # + ~ - @` and `%XX` escapes; a run of white space becomes
 * one `-` (none next to an existing `-`, none at the start); everything else is dropped.
 */
export function hugoSanitize(s: string): string {
  const source = Array.from(s);
  let out = '';
  let prependHyphen = false;
  let wasHyphen = false;
  for (let i = 0; i < source.length; i++) {
    const r = source[i]!;
    const allowed = './\\_#+~-@'.includes(r) || /^[\p{L}\p{Nd}\p{M}]$/u.test(r) || (r === '%' && isHex(source[i + 1]) && isHex(source[i + 2]));
    if (allowed) {
      wasHyphen = r === '-';
      if (prependHyphen) {
        if (!wasHyphen) out += '-';
        prependHyphen = false;
      }
      out += r;
    } else if (out.length > 0 && !wasHyphen && /^\s$/u.test(r)) {
      prependHyphen = true;
    }
  }
  return out;
}

/** Hugo's `MakePathSanitized`: sanitise, then lower-case unless disabled. */
function makePathSanitized(p: string, opts: HugoUrlOptions | undefined): string {
  const s = hugoSanitize(p);
  return opts?.disablePathToLower ? s : s.toLowerCase();
}

function hasExtension(p: string): boolean {
  const last = p.split('/').pop() ?? '';
  return /\.[^./]+$/.test(last);
}

/** Adds the leading "/" and, unless the path ends in a file name with an extension, the trailing "/". */
function asDirectoryUrl(p: string): string {
  let u = p.startsWith('/') ? p : `/${p}`;
  if (!u.endsWith('/') && !hasExtension(u)) u += '/';
  return u.replace(/\/{2,}/g, '/');
}

/** The page's path within the site, without the base path ("/docker_linux/namespaces/"). */
export function hugoSitePath(relativePath: string, fm: UrlFrontMatter = {}, opts?: HugoUrlOptions): string {
  if (fm.url !== undefined && fm.url.trim() !== '') return asDirectoryUrl(fm.url.trim());
  const info = classifyContentPath(relativePath);
  const segments = [...info.dirSegments];
  const slug = fm.slug?.trim();
  if (info.kind === 'page') {
    if (info.bundle === 'leaf') {
      if (slug) segments[segments.length - 1] = slug;
    } else {
      segments.push(slug || info.name);
    }
  }
  if (segments.length === 0) return '/';
  // Sanitised as one string ending in "/" like Hugo's target path ".../index.html":
  // a space before the "/" becomes a "-" ("trail space .md" → "/trail-space-/").
  return makePathSanitized(`/${segments.join('/')}/`, opts).replace(/\/{2,}/g, '/');
}

/**
 * The page's URL as Hugo makes it, under the base path, with a trailing slash:
 * hugoUrl("docker_linux/namespaces.mdx", {}, { basePath: "/tp-iut-docker/" })
 *   === "/tp-iut-docker/docker_linux/namespaces/".
 */
export function hugoUrl(relativePath: string, fm: UrlFrontMatter = {}, opts?: HugoUrlOptions): string {
  return withBasePath(hugoSitePath(relativePath, fm, opts), opts?.basePath);
}

export interface AliasRedirect {
  /** The old URL, under the base path, e.g. "/tp-iut-docker/old/path/". */
  from: string;
  /** The page's URL, under the base path. */
  to: string;
  /** The content file that declares the alias (relative to content/). */
  path: string;
}

/**
 * The redirects a page's `aliases` ask for, as Hugo writes them (an HTML page
 * with a meta refresh at each alias).
 * @throws ContentError for an alias that is a full http(s) URL (Hugo refuses them too).
 */
export function aliasRedirects(relativePath: string, fm: UrlFrontMatter, opts?: HugoUrlOptions): AliasRedirect[] {
  const p = normalizeContentPath(relativePath);
  const sitePath = hugoSitePath(p, fm, opts);
  const to = withBasePath(sitePath, opts?.basePath);
  // Hugo resolves a relative alias against path.Join(<page link without trailing slash>, "..").
  const pageDir = path.dirname(sitePath.replace(/\/+$/, '') || '/');
  const out: AliasRedirect[] = [];
  for (const raw of fm.aliases ?? []) {
    const alias = raw.trim().replace(/\\/g, '/');
    if (alias === '') continue;
    if (/^https?:\/\//i.test(alias)) {
      throw new ContentError({
        file: `content/${p}`,
        reason: `aliases must be paths on this site, got ${JSON.stringify(raw)}`,
        hint: `write the path only, e.g. ${JSON.stringify(new URL(alias).pathname)}`,
      });
    }
    const resolved = alias.startsWith('/') ? path.normalize(alias) : path.join(pageDir, alias);
    out.push({ from: withBasePath(asDirectoryUrl(resolved), opts?.basePath), to, path: p });
  }
  return out;
}
