// The class, as the rest of the server sees it: one object that gives each
// student one machine (machine-allocator.ts), checks their exercises when a
// command finishes (exercise-checker.ts), and tells the dashboard how every
// machine is doing (machine-watch.ts). Classes, links and progress live in
// the store; machines live in memory.
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { ManagedSandbox } from '../manager/managed-sandbox.ts';
import type { SandboxManager } from '../manager/sandbox-manager.ts';
import type { ExerciseState, StudentMachine, StudentStatus } from '../../../contracts/class-api.ts';
import type { ErrorInfo, LabMachine } from '../../../contracts/protocol.ts';
import type { ClassAuth } from './class-auth.ts';
import { ExerciseChecker } from './exercise-checker.ts';
import type { Exercise } from './exercises.ts';
import { MachineAllocator } from './machine-allocator.ts';
import { MachineWatch, type ViewerTarget } from './machine-watch.ts';
import type { ObservedDriver, TerminalObserver } from './observed-driver.ts';
import type { ClassRecord, ClassroomStore, CredentialRecord, StudentRecord } from './store.ts';

export { MachineRefusedError } from './machine-allocator.ts';
export { IDLE_AFTER_MS } from './machine-watch.ts';

/** How often the server looks for resets and revocations made by the CLI (another process). */
const SYNC_EVERY_MS = 2_000;

export interface ClassroomOptions {
  store: ClassroomStore;
  auth: ClassAuth;
  manager: SandboxManager;
  driver: ObservedDriver;
  exercises: readonly Exercise[];
  config: Pick<Config, 'driver' | 'maxSandboxes' | 'maxAge' | 'sandboxDisk'>;
  log: Logger;
}

export class Classroom implements TerminalObserver {
  readonly exercises: readonly Exercise[];
  readonly store: ClassroomStore;
  readonly auth: ClassAuth;
  readonly #log: Logger;
  readonly #machines: MachineAllocator;
  readonly #checker: ExerciseChecker;
  readonly #watch: MachineWatch;
  readonly #sync: NodeJS.Timeout;

  constructor(options: ClassroomOptions) {
    this.exercises = options.exercises;
    this.store = options.store;
    this.auth = options.auth;
    this.#log = options.log.child({ component: 'classroom' });
    const { store, auth, manager, config, exercises } = options;
    this.#machines = new MachineAllocator({ store, auth, manager, config, log: this.#log, onForget: (sandboxId) => this.#watch.forget(sandboxId) });
    this.#checker = new ExerciseChecker({ store, exercises, machines: this.#machines, log: this.#log });
    this.#watch = new MachineWatch(options.driver, this.#machines);
    this.#sync = setInterval(
      () => void this.syncWithStore().catch((error: unknown) => this.#log.error({ err: error }, 'classroom sync failed')),
      SYNC_EVERY_MS,
    );
    this.#sync.unref();
  }

  // ───────────── machines ─────────────

  /** The student's machine: the one they have, or a new one. Throws MachineRefusedError. */
  machineFor(student: StudentRecord, classRecord: ClassRecord, credential: CredentialRecord): Promise<{ managed: ManagedSandbox; token: string }> {
    return this.#machines.machineFor(student, classRecord, credential);
  }

  /** Why a client holding this sandbox's token may no longer attach (its student's link was revoked or expired). */
  attachRefusal(sandboxId: string): ErrorInfo | undefined {
    return this.#machines.attachRefusal(sandboxId);
  }

  /** Destroys the students' machines; with `replace`, gives those who had one a fresh one at once. */
  resetMachines(classRecord: ClassRecord, students: readonly StudentRecord[], replace: boolean): Promise<number> {
    return this.#machines.resetMachines(classRecord, students, replace);
  }

  /** Revokes the students' links and ends their machines. */
  revoke(classRecord: ClassRecord, students: readonly StudentRecord[]): Promise<void> {
    return this.#machines.revoke(classRecord, students);
  }

  /** Applies what the CLI changed in the store (revocations, resets). */
  syncWithStore(): Promise<void> {
    return this.#machines.syncWithStore();
  }

  // ───────────── checks and progress ─────────────

  /** TerminalObserver: a command ended in some sandbox. */
  commandFinished(sandboxId: string): void {
    this.#checker.commandFinished(sandboxId);
  }

  /** Runs the checks the student has not passed yet in their machine, records and returns the exercises' states. */
  evaluate(studentId: string): Promise<ExerciseState[]> {
    return this.#checker.evaluate(studentId);
  }

  exerciseStates(studentId: string): ExerciseState[] {
    return this.#checker.exerciseStates(studentId);
  }

  // ───────────── what the dashboard shows ─────────────

  machineOf(studentId: string, now = Date.now()): Promise<{ status: StudentStatus; machine: StudentMachine | null; lastActivityAt: number | null }> {
    return this.#watch.machineOf(studentId, now);
  }

  viewerTarget(studentId: string, terminal: string, machine?: string): ViewerTarget | undefined {
    return this.#watch.viewerTarget(studentId, terminal, machine);
  }

  /** Makes one machine of the student's lab anew (the others run on); rejects with a RangeError when the student has no such machine. */
  resetLabMachine(classRecord: ClassRecord, student: StudentRecord, machine: string): Promise<LabMachine[]> {
    return this.#machines.resetLabMachine(classRecord, student, machine);
  }

  /** Stops the timers; the machines are ended by the manager's own shutdown. */
  close(): void {
    this.#machines.close();
    this.#checker.close();
    clearInterval(this.#sync);
  }
}
