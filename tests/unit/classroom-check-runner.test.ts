// The exercise-check runner: every pending check in one exec, each in its
// own shell with a timeout, outputs and statuses read back per exercise; a
// cut run is an error, not failed checks. Runs the real runner script in the
// real /bin/sh through a stand-in for Sandbox.exec.
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { ExecResult, Sandbox } from '../../sandbox-server/src/drivers/driver.ts';
import { ChecksUnavailableError, Serialised, runChecks } from '../../sandbox-server/src/classroom/check-runner.ts';
import type { Exercise } from '../../sandbox-server/src/classroom/exercises.ts';

function exercise(id: string, check: string): Exercise {
  return { key: `p/#${id}`, page: 'p/', id, section: id, title: id, check };
}

/** Runs argv on this machine (as the agent would inside the sandbox). */
function localSandbox(edit: (result: ExecResult) => ExecResult = (result) => result): Sandbox {
  return {
    id: 'local',
    exec: (argv) =>
      new Promise((resolve) => {
        execFile(argv[0]!, argv.slice(1), { timeout: 20_000 }, (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
          resolve(edit({ code, stdout, stderr }));
        });
      }),
  } as Sandbox;
}

describe('runChecks', () => {
  it("reads each check's status and output, in order, whatever they print", async () => {
    const outcomes = await runChecks(localSandbox(), [
      exercise('pass', 'echo "PID 42 : my.name.is.bob"; exit 0'),
      exercise('fail', 'echo "Aucun processus"; exit 1'),
      exercise('noisy', 'printf "line 1\\nline 2\\n" >&2; printf "no newline"'),
      exercise('quoted', `echo "it's \\"quoted\\" and \\$literal"; false`),
    ]);
    expect(outcomes.map((outcome) => [outcome.exercise.id, outcome.passed, outcome.output])).toEqual([
      ['pass', true, 'PID 42 : my.name.is.bob'],
      ['fail', false, 'Aucun processus'],
      ['noisy', true, 'line 1\nline 2\nno newline'],
      ['quoted', false, 'it\'s "quoted" and $literal'],
    ]);
  });

  it('fails a check that hangs, and still runs the next one', async () => {
    const outcomes = await runChecks(localSandbox(), [exercise('hangs', 'sleep 30'), exercise('after', 'echo ok')]);
    expect(outcomes.map((outcome) => outcome.passed)).toEqual([false, true]);
  }, 20_000);

  it('refuses to read a run that was cut short as failed checks', async () => {
    const cut = localSandbox((result) => ({ ...result, code: null, stdout: result.stdout.slice(0, 3) }));
    await expect(runChecks(cut, [exercise('a', 'true')])).rejects.toThrow(ChecksUnavailableError);
  });

  it('runs nothing when the lesson declares no checks', async () => {
    await expect(runChecks({ id: 'vm' } as Sandbox, [])).resolves.toEqual([]);
  });
});

describe('Serialised', () => {
  it('never overlaps two runs of a key, and folds requests made meanwhile into one more run', async () => {
    const serial = new Serialised<number>();
    let running = 0;
    let runs = 0;
    let release!: () => void;
    const work = async () => {
      running++;
      expect(running).toBe(1);
      runs++;
      if (runs === 1) await new Promise<void>((resolve) => (release = resolve));
      running--;
      return runs;
    };
    const first = serial.run('alice', work);
    const second = serial.run('alice', work);
    const third = serial.run('alice', work);
    release();
    expect(await first).toBe(1);
    expect(await second).toBe(2);
    expect(await third).toBe(2);
    expect(runs).toBe(2);
  });
});
