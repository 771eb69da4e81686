// How every C program of the project is built: the host's gcc, warnings as
// errors, static, so that the same binary runs inside any root filesystem.
// Used for the helpers (native.ts), the agent's terminal keeper
// (agent-build.ts) and, synchronously, by the tests' agent harness.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { promisify } from 'node:util';

export const CFLAGS: readonly string[] = ['-O2', '-Wall', '-Wextra', '-Werror', '-static'];

/** Compiles `source` to `output`; the error names the source and what the host lacks. */
export async function compileC(source: string, output: string, extraFlags: readonly string[] = []): Promise<void> {
  await mkdir(dirname(output), { recursive: true });
  try {
    await promisify(execFile)('gcc', [...CFLAGS, ...extraFlags, '-o', output, source]);
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr || (error as Error).message;
    throw new Error(`compiling ${basename(source)} failed (gcc and libc6-dev are needed): ${detail}`);
  }
}
