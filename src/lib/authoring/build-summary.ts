// The line an author reads at the end of `npm run build`: what was published
// and how long the whole command took (from the process start: what the author
// waited, Astro's own timer starts later and stops before the Pagefind index).
// Listed last among the integrations, so that its build:done hook runs last.
import { performance } from 'node:perf_hooks';
import type { AstroIntegration } from 'astro';
import type { SiteConfig } from '../site-config.ts';
import { surveyContent, type ContentSurvey } from './content-survey.ts';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export function summaryLine(survey: ContentSurvey, seconds: number): string {
  return [
    `${plural(survey.pages, 'page', 'pages')} (${plural(survey.sections, 'section', 'sections')})`,
    plural(survey.runnable, 'runnable block', 'runnable blocks'),
    plural(survey.copyOnly, 'copy-only block', 'copy-only blocks'),
    `${plural(survey.draftsSkipped, 'draft', 'drafts')} skipped`,
  ].join(', ') + ` in ${seconds.toFixed(1)} s`;
}

export function buildSummary(site: SiteConfig): AstroIntegration {
  return {
    name: 'course-summary',
    hooks: {
      'astro:build:done': ({ logger }) => {
        // The page check already ran during content sync; counting again is a few milliseconds.
        logger.info(summaryLine(surveyContent(site, { transform: false }), performance.now() / 1000));
      },
    },
  };
}
