// Runs exercise checks in a student's machine, as root, through the driver
// (Sandbox.exec): all the pending checks in one exec, each in its own shell
// under a timeout, so one evaluation costs one process start in the sandbox.
// Evaluations of one student never overlap: a request during a run is served
// by one more run right after it (checks look at the machine's state now).
import type { Sandbox } from '../drivers/driver.ts';
import type { Exercise } from './exercises.ts';

export interface CheckOutcome {
  exercise: Exercise;
  passed: boolean;
  /** What the check printed (its explanation), trimmed. */
  output: string;
}

/** Seconds each check may take before it counts as failed. */
const CHECK_TIMEOUT_SECONDS = 5;
const RECORD = '\x1e';
const END = '\x1d';
/**
 * Runs each script given as an argument, printing its output then a record
 * separator and its exit status; ends with a group separator so that a cut
 * run (the machine died) is not read as failed checks.
 */
const RUNNER = [
  'for check in "$@"; do',
  `  out=$(timeout -s KILL ${CHECK_TIMEOUT_SECONDS} /bin/sh -c "$check" 2>&1); code=$?`,
  `  printf '%s\\n${RECORD}%s\\n' "$out" "$code"`,
  'done',
  `printf '${END}\\n'`,
].join('\n');

export class ChecksUnavailableError extends Error {
  override name = 'ChecksUnavailableError';
}

/** Runs `exercises`' checks in `sandbox`; throws ChecksUnavailableError when they could not be run at all. */
export async function runChecks(sandbox: Sandbox, exercises: readonly Exercise[]): Promise<CheckOutcome[]> {
  if (exercises.length === 0) return [];
  const result = await sandbox.exec(['/bin/sh', '-c', RUNNER, 'checks', ...exercises.map((exercise) => exercise.check)], {
    timeoutMs: (CHECK_TIMEOUT_SECONDS * exercises.length + 10) * 1000,
  });
  const end = result.stdout.lastIndexOf(END);
  if (end < 0)
    throw new ChecksUnavailableError(`the checks did not run to the end (exit ${String(result.code)}): ${result.stderr.trim().slice(0, 300) || 'no message'}`);
  const records = result.stdout.slice(0, end).split(RECORD);
  // records: [out0, "code0\nout1", "code1\nout2", …, "codeN\n"]
  return exercises.map((exercise, index) => {
    const output = index === 0 ? records[0]! : records[index]!.slice(records[index]!.indexOf('\n') + 1);
    const codeLine = records[index + 1]?.split('\n', 1)[0] ?? '';
    return { exercise, passed: codeLine.trim() === '0', output: output.trim() };
  });
}

/** One evaluation at a time per key; asking during a run queues exactly one more. */
export class Serialised<T> {
  readonly #running = new Map<string, Promise<T>>();
  readonly #queued = new Map<string, Promise<T>>();

  run(key: string, work: () => Promise<T>): Promise<T> {
    const queued = this.#queued.get(key);
    if (queued) return queued;
    const running = this.#running.get(key);
    if (running) {
      const next = running
        .catch(() => undefined)
        .then(() => {
          this.#queued.delete(key);
          return this.run(key, work);
        });
      this.#queued.set(key, next);
      return next;
    }
    const started = work().finally(() => this.#running.delete(key));
    this.#running.set(key, started);
    return started;
  }
}
