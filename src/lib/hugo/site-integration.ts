// Says at build start what of the Hugo site cannot be carried over as is:
// Markdown render hooks (layouts/_default/_markup/render-*.html) are Go
// templates this site does not run, so their effect is lost unless the
// configuration says the same thing (the common case has an equivalent).
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AstroIntegration } from 'astro';
import type { SiteConfig } from '../site-config.ts';

const EQUIVALENTS: Record<string, string> = {
  'render-link.html': 'external links in a new tab: set `externalLinkTarget = "_blank"` under [params] (Relearn\'s own setting), and delete the hook',
  'render-image.html': 'image sizes and classes: write Learn\'s query parameters, e.g. ![](/images/x.png?width=40pc&classes=shadow)',
  'render-heading.html': 'heading anchors: every heading already gets an id and a link in the table of contents',
  'render-codeblock-mermaid.html': 'mermaid fences are rendered as diagrams already: delete the hook',
};

export function hugoSiteIntegration(site: SiteConfig): AstroIntegration {
  return {
    name: 'course-hugo-site',
    hooks: {
      // Learn's attachments (page.files/ beside a page, files/ in a bundle) are published where the page links them.
      'astro:build:done': ({ dir, logger }) => {
        const out = fileURLToPath(dir);
        let copied = 0;
        const walk = (d: string) => {
          for (const name of readdirSync(d)) {
            const p = join(d, name);
            if (!statSync(p).isDirectory()) continue;
            if (name.endsWith('.files') || (name === 'files' && ['index.md', 'index.mdx', '_index.md'].some((f) => existsSync(join(d, f))))) {
              cpSync(p, join(out, relative(site.contentDir, p)), { recursive: true });
              copied++;
            } else walk(p);
          }
        };
        walk(site.contentDir);
        if (copied > 0) logger.info(`copied ${copied} attachment folder(s)`);
      },
      'astro:config:done': ({ logger }) => {
        const where = site.hugo.file ? `${site.hugo.file}` : 'no Hugo configuration file (defaults)';
        logger.info(`Hugo site ${site.siteDir} (${where}); title ${JSON.stringify(site.hugo.title ?? '(from content/_index.md)')}, base path ${site.basePath}`);
        for (const hook of site.renderHooks) {
          const name = hook.split('/').pop() ?? hook;
          const instead = EQUIVALENTS[name] ?? (name.startsWith('render-codeblock') ? 'write the block as a shortcode or a fenced block this site renders' : 'no equivalent: the default rendering is used');
          logger.warn(`${hook}: Hugo render hooks are Go templates and are not run here; the default rendering is used. Instead: ${instead}.`);
        }
      },
    },
  };
}
