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
import { buildMenu, buildRedirects } from './content-menu.ts';
import { languageBasePath, selectEntries } from './content-selection.ts';
import type { ContentEntry, ContentTree, ContentTreeOptions, NavLink, PageNode, SectionNode, TreeNode } from './content-tree-types.ts';
import type { HugoFrontMatter } from './front-matter.ts';
import { compareHugoPages } from './ordering.ts';
import { classifyContentPath, hugoUrl, type ContentPathInfo } from './urls.ts';

export type * from './content-tree-types.ts';

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

import { parentDir } from './content-selection.ts';

/**
 * Builds the site's tree from its content entries.
 * @throws ContentError when two entries get the same URL, or an alias is the URL of a page.
 */
export function buildContentTree<E extends ContentEntry>(entries: readonly E[], options: ContentTreeOptions = {}): ContentTree<E> {
  const { buildDrafts = false, locale, disablePathToLower } = options;
  const basePath = languageBasePath(options.basePath, options.languages);
  const urlOpts = { basePath, disablePathToLower };

  const { kept, excluded } = selectEntries(entries, { buildDrafts, languages: options.languages });

  // Sections: home, folders with _index.md, and top-level folders holding content.
  const sections = new Map<string, SectionNode<E>>();
  const makeSection = (dir: string, entry: E | undefined, info: ContentPathInfo | undefined): SectionNode<E> => {
    const fm = entry?.frontMatter;
    const name = dir.split('/').pop() ?? '';
    const title = fm?.title ?? (dir === '' ? (options.homeTitle ?? 'Accueil') : autoSectionTitle(name));
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
    return info.bundle === 'leaf' ? (parentDir(dir) ?? '') : dir;
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

  const menu = buildMenu(home.children);
  const redirects = buildRedirects(nodes, byUrl, urlOpts, fileOf);
  // A multilingual site with its default language in a subfolder: the site root sends readers there, as Hugo does.
  const siteRoot = (options.basePath ?? '/').replace(/\/?$/, '/');
  if (options.languages?.inSubdir && !byUrl.has(siteRoot)) redirects.push({ from: siteRoot, to: home.url, path: home.path ?? '' });

  return { home, nodes, readingOrder, byPath, byUrl, redirects, menu, excluded };
}
