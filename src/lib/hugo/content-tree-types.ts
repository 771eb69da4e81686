/**
 * The shapes of the site's tree (content-tree.ts builds it): entries given,
 * nodes built (home, sections, pages), the menu, what was left out and why.
 */
import type { HugoFrontMatter } from './front-matter.ts';
import type { AliasRedirect } from './urls.ts';

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
  /** A multilingual site (files named page.fr.md): which language is built; default: one language. */
  languages?: ContentLanguages | undefined;
}

/** Hugo's languages as the tree needs them: one language is built, the default one. */
export interface ContentLanguages {
  /** defaultContentLanguage, lower-case ("fr"). */
  defaultLanguage: string;
  /** Every configured language code ("en", "fr"); a file "page.de.md" is only a translation when "de" is one. */
  codes: string[];
  /** defaultContentLanguageInSubdir: the default language under /fr/ too. */
  inSubdir: boolean;
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
  reason: 'draft' | 'in-draft-section' | 'bundle-resource' | 'other-language';
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
