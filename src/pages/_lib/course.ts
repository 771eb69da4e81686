// The course as the pages see it: the "pages" collection turned into Hugo's
// content tree (sections, order, URLs, drafts, prev/next, menu), once per build.
import { relative, resolve } from 'node:path';
import { getCollection, type CollectionEntry } from 'astro:content';
import { buildContentTree, type ContentEntry, type ContentTree, type TreeNode } from '../../lib/hugo/content-tree.ts';
import { contentLanguages } from '../../lib/hugo/site-config-file.ts';
import { currentSiteConfig } from '../../lib/site-config.ts';

export interface CourseEntry extends ContentEntry {
  collectionEntry: CollectionEntry<'pages'>;
}

export type CourseTree = ContentTree<CourseEntry>;
export type CourseNode = TreeNode<CourseEntry>;

export const site = currentSiteConfig();

let course: Promise<CourseTree> | undefined;

export function loadCourse(): Promise<CourseTree> {
  course ??= (async () => {
    const entries = await getCollection('pages');
    return buildContentTree(
      entries.map((collectionEntry) => ({
        // Hugo's rules work on the path relative to content/, extension included.
        path: relative(site.contentDir, resolve(site.projectRoot, collectionEntry.filePath ?? `${collectionEntry.id}.md`)).replaceAll('\\', '/'),
        frontMatter: collectionEntry.data,
        collectionEntry,
      })),
      {
        buildDrafts: site.buildDrafts,
        basePath: site.basePath,
        locale: site.hugo.languageCode ?? 'fr',
        disablePathToLower: site.hugo.disablePathToLower,
        languages: contentLanguages(site.hugo),
      },
    );
  })();
  return course;
}

/** Astro's route parameter for a URL under the base path: "/tp-iut-docker/a/b/" → "a/b"; the home page → undefined. */
export function routeParam(url: string): string | undefined {
  const withoutBase = url.startsWith(site.basePath) ? url.slice(site.basePath.length) : url.replace(/^\//, '');
  const trimmed = withoutBase.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? undefined : trimmed;
}
