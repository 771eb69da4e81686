/**
 * The site's structure as Hugo and the Learn/Relearn themes see it, built from
 * the content files' paths and front matter:
 *
 * - sections: the home page (content/_index.md), every folder with an
 *   `_index.md`, and every top-level folder (Hugo creates those even without
 *   `_index.md`, titled like "Autosecs"). A folder without `_index.md` deeper
 *   down is not a section: its pages belong to the nearest section above it.
 * - pages: the other files; `index.md` is a leaf bundle (the page of its folder)
 *   and the other files under its folder are its resources, not pages.
 * - each section's children (sub-sections and pages together) in Hugo's
 *   default order (see ordering.ts); a section without its own date takes the
 *   latest date of the pages under it, as Hugo does.
 * - drafts are left out unless `buildDrafts`; a draft section leaves out its
 *   whole subtree (Hugo 0.111 does the same).
 * - reading order: depth-first through the sorted tree, each section before its
 *   children (Learn's prev/next arrows); `hidden: true` pages and sections are
 *   built but not in the menu nor in prev/next.
 *
 * Nodes hold no reference to their parent (the tree is plain data); use
 * `parentUrl` and `tree.byUrl`, or the breadcrumbs.
 */
import { ContentError } from './errors.ts';
import type { HugoFrontMatter } from './front-matter.ts';
import { compareHugoPages } from './ordering.ts';
import { aliasRedirects, classifyContentPath, hugoUrl, type AliasRedirect, type ContentPathInfo } from './urls.ts';

export interface ContentEntry {
  /** Path relative to content/, e.g. "docker_linux/namespaces.mdx". */
  path: string;
  frontMatter: HugoFrontMatter;
}

export interface ContentTreeOptions {
  /** Build (keep) drafts, like `hugo --buildDrafts`. Default false. */
  buildDrafts?: boolean | undefined;
  /** Where the site is served, e.g. "/tp-iut-docker/". Default "/". */
  basePath?: string | undefined;
  /** Collation locale for titles in the order. Default "en", Hugo's default language. */
  locale?: string | undefined;
  /** Hugo's `disablePathToLower`. Default false. */
  disablePathToLower?: boolean | undefined;
  /** Title of the home page when there is no content/_index.md. Default "Accueil". */
  homeTitle?: string | undefined;
}

export interface Crumb {
  title: string;
  url: string;
}

export interface NavLink {
  title: string;
  url: string;
  /** The content file, null for a section without `_index.md`. */
  path: string | null;
}

interface NodeBase<E extends ContentEntry> {
  /** The content file relative to content/, null for a section without `_index.md` (or a home without one). */
  path: string | null;
  /** The page's URL, under the base path, with a trailing slash. */
  url: string;
  title: string;
  /** linkTitle, else title. */
  linkTitle: string;
  /** menuTitle, else linkTitle, else title. */
  menuTitle: string;
  /** 0 when unset. */
  weight: number;
  /** date, else publishDate, else lastmod; for a section without one, its latest page's. */
  date: Date | undefined;
  draft: boolean;
  hidden: boolean;
  /** 0 for the home page, 1 for top-level sections and pages… */
  depth: number;
  frontMatter: HugoFrontMatter | undefined;
  /** The entry given to buildContentTree, undefined for a section without `_index.md`. */
  entry: E | undefined;
  /** URL of the parent section, null for the home page. */
  parentUrl: string | null;
  /** From the home page down to this node, this node included. */
  breadcrumbs: Crumb[];
  /** Previous and next node in reading order (null at the ends, and for hidden nodes). */
  prev: NavLink | null;
  next: NavLink | null;
}

export interface PageNode<E extends ContentEntry = ContentEntry> extends NodeBase<E> {
  kind: 'page';
}

export interface SectionNode<E extends ContentEntry = ContentEntry> extends NodeBase<E> {
  kind: 'home' | 'section';
  /** The section's folder relative to content/ ("" for the home page). */
  dir: string;
  /** Sub-sections and pages, in Hugo's default order. */
  children: TreeNode<E>[];
}

export type TreeNode<E extends ContentEntry = ContentEntry> = PageNode<E> | SectionNode<E>;

