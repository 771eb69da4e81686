/**
 * Which content entries become pages, and which are left out and why:
 * resources of a leaf bundle (files under an index.md's folder), drafts unless
 * asked for (a draft section takes its whole subtree, as Hugo 0.111 does), and
 * in a multilingual site the files of the other languages (page.en.md when the
 * site is built in French): one language is built, the default one, its files
 * named with or without the language (page.fr.md or page.md).
 */
import type { ContentEntry, ContentLanguages, ExcludedEntry } from './content-tree-types.ts';
import { classifyContentPath, type ContentPathInfo } from './urls.ts';

export const parentDir = (dir: string): string | undefined => (dir === '' ? undefined : dir.includes('/') ? dir.slice(0, dir.lastIndexOf('/')) : '');
const isUnder = (p: string, dir: string): boolean => dir === '' || p.startsWith(`${dir}/`);

/** The language of a file named "page.fr.md" and the path without it ("page.md"); undefined language when it has none. */
export function contentLanguage(path: string, languages: ContentLanguages | undefined): { language: string | undefined; path: string } {
  const m = /^(.*)\.([a-z]{2,3}(?:-[a-z0-9]+)?)(\.mdx?)$/i.exec(path);
  if (!m || !languages?.codes.includes(m[2]!.toLowerCase())) return { language: undefined, path };
  return { language: m[2]!.toLowerCase(), path: m[1]! + m[3]! };
}

/** The base path of the built language: "/docs/" or, with defaultContentLanguageInSubdir, "/docs/fr/". */
export function languageBasePath(basePath: string | undefined, languages: ContentLanguages | undefined): string | undefined {
  if (!languages?.inSubdir) return basePath;
  const base = (basePath ?? '/').replace(/\/?$/, '/');
  return `${base}${languages.defaultLanguage}/`;
}

export interface SelectedEntry<E extends ContentEntry> {
  entry: E;
  /** Classified by its path without the language ("credits.en.md" → "credits.md"). */
  info: ContentPathInfo;
}

export function selectEntries<E extends ContentEntry>(
  entries: readonly E[],
  options: { buildDrafts: boolean; languages: ContentLanguages | undefined },
): { kept: SelectedEntry<E>[]; excluded: ExcludedEntry[] } {
  const { buildDrafts, languages } = options;
  const excluded: ExcludedEntry[] = [];
  const infos: SelectedEntry<E>[] = [];
  for (const entry of entries) {
    const { language, path } = contentLanguage(entry.path, languages);
    if (language !== undefined && language !== languages!.defaultLanguage) {
      excluded.push({ path: entry.path, reason: 'other-language' });
      continue;
    }
    infos.push({ entry, info: classifyContentPath(path) });
  }

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

  const kept: SelectedEntry<E>[] = [];
  for (const x of infos) {
    if (inLeafBundle(x.info)) excluded.push({ path: x.info.path, reason: 'bundle-resource' });
    else if (!buildDrafts && x.entry.frontMatter.draft === true) excluded.push({ path: x.info.path, reason: 'draft' });
    else if (draftSectionDirs.some((d) => isUnder(x.info.path, d))) excluded.push({ path: x.info.path, reason: 'in-draft-section' });
    else kept.push(x);
  }

  return { kept, excluded };
}
