// What an author reads of a build, from one survey of the content
// (content-survey.ts) made before Astro reads a single page:
// - every content problem of the course at once: `astro build` stops there,
//   listing them all with file:line and fix (Astro itself would stop at the
//   first page that throws); `astro dev` prints them and keeps serving, the
//   page shows its own error;
// - at the end, one line: what was published and how long the whole command
//   took (from the process start: what the author waited; Astro's own timer
//   starts later and stops before the Pagefind index).
// The survey runs here, in the integration (modules already loaded with the
// configuration), not in the content loader, which Vite's module runner loads
// module by module (measured: +0.8 s per build for the same code).
// Listed last among the integrations, so that its build:done line is the last.
import { performance } from 'node:perf_hooks';
import type { AstroIntegration } from 'astro';
import type { SiteConfig } from '../site-config.ts';
import { ContentProblemsError, surveyContent, type ContentSurvey } from './content-survey.ts';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export function summaryLine(survey: ContentSurvey, seconds: number): string {
  return `${[
    `${plural(survey.pages, 'page', 'pages')} (${plural(survey.sections, 'section', 'sections')})`,
    plural(survey.runnable, 'runnable block', 'runnable blocks'),
    plural(survey.copyOnly, 'copy-only block', 'copy-only blocks'),
    `${plural(survey.draftsSkipped, 'draft', 'drafts')} skipped`,
  ].join(', ')} in ${seconds.toFixed(1)} s`;
}

export function buildSummary(site: SiteConfig): AstroIntegration {
  let command: string = 'build';
  let survey: ContentSurvey | undefined;
  return {
    name: 'course-summary',
    hooks: {
      'astro:config:setup': (options) => {
        command = options.command;
      },
      'astro:config:done': ({ logger }) => {
        if (command !== 'build' && command !== 'dev') return;
        survey = surveyContent(site);
        if (survey.problems.length === 0) return;
        const error = new ContentProblemsError(survey.problems);
        if (command === 'build') throw error;
        logger.error(error.message);
      },
      'astro:build:done': ({ logger }) => {
        if (survey) logger.info(summaryLine(survey, performance.now() / 1000));
      },
    },
  };
}