export interface MenuItem {
  /** menuTitle, else linkTitle, else title. */
  title: string;
  url: string;
  /** Raw HTML shown before the title (Learn's `pre`, e.g. "<b>4. </b>"). */
  pre: string | undefined;
  /** Learn's `chapter: true`. */
  chapter: boolean;
  kind: 'section' | 'page';
  path: string | null;
  children: MenuItem[];
}

export interface ExcludedEntry {
  path: string;
  reason: 'draft' | 'in-draft-section' | 'bundle-resource';
}

export interface ContentTree<E extends ContentEntry = ContentEntry> {
  home: SectionNode<E>;
  /** Every built node (home, sections, pages), depth-first in Hugo order, hidden ones included. */
  nodes: TreeNode<E>[];
  /** The nodes the prev/next arrows walk through: `nodes` without hidden ones. */
  readingOrder: TreeNode<E>[];
  /** By content path (e.g. "docker_linux/namespaces.mdx"); sections without `_index.md` are not here. */
  byPath: Map<string, TreeNode<E>>;
  /** By URL (under the base path). */
  byUrl: Map<string, TreeNode<E>>;
  /** Redirects from `aliases`, under the base path. */
  redirects: AliasRedirect[];
  /** The sidebar menu: the home page's children, without hidden ones. */
  menu: MenuItem[];
  /** Entries given but not built, and why. */
  excluded: ExcludedEntry[];
}

/** A page's date as Hugo computes `.Date`: date, else publishDate, else lastmod. */
export function hugoDate(fm: Pick<HugoFrontMatter, 'date' | 'publishDate' | 'lastmod'> | undefined): Date | undefined {
  return fm?.date ?? fm?.publishDate ?? fm?.lastmod;
}

/**
 * Title Hugo gives a section without `_index.md`: first letter up, pluralised
 * ("autosec" → "Autosecs", "docker_linux" → "Docker_linuxes", "annexes" →
 * "Annexes"). Hugo pluralises with an English inflection library; these are its
 * regular rules only (it matters for the order of such sections when their
 * weights and dates are equal). Give the section an `_index.md` to choose its title.
 */
export function autoSectionTitle(dirName: string): string {
  const up = dirName.charAt(0).toUpperCase() + dirName.slice(1);
  if (/sis$/i.test(up)) return `${up.slice(0, -2)}es`;
  if (/s$/i.test(up)) return up;
  if (/(x|z|ch|sh)$/i.test(up)) return `${up}es`;
  if (/[^aeiou]y$/i.test(up)) return `${up.slice(0, -1)}ies`;
  return `${up}s`;
}

const parentDir = (dir: string): string | undefined => (dir === '' ? undefined : dir.includes('/') ? dir.slice(0, dir.lastIndexOf('/')) : '');
const isUnder = (p: string, dir: string): boolean => dir === '' || p.startsWith(`${dir}/`);

/**
 * Builds the site's tree from its content entries.
 * @throws ContentError when two entries get the same URL, or an alias is the URL of a page.
 */
