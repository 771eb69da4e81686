// Runs a host command to completion, keeping its last lines for the error
// message: a failed build step must say what the tool said.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Each line the command prints (stdout and stderr). */
  onLine?: (line: string) => void;
  /** Bytes written to the command's standard input. */
  input?: Buffer | string;
}

export class CommandError extends Error {
  override name = 'CommandError';
}

/** Resolves with the command's standard output; rejects with its last lines. */
export function runCommand(command: string, args: string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const lastLines: string[] = [];
    const collect = (line: string) => {
      lastLines.push(line);
      if (lastLines.length > 20) lastLines.shift();
      options.onLine?.(line);
    };
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    createInterface({ input: child.stdout! }).on('line', collect);
    createInterface({ input: child.stderr! }).on('line', collect);
    if (options.input !== undefined) child.stdin?.end(options.input);
    child.once('error', (error) => reject(new CommandError(`${command}: ${error.message}`)));
    child.once('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(stdout).toString('utf8'));
      else {
        const shown = [command, ...args.slice(0, 4)].join(' ');
        reject(new CommandError(`${shown}${args.length > 4 ? ' …' : ''} failed (${signal ?? `exit ${code}`}):\n${lastLines.join('\n')}`));
      }
    });
  });
}

/** True when `command` is found on PATH (or is an executable path). */
export async function commandExists(command: string): Promise<boolean> {
  return runCommand('sh', ['-c', 'command -v "$1"', 'sh', command]).then(
    () => true,
    () => false,
  );
}
