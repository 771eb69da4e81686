/**
 * The site's pages as the shortcodes that point at other pages see them
 * (ref, relref, children, attachments): built once per build from the content
 * folder with the same rules as the pages themselves (content-tree.ts).
 *
 * ref/relref resolve like Hugo's GetPage: a path from the content root
 * ("/docker_linux/namespaces.md", "docker_linux/namespaces"), a path relative
 * to the page ("namespaces.md", "../annexes/"), or a file's name when only one
 * page has it ("namespaces"); an anchor ("#les-namespaces") is kept.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { contentLanguage } from '../content-selection.ts';
import { buildContentTree, type ContentEntry, type ContentLanguages, type ContentTree, type TreeNode } from '../content-tree.ts';
import { memoByFile } from '../file-memo.ts';
import { parseHugoPage } from '../front-matter.ts';

export interface SiteIndexOptions {
  contentDir: string;
  basePath: string;
  buildDrafts: boolean;
  disablePathToLower?: boolean | undefined;
  languages?: ContentLanguages | undefined;
}

export interface SiteIndex {
  tree: ContentTree;
  /** The page of a content file ("docker_linux/namespaces.md"). */
  byPath(path: string): TreeNode | undefined;
  /** Resolves a ref/relref target from the page `from` (a content path); undefined when no page matches. */
  resolve(target: string, from: string): { url: string; node: TreeNode } | undefined;
  /** Files of a page's attachments folder (Learn: `page.files/` beside it, or `files/` in a bundle), relative to content/. */
  attachments(from: string): string[];
}

const cache = new Map<string, { stamp: string; index: SiteIndex }>();

function contentFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((f) => /\.mdx?$/.test(f) && !f.split(/[\\/]/).some((s) => s.endsWith('.files')))
    .map((f) => f.split('\\').join('/'))
    .sort();
}

export function siteIndex(options: SiteIndexOptions): SiteIndex {
  const key = JSON.stringify(options);
  // A page whose front matter cannot be read stays in the index without it (refs to it still
  // resolve): its own error is reported by the content check (authoring/content-survey.ts),
  // once, with its line, and the other pages' shortcodes are still checked instead of all
  // failing on it. Each file is parsed again only when it changed (file-memo.ts).
  const entries: ContentEntry[] = contentFiles(options.contentDir).map((path) => ({
    path,
    frontMatter: memoByFile('site-index', join(options.contentDir, path), (text) => {
      try {
        return parseHugoPage(text, `content/${path}`).frontMatter;
      } catch {
        return { title: posix.basename(path).replace(/\.mdx?$/, '') };
      }
    }),
  }));
  // What the index is made of: the same pages with the same front matter give the same index (an edit
  // of a page's text, the usual one in npm run dev, does not build it again).
  const stamp = JSON.stringify(entries);
  const known = cache.get(key);
  if (known && known.stamp === stamp) return known.index;
  const tree = buildContentTree(entries, {
    basePath: options.basePath,
    buildDrafts: options.buildDrafts,
    disablePathToLower: options.disablePathToLower,
    languages: options.languages,
  });
  /** The tree's key of a file: its path without the language ("credits.en.md" → "credits.md"). */
  const logical = (p: string) => contentLanguage(p, options.languages).path;
  const byLowerPath = new Map<string, TreeNode>();
  const byName = new Map<string, TreeNode[]>();
  for (const node of tree.nodes) {
    if (!node.path) continue;
    const lower = node.path.toLowerCase();
    byLowerPath.set(lower, node);
    const base = posix.basename(lower).replace(/\.mdx?$/, '');
    const name = base === '_index' || base === 'index' ? posix.basename(posix.dirname(lower)) : base;
    byName.set(name, [...(byName.get(name) ?? []), node]);
  }
  const candidates = (p: string): string[] => {
    const clean = p.replace(/^\/+|\/+$/g, '').toLowerCase();
    if (clean === '') return ['_index.md', '_index.mdx'];
    return [clean, `${clean}.md`, `${clean}.mdx`, `${clean}/_index.md`, `${clean}/_index.mdx`, `${clean}/index.md`, `${clean}/index.mdx`];
  };
  const lookup = (p: string): TreeNode | undefined => {
    for (const c of candidates(p)) {
      const n = byLowerPath.get(c);
      if (n) return n;
    }
    return undefined;
  };
  const index: SiteIndex = {
    tree,
    byPath: (path) => byLowerPath.get(logical(path).toLowerCase()),
    resolve(target, from) {
      const hash = target.indexOf('#');
      const path = (hash === -1 ? target : target.slice(0, hash)).trim();
      const anchor = hash === -1 ? '' : target.slice(hash);
      let node: TreeNode | undefined;
      from = logical(from);
      if (path === '') node = byLowerPath.get(from.toLowerCase());
      else if (path.startsWith('/')) node = lookup(logical(path));
      else {
        const fromDir = posix.dirname(from);
        const ownDir = /(^|\/)(_?index)\.mdx?$/.test(from) ? fromDir : fromDir;
        const target = logical(path);
        node = lookup(posix.normalize(posix.join(ownDir === '.' ? '' : ownDir, target))) ?? lookup(target);
        if (!node && !path.includes('/')) {
          const named = byName.get(path.toLowerCase().replace(/\.mdx?$/, ''));
          if (named?.length === 1) node = named[0];
        }
      }
      return node ? { url: node.url + anchor, node } : undefined;
    },
    attachments(from) {
      const dir = posix.dirname(from);
      const base = posix.basename(from).replace(/\.mdx?$/, '');
      const folder = base === 'index' || base === '_index' ? posix.join(dir, 'files') : posix.join(dir, `${base}.files`);
      const abs = join(options.contentDir, folder);
      if (!existsSync(abs) || !statSync(abs).isDirectory()) return [];
      return readdirSync(abs)
        .filter((f) => !f.startsWith('.') && statSync(join(abs, f)).isFile())
        .sort()
        .map((f) => posix.join(folder === '.' ? '' : folder, f).replace(/^\.\//, ''));
    },
  };
  cache.set(key, { stamp, index });
  return index;
}