export function buildContentTree<E extends ContentEntry>(
  entries: readonly E[],
  options: ContentTreeOptions = {},
): ContentTree<E> {
  const { buildDrafts = false, basePath, locale, disablePathToLower } = options;
  const urlOpts = { basePath, disablePathToLower };
  const excluded: ExcludedEntry[] = [];

  const infos = entries.map((entry) => ({ entry, info: classifyContentPath(entry.path) }));

  // Leaf bundles: every other file under an index.md's folder is one of its resources.
  const leafDirs = new Set(infos.filter((x) => x.info.bundle === 'leaf' && x.info.kind === 'page').map((x) => x.info.dirSegments.join('/')));
  const inLeafBundle = (info: ContentPathInfo) => {
    if (info.bundle === 'leaf') {
      // A bundle nested in another bundle is a resource of the outer one.
      for (let d = parentDir(info.dirSegments.join('/')); d !== undefined && d !== ''; d = parentDir(d)) if (leafDirs.has(d)) return true;
      return false;
    }
    for (let d: string | undefined = info.dirSegments.join('/'); d !== undefined && d !== ''; d = parentDir(d)) if (leafDirs.has(d)) return true;
    return false;
  };

  // Drafts: a draft section takes its whole subtree with it.
  const draftSectionDirs = buildDrafts
    ? []
    : infos.filter((x) => x.info.kind === 'section' && x.entry.frontMatter.draft === true).map((x) => x.info.dirSegments.join('/'));

  const kept: Array<{ entry: E; info: ContentPathInfo }> = [];
  for (const x of infos) {
    if (inLeafBundle(x.info)) excluded.push({ path: x.info.path, reason: 'bundle-resource' });
    else if (!buildDrafts && x.entry.frontMatter.draft === true) excluded.push({ path: x.info.path, reason: 'draft' });
    else if (draftSectionDirs.some((d) => isUnder(x.info.path, d))) excluded.push({ path: x.info.path, reason: 'in-draft-section' });
    else kept.push(x);
  }

  // Sections: home, folders with _index.md, and top-level folders holding content.
  const sections = new Map<string, SectionNode<E>>();
  const makeSection = (dir: string, entry: E | undefined, info: ContentPathInfo | undefined): SectionNode<E> => {
    const fm = entry?.frontMatter;
    const name = dir.split('/').pop() ?? '';
    const title = fm?.title ?? (dir === '' ? options.homeTitle ?? 'Accueil' : autoSectionTitle(name));
    const linkTitle = fm?.linkTitle || title;
    return {
      kind: dir === '' ? 'home' : 'section',
      dir,
      path: info?.path ?? null,
      url: hugoUrl(info?.path ?? (dir === '' ? '_index.md' : `${dir}/_index.md`), fm ?? {}, urlOpts),
      title,
      linkTitle,
      menuTitle: fm?.menuTitle || linkTitle,
      weight: fm?.weight ?? 0,
      date: hugoDate(fm),
      draft: fm?.draft === true,
      hidden: fm?.hidden === true,
      depth: dir === '' ? 0 : -1,
      frontMatter: fm,
      entry,
      parentUrl: null,
      breadcrumbs: [],
      prev: null,
      next: null,
      children: [],
    };
  };
  for (const x of kept) {
    if (x.info.kind === 'home' || x.info.kind === 'section') {
      const dir = x.info.dirSegments.join('/');
      if (x.info.kind === 'home' && x.info.bundle === 'leaf' && sections.has('')) continue;
      sections.set(dir, makeSection(dir, x.entry, x.info));
    }
  }
  if (!sections.has('')) sections.set('', makeSection('', undefined, undefined));
  for (const x of kept) {
    const top = x.info.dirSegments[0];
    const isTopLeafBundle = x.info.bundle === 'leaf' && x.info.dirSegments.length === 1;
    if (top !== undefined && !isTopLeafBundle && !sections.has(top)) sections.set(top, makeSection(top, undefined, undefined));
  }

  const sectionAbove = (dir: string): SectionNode<E> => {
    for (let d: string | undefined = dir; d !== undefined; d = parentDir(d)) {
      const s = sections.get(d);
      if (s) return s;
    }
    return sections.get('')!;
  };

  // Pages, and every node into its parent.
  const pages: PageNode<E>[] = [];
  for (const x of kept) {
    if (x.info.kind !== 'page') continue;
    const fm = x.entry.frontMatter;
    const linkTitle = fm.linkTitle || fm.title;
    pages.push({
      kind: 'page',
      path: x.info.path,
      url: hugoUrl(x.info.path, fm, urlOpts),
      title: fm.title,
      linkTitle,
      menuTitle: fm.menuTitle || linkTitle,
      weight: fm.weight ?? 0,
      date: hugoDate(fm),
      draft: fm.draft === true,
      hidden: fm.hidden === true,
      depth: -1,
      frontMatter: fm,
      entry: x.entry,
      parentUrl: null,
      breadcrumbs: [],
      prev: null,
      next: null,
    });
  }
  const dirOfPage = (p: PageNode<E>) => {
    const info = classifyContentPath(p.path!);
    const dir = info.dirSegments.join('/');
    // A leaf bundle's own folder is the page itself, not its section.
    return info.bundle === 'leaf' ? parentDir(dir) ?? '' : dir;
  };
  for (const p of pages) sectionAbove(dirOfPage(p)).children.push(p);
  for (const [dir, s] of sections) {
    if (dir === '') continue;
    sectionAbove(parentDir(dir) ?? '').children.push(s);
  }

  // Section dates (own, else the latest page under it), then order, depth, parents, breadcrumbs.
  const home = sections.get('')!;
  const latest = (s: SectionNode<E>): number | undefined => {
    let max: number | undefined;
    for (const c of s.children) {
      const t = c.kind === 'page' ? c.date?.getTime() : latest(c);
      if (t !== undefined && (max === undefined || t > max)) max = t;
    }
    if (s.date === undefined && max !== undefined) s.date = new Date(max);
    return s.date?.getTime() ?? max;
  };
  latest(home);

  const sortKey = (n: TreeNode<E>) => ({ weight: n.weight, date: n.date, linkTitle: n.linkTitle, title: n.title, path: n.path ?? '' });
  const nodes: TreeNode<E>[] = [];
  const visit = (n: TreeNode<E>, parent: SectionNode<E> | undefined) => {
    n.depth = parent ? parent.depth + 1 : 0;
    n.parentUrl = parent?.url ?? null;
    n.breadcrumbs = [...(parent?.breadcrumbs ?? []), { title: n.linkTitle, url: n.url }];
    nodes.push(n);
    if (n.kind !== 'page') {
      n.children.sort((a, b) => compareHugoPages(sortKey(a), sortKey(b), { locale }));
      for (const c of n.children) visit(c, n);
    }
  };
  visit(home, undefined);

  // URLs must be unique.
  const byUrl = new Map<string, TreeNode<E>>();
  const byPath = new Map<string, TreeNode<E>>();
  const fileOf = (n: TreeNode<E>) => (n.path ? `content/${n.path}` : `content/${(n as SectionNode<E>).dir}/ (a folder without _index.md)`);
  for (const n of nodes) {
    const other = byUrl.get(n.url);
    if (other) {
      throw new ContentError({
        file: fileOf(n),
        reason: `its URL ${n.url} is already the URL of ${fileOf(other)} (Hugo would silently publish only one of them)`,
        hint: 'give one of the two pages another slug or url in its front matter',
      });
    }
    byUrl.set(n.url, n);
    if (n.path) byPath.set(n.path, n);
  }

  // Reading order and prev/next; hidden subtrees are left out.
  const readingOrder: TreeNode<E>[] = [];
  const walk = (n: TreeNode<E>) => {
    if (n.hidden) return;
    readingOrder.push(n);
    if (n.kind !== 'page') n.children.forEach(walk);
  };
  walk(home);
  const link = (n: TreeNode<E> | undefined): NavLink | null => (n ? { title: n.linkTitle, url: n.url, path: n.path } : null);
  readingOrder.forEach((n, i) => {
    n.prev = link(readingOrder[i - 1]);
    n.next = link(readingOrder[i + 1]);
  });

  // Menu.
  const menuOf = (children: TreeNode<E>[]): MenuItem[] =>
    children
      .filter((c) => !c.hidden)
      .map((c) => ({
        title: c.menuTitle,
        url: c.url,
        pre: c.frontMatter?.pre,
        chapter: c.frontMatter?.chapter === true,
        kind: c.kind === 'page' ? 'page' : 'section',
        path: c.path,
        children: c.kind === 'page' ? [] : menuOf(c.children),
      }));

  // Redirects from aliases; an alias may not take a page's URL.
  const redirects: AliasRedirect[] = [];
  for (const n of nodes) {
    if (!n.path || !n.frontMatter?.aliases?.length) continue;
    for (const r of aliasRedirects(n.path, n.frontMatter, urlOpts)) {
      const taken = byUrl.get(r.from);
      if (taken) {
        throw new ContentError({
          file: `content/${n.path}`,
          reason: `its alias ${r.from} is the URL of ${fileOf(taken)}`,
          hint: 'remove that alias, or move the other page',
        });
      }
      redirects.push(r);
    }
  }

  return { home, nodes, readingOrder, byPath, byUrl, redirects, menu: menuOf(home.children), excluded };
}
