// The options of the Hugo Markdown plugin, from the site configuration: one
// place, so the build (astro.config.mjs) and the content survey that checks
// every page before it (content-survey.ts) read pages exactly alike.
import type { HugoMarkdownOptions } from '../hugo/markdown-plugin.ts';
import { contentLanguages } from '../hugo/site-config-file.ts';
import type { SiteConfig } from '../site-config.ts';

export function hugoMarkdownOptions(site: SiteConfig): HugoMarkdownOptions {
  return {
    basePath: site.basePath,
    sandboxUrl: site.sandboxUrl ?? site.basePath,
    externalLinkTarget: site.hugo.params.externalLinkTarget,
    projectRoot: site.projectRoot,
    siteDir: site.siteDir,
    contentDir: site.contentDir,
    buildDrafts: site.buildDrafts,
    disablePathToLower: site.hugo.disablePathToLower,
    siteParams: site.hugo.params.all,
    languages: contentLanguages(site.hugo),
  };
}
