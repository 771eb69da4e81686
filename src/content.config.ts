// The course is one collection, "pages", over the Hugo content tree
// (COURSE_CONTENT_DIR): section index pages (_index.md) and pages (.md, .mdx),
// with YAML (---) or TOML (+++) front matter, which Astro's glob loader reads.
//
// Before handing over to glob(), every page is checked by the content survey
// (src/lib/authoring/content-survey.ts): front matter, shortcodes and shell
// fences, each problem with its file, line and fix, all of them in one build;
// Astro's own schema error only names the file, and a render error stops at the first page.
import { defineCollection } from 'astro:content';
import { glob, type Loader } from 'astro/loaders';
import { ContentProblemsError, surveyContent } from './lib/authoring/content-survey.ts';
import { hugoFrontMatterSchema } from './lib/hugo/front-matter.ts';
import { currentSiteConfig, type SiteConfig } from './lib/site-config.ts';

const CONTENT_PATTERN = '**/*.{md,mdx}';

/** glob() preceded by the check of every page (front matter, shortcodes, shell fences): all problems at once. */
function hugoContentLoader(site: SiteConfig): Loader {
  const files = glob({
    pattern: CONTENT_PATTERN,
    base: site.contentDir,
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
      const { problems } = surveyContent(site);
      if (problems.length > 0) throw new ContentProblemsError(problems);
      await files.load(context);
    },
  };
}

const site = currentSiteConfig();

export const collections = {
  pages: defineCollection({
    loader: hugoContentLoader(site),
    schema: hugoFrontMatterSchema,
  }),
};
