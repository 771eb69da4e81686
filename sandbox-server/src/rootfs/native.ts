// The small C helpers of sandbox-server/native/, compiled with the host's gcc
// into the cache, named by the hash of their source (a changed source gives a
// new binary; an unchanged one is never rebuilt). Static, so that the same
// binary runs inside any root filesystem.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PrepareProgress } from '../drivers/driver.ts';
import { ensureAgentBuild } from './agent-build.ts';
import { CFLAGS, compileC } from './compile-c.ts';

const NATIVE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../native');

export const HELPERS = {
  /** PID 1 of a sandbox. */
  init: { source: 'sandbox-init.c', flags: ['-pthread'] },
  /** Host side: the sandbox's root filesystem view, then the OCI runtime. */
  launch: { source: 'sandbox-launch.c', flags: [] as string[] },
} as const;
export type HelperName = keyof typeof HELPERS;

/** Where helper `name` lives (or will live) in the cache. */
export function helperPath(cacheDir: string, name: HelperName): string {
  const { source, flags } = HELPERS[name];
  const hash = createHash('sha256')
    .update(readFileSync(join(NATIVE_DIR, source)))
    .update(JSON.stringify([CFLAGS, flags]))
    .digest('hex')
    .slice(0, 16);
  return join(cacheDir, 'native', `${source.replace(/\.c$/, '')}-${hash}`);
}

/** The compiled helpers, and the agent's JavaScript build beside them (agent-build.ts). */
export async function ensureHelpers(cacheDir: string, progress: PrepareProgress): Promise<Record<HelperName | 'agent', string>> {
  const paths = {} as Record<HelperName | 'agent', string>;
  for (const name of Object.keys(HELPERS) as HelperName[]) {
    const output = helperPath(cacheDir, name);
    paths[name] = output;
    if (existsSync(output)) continue;
    const { source, flags } = HELPERS[name];
    progress('native', `compiling ${source}`);
    const temporary = `${output}.tmp-${process.pid}`;
    try {
      await compileC(join(NATIVE_DIR, source), temporary, flags);
      await rename(temporary, output);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }
  paths.agent = await ensureAgentBuild(join(cacheDir, 'native'), progress);
  return paths;
}
