// Commands run for the host without a terminal (exercise checks: "is the
// host name my.name.is.bob in that namespace?"): as root, in the sandbox's
// own cgroup rather than the terminals' (a fork bomb clean-up never kills a
// check), output kept up to a limit.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { EXEC_OUTPUT_LIMIT, type Exec, type ExecDone } from '../../contracts/agent-protocol.ts';

export function runExec({ argv, timeoutMs }: Exec): Promise<ExecDone> {
  return new Promise((resolve) => {
    const [file, ...args] = argv as [string, ...string[]];
    const child = spawn(file, args, {
      cwd: '/root',
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    const kept = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    const sizes = { stdout: 0, stderr: 0 };
    let truncated = false;
    for (const name of ['stdout', 'stderr'] as const) {
      child[name].on('data', (chunk: Buffer) => {
        const room = EXEC_OUTPUT_LIMIT - sizes[name];
        if (chunk.length > room) truncated = true;
        if (room <= 0) return;
        kept[name].push(chunk.subarray(0, room));
        sizes[name] += Math.min(room, chunk.length);
      });
    }
    let startError: string | undefined;
    child.once('error', (error) => (startError = error.message));
    child.once('close', (code, signal) => {
      resolve({
        code: signal ? null : code,
        signal: signal ? constants.signals[signal] : null,
        stdout: Buffer.concat(kept.stdout).toString('utf8'),
        stderr: Buffer.concat(kept.stderr).toString('utf8'),
        truncated,
        ...(startError ? { error: startError } : {}),
      });
    });
  });
}
