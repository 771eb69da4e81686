/**
 * Which lab a page uses: the machines its snippets run on.
 *
 *   ---                                   content/docker_linux/swarm/_index.md
 *   machines: [node1, node2, node3]       the whole chapter shares one lab
 *   ---
 *
 * A page's own `machines:` wins; else the nearest section above it that
 * declares one (its `_index.md` or `_index.mdx`), up to the home page; else
 * the page has no lab and keeps the reader's one machine. Pages of one
 * chapter therefore ask for the same machines, and the server hands the same
 * lab back to the same reader from page to page.
 *
 * Pure: the caller says how to read a content file's front matter (from the
 * content collection at build time, from the files for the Markdown plugin).
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { LabOfPage } from '../snippets/block-machine.ts';
import { memoByFile } from './file-memo.ts';
import { hugoFrontMatterObject, normalizeFrontMatterKeys, parseFrontMatter } from './front-matter.ts';
import { classifyContentPath } from './urls.ts';

export interface PageLab {
  /** The machines, in the order written ("node1", "node2", "node3"); the first runs the blocks that name none. */
  machines: string[];
  /** The content path (relative to content/) that declares them: the page itself or a section's `_index.md`. */
  declaredIn: string;
}

/** The front matter of a content path, or undefined when there is no such file. */
export type FrontMatterOf = (contentPath: string) => { machines?: string[] | undefined } | undefined;

const SECTION_INDEXES = ['_index.md', '_index.mdx'];

/** The lab of the page at `contentPath` ("docker_linux/swarm.mdx"), or undefined for one machine. */
export function pageLab(contentPath: string, frontMatterOf: FrontMatterOf): PageLab | undefined {
  const own = frontMatterOf(contentPath)?.machines;
  if (own !== undefined) return { machines: [...own], declaredIn: contentPath };
  const info = classifyContentPath(contentPath);
  // A section's own page starts looking in the folder above; a leaf bundle (x/index.md) too: its folder is the page.
  const segments = [...info.dirSegments];
  if (info.kind === 'section' || info.kind === 'home' || info.bundle === 'leaf') segments.pop();
  for (let depth = segments.length; depth >= 0; depth--) {
    const dir = segments.slice(0, depth).join('/');
    for (const index of SECTION_INDEXES) {
      const path = dir === '' ? index : `${dir}/${index}`;
      if (path === contentPath) continue;
      const machines = frontMatterOf(path)?.machines;
      if (machines !== undefined) return { machines: [...machines], declaredIn: path };
    }
  }
  return undefined;
}

/**
 * The lab of a content file, reading the front matter of the page and of the
 * sections above it from the disk (the Markdown plugin and the MDX checks see
 * one file at a time). A file is parsed again only once it changed (file-memo.ts),
 * so the dev server sees an edited `_index.md` at once.
 * @returns null when the page has no lab; undefined when `absolute` is not under `contentDir`.
 */
export function labOfFile(absolute: string, contentDir: string, projectRoot: string): LabOfPage | null | undefined {
  const contentPath = relative(contentDir, absolute).split(sep).join('/');
  if (contentPath.startsWith('..') || isAbsolute(contentPath)) return undefined;
  const lab = pageLab(contentPath, (path) => {
    const file = join(contentDir, path);
    if (!existsSync(file)) return undefined;
    // Parsed again only when the file changed (file-memo.ts): npm run dev renders a page at each edit.
    return memoByFile('page-lab', file, (text) => {
      try {
        const { data } = parseFrontMatter(text, path);
        const machines = hugoFrontMatterObject.shape.machines.safeParse((normalizeFrontMatterKeys(data) as Record<string, unknown>).machines);
        // A bad value is the content loader's error to report, with its line; here it counts as none.
        return { machines: machines.success ? machines.data : undefined };
      } catch {
        return undefined;
      }
    });
  });
  if (lab === undefined) return null;
  const declared = join(contentDir, lab.declaredIn);
  const inProject = relative(projectRoot, declared);
  return { machines: lab.machines, declaredIn: inProject.startsWith('..') ? declared : inProject.split(sep).join('/') };
}
