// Indexes the built site with Pagefind right after `astro build`, whatever
// outDir the configuration chose, so one command gives a searchable site.
import { fileURLToPath } from 'node:url';
import type { AstroIntegration } from 'astro';
import * as pagefind from 'pagefind';

export function pagefindIndex(): AstroIntegration {
  return {
    name: 'course-pagefind',
    hooks: {
      'astro:build:done': async ({ dir, logger }) => {
        const outDir = fileURLToPath(dir);
        try {
          const { index, errors } = await pagefind.createIndex({});
          if (!index) throw new Error(errors.join('; '));
          const added = await index.addDirectory({ path: outDir });
          if (added.errors.length > 0) throw new Error(added.errors.join('; '));
          const written = await index.writeFiles({ outputPath: `${outDir}/pagefind` });
          if (written.errors.length > 0) throw new Error(written.errors.join('; '));
          logger.info(`indexed ${added.page_count} pages for search`);
        } catch (error) {
          throw new Error(`Pagefind could not index ${outDir}: ${(error as Error).message}. Check that the pagefind package is installed (npm ci).`);
        } finally {
          await pagefind.close();
        }
      },
    },
  };
}
