// The agent as plain JavaScript, built at prepare time into the cache.
//
// Node runs TypeScript by stripping types, but loading its type stripper
// costs every process ≈ 12 MiB of private memory; the agent runs once per
// sandbox, so it gets its types stripped once, here, with Node's own stripper
// (positions are kept: stack traces still point at the right lines), and its
// relative imports renamed from .ts to .js.
//
//   <cacheDir>/native/agent-<hash>/sandbox-server/agent/*.js
//   <cacheDir>/native/agent-<hash>/sandbox-server/agent/terminal-keeper   (terminal-keeper.c, static: runs in any root filesystem)
//   <cacheDir>/native/agent-<hash>/contracts/{agent-protocol,process-snapshot,names,sizes}.js
// (the repository's own layout, so the agent's relative imports resolve as they do here)
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PrepareProgress } from '../drivers/driver.ts';
import { CFLAGS, compileC } from './compile-c.ts';

const REPO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The agent's sources, relative to the repository's root: all that is copied into a machine (the boundary test holds the agent to it). */
export function agentSources(): string[] {
  const agent = readdirSync(join(REPO_DIR, 'sandbox-server/agent'))
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
    .map((name) => `sandbox-server/agent/${name}`);
  // The contracts the agent imports; nothing else of contracts/ (protocol.ts needs zod, which the machine has not).
  return [
    ...agent.sort(),
    'contracts/agent-protocol.ts',
    'contracts/process-snapshot.ts',
    'contracts/names.ts',
    'contracts/sizes.ts',
    'contracts/replay-buffer.ts',
  ];
}

/** The agent's C front, compiled into the build (its binary's path there is KEEPER_BINARY). */
export const KEEPER_SOURCE = 'sandbox-server/agent/terminal-keeper.c';
export const KEEPER_BINARY = 'sandbox-server/agent/terminal-keeper';

/** Directory name of the build of the current sources. */
export function agentBuildName(): string {
  const hash = createHash('sha256');
  for (const source of [...agentSources(), KEEPER_SOURCE]) hash.update(source).update(readFileSync(join(REPO_DIR, source)));
  hash.update(JSON.stringify(CFLAGS));
  return `agent-${hash.digest('hex').slice(0, 16)}`;
}

export async function ensureAgentBuild(nativeDir: string, progress: PrepareProgress): Promise<string> {
  const final = join(nativeDir, agentBuildName());
  if (existsSync(final)) return final;
  progress('native', "stripping the agent's types");
  const temporary = `${final}.tmp-${process.pid}`;
  try {
    for (const source of agentSources()) {
      const code = stripTypeScriptTypes(readFileSync(join(REPO_DIR, source), 'utf8'), { mode: 'strip' });
      const target = join(temporary, source.replace(/\.ts$/, '.js'));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, renameImports(code));
    }
    progress('native', 'compiling terminal-keeper.c');
    await compileC(join(REPO_DIR, KEEPER_SOURCE), join(temporary, KEEPER_BINARY));
    await rename(temporary, final);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    if (existsSync(final)) return final; // built by another process meanwhile
    throw error;
  }
  return final;
}

/** `from './x.ts'` → `from './x.js'`, for relative specifiers only. */
export function renameImports(code: string): string {
  return code.replace(/(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"\n]+)\.ts\2/g, '$1$2$3.js$2');
}
