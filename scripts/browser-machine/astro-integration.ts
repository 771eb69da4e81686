// Ships the browser machine with the built site: after `astro build`, its
// assets (built once and cached, see build.ts) are copied into
// <outDir>/browser-machine/. Pages never load them before a click: the
// page's terminal code fetches manifest.json only when no server machine can
// be had, and the rest only once the reader accepts.
//
// COURSE_MACHINE=server ships nothing. With the default (auto), a host that
// cannot build the machine (no apt, not root) still gets its site, with a
// warning: Exécuter then only explains how to start the server. With
// COURSE_MACHINE=browser the machine is the point of the build: it fails.
import { copyFile, link, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AstroIntegration } from 'astro';
import { BROWSER_MACHINE_DIR } from '../../src/client/browser-machine/guest-layout.ts';
import { builtMachine, ensureBrowserMachine } from './build.ts';

/**
 * `buildIfMissing`: build the machine when it is not cached (the site's own
 * build into dist/, or COURSE_MACHINE=browser); other builds (tests' fixture
 * sites in temporary folders) ship it only if it is already there, so that
 * none of them waits minutes for a boot it does not need.
 */
export function browserMachineAssets(mode: 'auto' | 'browser' | 'server', buildIfMissing: boolean): AstroIntegration {
  return {
    name: 'course-browser-machine',
    hooks: {
      'astro:build:done': async ({ dir, logger }) => {
        if (mode === 'server') return;
        const target = join(fileURLToPath(dir), BROWSER_MACHINE_DIR);
        let source: string | undefined;
        try {
          source = buildIfMissing || mode === 'browser' ? await ensureBrowserMachine((message) => logger.info(message)) : builtMachine();
          if (source === undefined) return;
        } catch (error) {
          const why = `the browser machine could not be built: ${(error as Error).message}`;
          if (mode === 'browser')
            throw new Error(`${why}. COURSE_MACHINE=browser needs it: run npm run browser-machine:build as root on a host with apt and Debian's seabios.`);
          logger.warn(`${why}. The site is built without it: on a static host, Exécuter will only explain how to start the server.`);
          return;
        }
        await rm(target, { recursive: true, force: true });
        await mkdir(target, { recursive: true });
        for (const name of await readdir(source)) {
          if (name === 'build-log.txt') continue;
          // A hard link when the cache is on the same disk: many test builds, no copies of 15 MB each.
          await link(join(source, name), join(target, name)).catch(() => copyFile(join(source, name), join(target, name)));
        }
        logger.info(`browser machine shipped in ${BROWSER_MACHINE_DIR}/`);
      },
    },
  };
}
