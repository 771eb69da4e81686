// Every page of the course read once, before the build: what the build will
// publish (pages, sections, drafts left out, runnable and copy-only shell
// blocks) and every content problem, each with its file and line.
//
// Why before the build: Astro stops at the first page that throws, so an author
// with three mistakes would need three builds to learn about them. Here each
// page is checked on its own (front matter, then the same Markdown
// transformation the build runs), and the build fails once, listing them all.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ContentError } from '../hugo/errors.ts';
import { parseHugoPage } from '../hugo/front-matter.ts';
import { pageLab } from '../hugo/page-lab.ts';
import { createHugoPageTransform } from '../hugo/markdown-plugin.ts';
import { selectEntries } from '../hugo/content-selection.ts';
import type { ContentEntry } from '../hugo/content-tree-types.ts';
import { contentLanguages } from '../hugo/site-config-file.ts';
import { scanFences } from '../snippets/fence-scanner.ts';
import { FenceError, planShellBlock } from '../snippets/shell-fences.ts';
import type { SiteConfig } from '../site-config.ts';
import { hugoMarkdownOptions } from './markdown-options.ts';

export interface ContentProblem {
  file: string;
  line: number | undefined;
  /** The whole message: `file:line: what is wrong. Fix: …`. */
  message: string;
}

export interface ContentSurvey {
  /** Every published content page, the home and section pages included. */
  pages: number;
  /** Of those, the sections' pages (_index.md), the home excluded. */
  sections: number;
  runnable: number;
  copyOnly: number;
  draftsSkipped: number;
  problems: ContentProblem[];
}

/** The file as the author knows it: relative to the project when inside it. */
function authorPath(absolute: string, projectRoot: string): string {
  const inProject = relative(projectRoot, absolute);
  return inProject.startsWith('..') ? absolute : inProject.split('\\').join('/');
}

function problemOf(error: unknown, file: string): ContentProblem {
  if (error instanceof ContentError) return { file: error.file, line: error.line, message: error.message };
  return { file, line: undefined, message: `${file}: ${(error as Error).message}` };
}

/** The source with its front matter turned into blank lines: the Markdown parser sees the body at its true lines. */
function bodyAtItsLines(source: string, bodyStartLine: number): string {
  const lines = source.split('\n');
  return lines.map((line, i) => (i < bodyStartLine - 1 ? '' : line)).join('\n');
}

/**
 * Surveys the content tree. `transform: false` skips the Markdown
 * transformation (counts and front matter only, for a quick summary).
 */
export function surveyContent(site: SiteConfig, options: { transform?: boolean } = {}): ContentSurvey {
  const transformPage = options.transform === false ? undefined : createHugoPageTransform(hugoMarkdownOptions(site), { render: false });
  const files = readdirSync(site.contentDir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.mdx?$/.test(f))
    .map((f) => f.split('\\').join('/'))
    .sort();
  const problems: ContentProblem[] = [];
  const entries: (ContentEntry & { source: string; bodyStartLine: number; file: string; absolute: string })[] = [];
  for (const path of files) {
    const absolute = join(site.contentDir, path);
    const file = authorPath(absolute, site.projectRoot);
    const source = readFileSync(absolute, 'utf8');
    try {
      const { frontMatter, bodyStartLine } = parseHugoPage(source, file);
      entries.push({ path, frontMatter, source, bodyStartLine, file, absolute });
    } catch (error) {
      problems.push(problemOf(error, file));
    }
  }

  const { kept, excluded } = selectEntries(entries, { buildDrafts: site.buildDrafts, languages: contentLanguages(site.hugo) });
  // Each page's lab (its own machines:, else its section's), so a block naming another machine is listed with the rest.
  const frontMatterByPath = new Map(entries.map((entry) => [entry.path, entry.frontMatter]));
  let runnable = 0;
  let copyOnly = 0;
  for (const { entry } of kept) {
    // Fence attributes from the scanner: every fence of the page, at its true line
    // (the shortcode pass may move lines, and the transformation stops at the first error).
    const fenceReasons = new Set<string>();
    const lab = pageLab(entry.path, (path) => frontMatterByPath.get(path));
    const labOption = lab === undefined ? null : { machines: lab.machines, declaredIn: authorPath(join(site.contentDir, lab.declaredIn), site.projectRoot) };
    for (const fence of scanFences(entry.source)) {
      try {
        const plan = planShellBlock(fence.lang, fence.meta, fence.value, { lab: labOption });
        if (plan.kind === 'run') runnable++;
        else if (plan.kind === 'copy-only') copyOnly++;
      } catch (error) {
        if (!(error instanceof FenceError)) throw error;
        const problem = new ContentError({ file: entry.file, line: fence.line, reason: error.message, hint: error.hint });
        fenceReasons.add(problem.reason);
        problems.push(problemOf(problem, entry.file));
      }
    }
    if (transformPage && entry.path.endsWith('.md')) {
      try {
        transformPage(bodyAtItsLines(entry.source, entry.bodyStartLine), pathToFileURL(entry.absolute));
      } catch (error) {
        // A fence error the scanner already reported with its true line is not repeated.
        if (!(error instanceof ContentError && fenceReasons.has(error.reason))) problems.push(problemOf(error, entry.file));
      }
    }
  }
  const sections = kept.filter((x) => x.info.kind === 'section').length;
  return {
    pages: kept.length,
    sections,
    runnable,
    copyOnly,
    draftsSkipped: excluded.filter((x) => x.reason === 'draft' || x.reason === 'in-draft-section').length,
    problems: problems.sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0)),
  };
}

/** One error for all the problems, in the order of the files. */
export class ContentProblemsError extends Error {
  readonly problems: ContentProblem[];
  constructor(problems: ContentProblem[]) {
    super(`${problems.length} content problem(s) — fix them all, then build again:\n${problems.map((p) => `  ${p.message}`).join('\n')}`);
    this.name = 'ContentProblemsError';
    this.problems = problems;
  }
}
