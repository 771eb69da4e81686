// Runs the exercise checks in a student's machine when a command finishes
// there (a little later: commands come in bursts), records what passed, and
// says where each exercise stands.
import type { Logger } from '../log.ts';
import type { ExerciseState } from '../../../contracts/class-api.ts';
import { ChecksUnavailableError, type CheckOutcome, runChecks, Serialised } from './check-runner.ts';
import type { Exercise } from './exercises.ts';
import type { MachineAllocator } from './machine-allocator.ts';
import type { ClassroomStore } from './store.ts';

/** Commands often come in bursts: wait this long after one ends before checking. */
const CHECK_DELAY_MS = 200;

export interface ExerciseCheckerOptions {
  store: ClassroomStore;
  exercises: readonly Exercise[];
  machines: MachineAllocator;
  log: Logger;
}

export class ExerciseChecker {
  readonly #options: ExerciseCheckerOptions;
  readonly #log: Logger;
  readonly #checks = new Serialised<CheckOutcome[]>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #closed = false;
  /** A driver without exec cannot check exercises: say so once, not after every command. */
  #toldChecksUnavailable = false;

  constructor(options: ExerciseCheckerOptions) {
    this.#options = options;
    this.#log = options.log;
  }

  /** A command ended in some sandbox; if it is a student's, check their exercises shortly. */
  commandFinished(sandboxId: string): void {
    const studentId = this.#options.machines.studentOf(sandboxId);
    if (studentId === undefined || this.#closed || this.#timers.has(studentId)) return;
    const timer = setTimeout(() => {
      this.#timers.delete(studentId);
      void this.evaluate(studentId).catch((error: unknown) => this.#log.warn({ err: error, student: studentId }, 'exercise checks failed'));
    }, CHECK_DELAY_MS);
    timer.unref();
    this.#timers.set(studentId, timer);
  }

  /** Runs the checks the student has not passed yet in their machine, records and returns the exercises' states. */
  async evaluate(studentId: string): Promise<ExerciseState[]> {
    const { store, exercises, machines } = this.#options;
    await this.#checks.run(studentId, async () => {
      const machine = machines.machine(studentId);
      const passed = new Set(
        store
          .checkResults(studentId)
          .filter((result) => result.passedAt !== null)
          .map((result) => result.exercise),
      );
      const pending = exercises.filter((exercise) => !passed.has(exercise.key));
      if (!machine || pending.length === 0 || this.#closed) return [];
      let outcomes: CheckOutcome[];
      try {
        outcomes = await runChecks(machine.sandbox, pending);
      } catch (error) {
        if (error instanceof ChecksUnavailableError) {
          if (!this.#toldChecksUnavailable) this.#log.warn({ student: studentId, reason: error.message }, 'exercise checks not run');
          this.#toldChecksUnavailable = true;
          return [];
        }
        throw error;
      }
      if (this.#closed) return outcomes;
      for (const outcome of outcomes) store.recordCheck(studentId, outcome.exercise.key, outcome.passed, outcome.output);
      const newlyPassed = outcomes.filter((outcome) => outcome.passed).map((outcome) => outcome.exercise.key);
      if (newlyPassed.length > 0) this.#log.info({ student: studentId, exercises: newlyPassed }, 'exercises passed');
      return outcomes;
    });
    return this.exerciseStates(studentId);
  }

  exerciseStates(studentId: string): ExerciseState[] {
    const results = new Map(this.#options.store.checkResults(studentId).map((result) => [result.exercise, result]));
    return this.#options.exercises.map((exercise) => {
      const passedAt = results.get(exercise.key)?.passedAt ?? null;
      return {
        key: exercise.key,
        page: exercise.page,
        id: exercise.id,
        section: exercise.section,
        title: exercise.title,
        passedAt: passedAt === null ? null : new Date(passedAt).toISOString(),
      };
    });
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
