/**
 * What the tree gives the sidebar and the server: the menu (Learn's chapters
 * and pages, hidden ones left out) and the alias redirects.
 */
import { ContentError } from './errors.ts';
import type { ContentEntry, MenuItem, TreeNode } from './content-tree-types.ts';
import { aliasRedirects, type AliasRedirect, type HugoUrlOptions } from './urls.ts';

/** The sidebar menu from a section's children. */
export function buildMenu<E extends ContentEntry>(children: TreeNode<E>[]): MenuItem[] {
  return children
    .filter((c) => !c.hidden)
    .map((c) => ({
      title: c.menuTitle,
      url: c.url,
      pre: c.frontMatter?.pre,
      chapter: c.frontMatter?.chapter === true,
      kind: c.kind === 'page' ? 'page' : 'section',
      path: c.path,
      children: c.kind === 'page' ? [] : buildMenu(c.children),
    }));
}

/**
 * Redirects from `aliases`; an alias may not take a page's URL.
 * @throws ContentError naming the page and the page whose URL its alias takes.
 */
export function buildRedirects<E extends ContentEntry>(
  nodes: TreeNode<E>[],
  byUrl: Map<string, TreeNode<E>>,
  urlOpts: HugoUrlOptions,
  fileOf: (n: TreeNode<E>) => string,
): AliasRedirect[] {
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
  return redirects;
}

/** Learn's `ordersectionsby = "title"`: the menu sorted by title at every level (the default is Hugo's weight order). */
export function menuByTitle(menu: MenuItem[], locale = 'fr'): MenuItem[] {
  return [...menu]
    .sort((a, b) => a.title.localeCompare(b.title, locale, { sensitivity: 'base', numeric: true }))
    .map((item) => ({ ...item, children: menuByTitle(item.children, locale) }));
}
