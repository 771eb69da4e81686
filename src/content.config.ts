// The course is one collection, "pages", over the Hugo content tree
// (COURSE_CONTENT_DIR): section index pages (_index.md) and pages (.md, .mdx),
// with YAML (---) or TOML (+++) front matter, which Astro's glob loader reads.
//
// Before handing over to glob(), every file's front matter is checked with the
// Hugo compatibility layer, which reports the file, the line and the fix;
// Astro's own schema error only names the file.
import { readFile } from 'node:fs/promises';
import { glob as globFiles } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { defineCollection } from 'astro:content';
import { glob, type Loader } from 'astro/loaders';
import { hugoFrontMatterSchema, parseHugoPage } from './lib/hugo/front-matter.ts';
import { currentSiteConfig } from './lib/site-config.ts';

const CONTENT_PATTERN = '**/*.{md,mdx}';

/** The file as the author knows it: relative to the project when inside it. */
function authorPath(absolute: string, projectRoot: string): string {
  const inProject = relative(projectRoot, absolute);
  return inProject.startsWith('..') ? absolute : inProject;
}

/** glob() preceded by the Hugo front matter check of every file. */
function hugoContentLoader(contentDir: string, projectRoot: string): Loader {
  const files = glob({
    pattern: CONTENT_PATTERN,
    base: contentDir,
    // The file's path is its identity ("docker_linux/namespaces"); glob()'s default would
    // use a front matter `slug`, which in Hugo only renames the last URL segment.
    generateId: ({ entry }) => entry.replace(/\.mdx?$/, ''),
    // Render Markdown while building pages rather than during content sync, where
    // glob() only logs a rendering error (a bad shortcode) and the build goes on.
    deferRender: true,
  });
  return {
    name: 'hugo-content-loader',
    async load(context) {
      for await (const entry of globFiles(CONTENT_PATTERN, { cwd: contentDir })) {
        const path = join(contentDir, entry);
        parseHugoPage(await readFile(path, 'utf8'), authorPath(path, projectRoot));
      }
      await files.load(context);
    },
  };
}

const site = currentSiteConfig();

export const collections = {
  pages: defineCollection({
    loader: hugoContentLoader(site.contentDir, site.projectRoot),
    schema: hugoFrontMatterSchema,
  }),
};
