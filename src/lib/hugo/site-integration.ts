// Says at build start what of the Hugo site cannot be carried over as is:
// Markdown render hooks (layouts/_default/_markup/render-*.html) are Go
// templates this site does not run, so their effect is lost unless the
// configuration says the same thing (the common case has an equivalent).
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AstroIntegration } from 'astro';
import type { SiteConfig } from '../site-config.ts';
import { MERMAID_SCRIPT } from './diagrams.ts';
import { siteIndex } from './shortcodes/site-index.ts';
import { contentLanguages } from './site-config-file.ts';

const isPage = (name: string) => /\.mdx?$/.test(name);

/** A bundle's resources (images next to an index.md or _index.md), as paths relative to its folder. */
function bundleResources(dir: string, leaf: boolean): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string, top: boolean) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) {
        // A branch bundle's sub-folders holding pages are sections of their own, not resources.
        const holdsPages = readdirSync(p, { recursive: true, encoding: 'utf8' }).some((f) => isPage(String(f)));
        if (leaf || !holdsPages) walk(p, join(rel, name), false);
      } else if (!isPage(name) && (leaf || !top || !name.startsWith('.'))) out.push(join(rel, name));
    }
  };
  walk(dir, '', true);
  return out;
}

const EQUIVALENTS: Record<string, string> = {
  'render-link.html': 'external links in a new tab: set `externalLinkTarget = "_blank"` under [params] (Relearn\'s own setting), and delete the hook',
  'render-image.html': "image sizes and classes: write Learn's query parameters, e.g. ![](/images/x.png?width=40pc&classes=shadow)",
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
        // Page bundles: Hugo publishes the files beside an index.md / _index.md at the page's URL.
        const index = siteIndex({
          contentDir: site.contentDir,
          basePath: site.basePath,
          buildDrafts: site.buildDrafts,
          disablePathToLower: site.hugo.disablePathToLower,
          languages: contentLanguages(site.hugo),
        });
        let resources = 0;
        for (const node of index.tree.nodes) {
          if (!node.path || !/(^|\/)_?index\.mdx?$/.test(node.path)) continue;
          const dir = join(site.contentDir, node.path, '..');
          const target = join(out, node.url.slice(site.basePath.length));
          for (const file of bundleResources(dir, /(^|\/)index\.mdx?$/.test(node.path))) {
            cpSync(join(dir, file), join(target, file));
            resources++;
          }
        }
        if (resources > 0) logger.info(`published ${resources} page bundle resource(s) at their pages' URLs`);
        // Mermaid's prebuilt script, only when some page draws a diagram.
        const pages = (readdirSync(out, { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => f.endsWith('.html'));
        const withDiagram = pages.filter((f) => readFileSync(join(out, f), 'utf8').includes('class="mermaid"')).length;
        if (withDiagram > 0) {
          mkdirSync(dirname(join(out, MERMAID_SCRIPT)), { recursive: true });
          cpSync(join(site.projectRoot, 'node_modules', 'mermaid', 'dist', 'mermaid.min.js'), join(out, MERMAID_SCRIPT));
          logger.info(`${withDiagram} page(s) with a Mermaid diagram: published ${MERMAID_SCRIPT}`);
        }
      },
      'astro:config:done': ({ logger }) => {
        const where = site.hugo.file ? `${site.hugo.file}` : 'no Hugo configuration file (defaults)';
        logger.info(`Hugo site ${site.siteDir} (${where}); title ${JSON.stringify(site.hugo.title ?? '(from content/_index.md)')}, base path ${site.basePath}`);
        for (const hook of site.renderHooks) {
          const name = hook.split('/').pop() ?? hook;
          const instead =
            EQUIVALENTS[name] ??
            (name.startsWith('render-codeblock')
              ? 'write the block as a shortcode or a fenced block this site renders'
              : 'no equivalent: the default rendering is used');
          logger.warn(`${hook}: Hugo render hooks are Go templates and are not run here; the default rendering is used. Instead: ${instead}.`);
        }
      },
    },
  };
}
