// The class: gives each student one machine that follows them across pages
// and reloads (the same sandbox for every request carrying their link) until
// it expires, they reset it, or the instructor resets it; runs the exercise
// checks when a command finishes in their terminals; and tells the dashboard
// how everyone is doing. Machines live in memory (a restart ends them, they
// are made again on demand); classes, links and progress live in the store.
import type { Config } from '../config.ts';
import type { SandboxLimits } from '../drivers/driver.ts';
import type { Logger } from '../log.ts';
import type { ManagedSandbox } from '../manager/managed-sandbox.ts';
import { CapacityError, ShuttingDownError, type SandboxManager } from '../manager/sandbox-manager.ts';
import type { TerminalSession } from '../manager/terminal-session.ts';
import type { ErrorInfo, ExerciseState } from '../../../contracts/protocol.ts';
import type { ClassAuth } from './class-auth.ts';
import { ChecksUnavailableError, Serialised, runChecks, type CheckOutcome } from './check-runner.ts';
import type { Exercise } from './exercises.ts';
import { instructorEvents, studentErrors } from './messages.ts';
import type { ObservedDriver, ObservedTerminal, TerminalObserver } from './observed-driver.ts';
import type { ClassRecord, ClassroomStore, CredentialRecord, StudentRecord } from './store.ts';

/** A student with a machine but no keystroke nor command for this long is "idle". */
export const IDLE_AFTER_MS = 5 * 60_000;
/** How often the server looks for resets and revocations made by the CLI (another process). */
const SYNC_EVERY_MS = 2_000;
/** Commands often come in bursts: wait this long after one ends before checking. */
const CHECK_DELAY_MS = 200;
/** Same refusal for the same student: one event a minute is enough for the dashboard. */
const EVENT_REPEAT_MS = 60_000;

export interface ClassroomOptions {
  store: ClassroomStore;
  auth: ClassAuth;
  manager: SandboxManager;
  driver: ObservedDriver;
  exercises: readonly Exercise[];
  config: Pick<Config, 'driver' | 'maxSandboxes' | 'maxAge' | 'sandboxDisk'>;
  log: Logger;
}

interface Allocation {
  studentId: string;
  classId: string;
  sandboxId: string;
  token: string;
  expiresAt: Date;
  credentialHash: string;
  /** The student's reset generation when the machine was made. */
  generation: number;
}

/** A student could not get a machine: HTTP status, French explanation, when to retry. */
export class MachineRefusedError extends Error {
  override name = 'MachineRefusedError';
  readonly status: number;
  readonly info: ErrorInfo;
  readonly retryAfterSeconds: number | undefined;
  constructor(status: number, info: ErrorInfo, retryAfterSeconds?: number) {
    super(info.message);
    this.status = status;
    this.info = info;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export type { ExerciseState };

export interface StudentMachine {
  id: string;
  createdAt: string;
  ageSeconds: number;
  expiresAt: string;
  terminals: { name: string; attached: boolean; cols: number; rows: number }[];
  cpuPercent: number | null;
  memoryBytes: number | null;
  pids: number | null;
}

export type StudentStatus = 'online' | 'idle' | 'none';

export class Classroom implements TerminalObserver {
  readonly exercises: readonly Exercise[];
  readonly store: ClassroomStore;
  readonly auth: ClassAuth;
  readonly #options: ClassroomOptions;
  readonly #log: Logger;
  readonly #allocations = new Map<string, Allocation>();
  readonly #bySandbox = new Map<string, string>();
  readonly #obtaining = new Map<string, Promise<Allocation>>();
  readonly #checks = new Serialised<CheckOutcome[]>();
  readonly #checkTimers = new Map<string, NodeJS.Timeout>();
  readonly #cpuSamples = new Map<string, { cpuSeconds: number; at: number }>();
  readonly #recentEvents = new Map<string, number>();
  readonly #sync: NodeJS.Timeout;
  #closed = false;
  /** A driver without exec cannot check exercises: say so once, not after every command. */
  #toldChecksUnavailable = false;

  constructor(options: ClassroomOptions) {
    this.#options = options;
    this.exercises = options.exercises;
    this.store = options.store;
    this.auth = options.auth;
    this.#log = options.log.child({ component: 'classroom' });
    this.#sync = setInterval(() => void this.syncWithStore().catch((error: unknown) => this.#log.error({ err: error }, 'classroom sync failed')), SYNC_EVERY_MS);
    this.#sync.unref();
  }

  // ───────────── machines ─────────────

  /** The student's machine: the one they have, or a new one. Throws MachineRefusedError. */
  async machineFor(student: StudentRecord, classRecord: ClassRecord, credential: CredentialRecord): Promise<{ managed: ManagedSandbox; token: string }> {
    const current = this.#live(student.id);
    if (current) {
      // A new link for the same student takes over the machine.
      current.allocation.credentialHash = credential.hash;
      return { managed: current.managed, token: current.allocation.token };
    }
    let obtaining = this.#obtaining.get(student.id);
    if (!obtaining) {
      obtaining = this.#create(student, classRecord, credential.hash).finally(() => this.#obtaining.delete(student.id));
      this.#obtaining.set(student.id, obtaining);
    }
    const allocation = await obtaining;
    const managed = this.#options.manager.get(allocation.sandboxId);
    if (!managed) throw new MachineRefusedError(500, studentErrors.sandboxFailed());
    return { managed, token: allocation.token };
  }

  async #create(student: StudentRecord, classRecord: ClassRecord, credentialHash: string): Promise<Allocation> {
    const { config, manager } = this.#options;
    if (classRecord.driver !== config.driver) {
      this.#event(classRecord.id, student.id, 'wrong-driver', instructorEvents.wrongDriver(student.name, classRecord.driver, config.driver));
      throw new MachineRefusedError(503, studentErrors.wrongDriver(classRecord.driver, config.driver));
    }
    const generation = this.store.student(student.id)?.resetGeneration ?? student.resetGeneration;
    const limits: SandboxLimits = {
      memoryBytes: classRecord.limits.memoryBytes,
      cpus: classRecord.limits.cpus,
      pids: classRecord.limits.pids,
      // The writable layer lives in memory: keep it well below the class's memory limit.
      diskBytes: Math.min(config.sandboxDisk, Math.floor(classRecord.limits.memoryBytes / 2)),
    };
    try {
      const { sandbox, token } = await manager.create(`student:${student.id}`, {
        limits,
        docker: classRecord.docker,
        maxAgeMs: Math.max(1000, Math.min(config.maxAge, classRecord.expiresAt - Date.now())),
      });
      const allocation: Allocation = {
        studentId: student.id,
        classId: classRecord.id,
        sandboxId: sandbox.id,
        token,
        expiresAt: sandbox.expiresAt,
        credentialHash,
        generation,
      };
      this.#allocations.set(student.id, allocation);
      this.#bySandbox.set(sandbox.id, student.id);
      sandbox.log.info({ student: student.id, class: classRecord.id }, 'machine given to a student');
      return allocation;
    } catch (error) {
      if (error instanceof CapacityError) {
        this.#event(classRecord.id, student.id, 'server-full', instructorEvents.serverFull(student.name, config.maxSandboxes));
        throw new MachineRefusedError(503, studentErrors.serverFull(config.maxSandboxes, error.retryAfterSeconds), error.retryAfterSeconds);
      }
      if (error instanceof ShuttingDownError) {
        throw new MachineRefusedError(503, { code: 'server-shutting-down', message: 'Le serveur de la classe redémarre.', hint: 'Réessayez dans un instant.' }, 10);
      }
      this.#log.error({ err: error, student: student.id }, 'machine for a student failed');
      this.#event(classRecord.id, student.id, 'sandbox-failed', instructorEvents.sandboxFailed(student.name, (error as Error).message.slice(0, 200)));
      throw new MachineRefusedError(500, studentErrors.sandboxFailed());
    }
  }

  /** The student's allocation and machine, if it is still running. */
  #live(studentId: string): { allocation: Allocation; managed: ManagedSandbox } | undefined {
    const allocation = this.#allocations.get(studentId);
    if (!allocation) return undefined;
    const managed = this.#options.manager.get(allocation.sandboxId);
    if (!managed) {
      this.#forget(allocation);
      return undefined;
    }
    return { allocation, managed };
  }

  #forget(allocation: Allocation): void {
    if (this.#allocations.get(allocation.studentId) === allocation) this.#allocations.delete(allocation.studentId);
    this.#bySandbox.delete(allocation.sandboxId);
    this.#cpuSamples.delete(allocation.sandboxId);
  }

  /** Why a client holding this sandbox's token may no longer attach (its student's link was revoked or expired). */
  attachRefusal(sandboxId: string): ErrorInfo | undefined {
    const studentId = this.#bySandbox.get(sandboxId);
    const allocation = studentId === undefined ? undefined : this.#allocations.get(studentId);
    if (!allocation) return undefined;
    return this.auth.stillValid(allocation.credentialHash)?.error;
  }

  /** Destroys the students' machines; with `replace`, gives those who had one a fresh one at once. */
  async resetMachines(classRecord: ClassRecord, students: readonly StudentRecord[], replace: boolean): Promise<number> {
    if (replace) this.store.bumpReset(students.map((student) => student.id));
    let count = 0;
    await Promise.all(students.map(async (student) => {
      const current = this.#live(student.id);
      if (!current) return;
      count++;
      this.#forget(current.allocation);
      await this.#options.manager.destroy(current.allocation.sandboxId, 'instructor');
      this.store.addEvent(classRecord.id, student.id, replace ? 'reset' : 'destroyed', replace ? instructorEvents.reset(student.name) : instructorEvents.destroyed(student.name));
      if (replace) {
        await this.#create(student, classRecord, current.allocation.credentialHash).catch((error: unknown) => {
          this.#log.warn({ err: error, student: student.id }, 'no fresh machine after a reset; the student gets one on demand');
        });
      }
    }));
    return count;
  }

  /** Revokes the students' links and ends their machines. */
  async revoke(classRecord: ClassRecord, students: readonly StudentRecord[]): Promise<void> {
    this.store.revokeStudents(students.map((student) => student.id));
    for (const student of students) this.store.addEvent(classRecord.id, student.id, 'revoked', instructorEvents.revoked(student.name));
    await this.#endInvalidMachines();
  }

  /**
   * Applies what the CLI changed in the file: machines of revoked or expired
   * links end, machines reset by `npm run class -- reset` are replaced.
   */
  async syncWithStore(): Promise<void> {
    if (this.#closed || this.#allocations.size === 0) return;
    await this.#endInvalidMachines();
    const generations = this.store.resetGenerations();
    for (const allocation of [...this.#allocations.values()]) {
      const generation = generations.get(allocation.studentId);
      if (generation === undefined || generation <= allocation.generation) continue;
      const student = this.store.student(allocation.studentId);
      const classRecord = student && this.store.getClass(student.classId);
      if (!student || !classRecord) continue;
      this.#forget(allocation);
      await this.#options.manager.destroy(allocation.sandboxId, 'instructor');
      this.store.addEvent(classRecord.id, student.id, 'reset', instructorEvents.reset(student.name));
      await this.#create(student, classRecord, allocation.credentialHash).catch(() => undefined);
    }
  }

  async #endInvalidMachines(): Promise<void> {
    for (const allocation of [...this.#allocations.values()]) {
      if (!this.auth.stillValid(allocation.credentialHash)) continue;
      this.#forget(allocation);
      await this.#options.manager.destroy(allocation.sandboxId, 'revoked');
    }
  }

  // ───────────── checks and progress ─────────────

  /** TerminalObserver: a command ended in some sandbox; if it is a student's, check their exercises shortly. */
  commandFinished(sandboxId: string): void {
    const studentId = this.#bySandbox.get(sandboxId);
    if (studentId === undefined || this.#closed || this.#checkTimers.has(studentId)) return;
    const timer = setTimeout(() => {
      this.#checkTimers.delete(studentId);
      void this.evaluate(studentId).catch((error: unknown) => this.#log.warn({ err: error, student: studentId }, 'exercise checks failed'));
    }, CHECK_DELAY_MS);
    timer.unref();
    this.#checkTimers.set(studentId, timer);
  }

  /** Runs the checks the student has not passed yet in their machine, records and returns the exercises' states. */
  async evaluate(studentId: string): Promise<ExerciseState[]> {
    await this.#checks.run(studentId, async () => {
      const current = this.#live(studentId);
      const passed = new Set(this.store.checkResults(studentId).filter((result) => result.passedAt !== null).map((result) => result.exercise));
      const pending = this.exercises.filter((exercise) => !passed.has(exercise.key));
      if (!current || pending.length === 0 || this.#closed) return [];
      let outcomes: CheckOutcome[];
      try {
        outcomes = await runChecks(current.managed.sandbox, pending);
      } catch (error) {
        if (error instanceof ChecksUnavailableError) {
          if (!this.#toldChecksUnavailable) this.#log.warn({ student: studentId, reason: error.message }, 'exercise checks not run');
          this.#toldChecksUnavailable = true;
          return [];
        }
        throw error;
      }
      if (this.#closed) return outcomes;
      for (const outcome of outcomes) this.store.recordCheck(studentId, outcome.exercise.key, outcome.passed, outcome.output);
      const newlyPassed = outcomes.filter((outcome) => outcome.passed).map((outcome) => outcome.exercise.key);
      if (newlyPassed.length > 0) this.#log.info({ student: studentId, exercises: newlyPassed }, 'exercises passed');
      return outcomes;
    });
    return this.exerciseStates(studentId);
  }

  exerciseStates(studentId: string): ExerciseState[] {
    const results = new Map(this.store.checkResults(studentId).map((result) => [result.exercise, result]));
    return this.exercises.map((exercise) => {
      const passedAt = results.get(exercise.key)?.passedAt ?? null;
      return { key: exercise.key, page: exercise.page, id: exercise.id, section: exercise.section, title: exercise.title, passedAt: passedAt === null ? null : new Date(passedAt).toISOString() };
    });
  }

  // ───────────── what the dashboard shows ─────────────

  /** The machine's state for the dashboard (CPU from the change since the previous look). */
  async machineOf(studentId: string, now = Date.now()): Promise<{ status: StudentStatus; machine: StudentMachine | null; lastActivityAt: number | null }> {
    const current = this.#live(studentId);
    if (!current) return { status: 'none', machine: null, lastActivityAt: null };
    const { managed } = current;
    const observed = this.#options.driver.sandbox(managed.id);
    const lastActivityAt = observed && observed.lastActivityAt > 0 ? observed.lastActivityAt : null;
    const usage = await managed.sandbox.usage().catch(() => undefined);
    let cpuPercent: number | null = null;
    if (usage) {
      const previous = this.#cpuSamples.get(managed.id);
      if (previous && now > previous.at) cpuPercent = Math.max(0, ((usage.cpuSeconds - previous.cpuSeconds) / ((now - previous.at) / 1000)) * 100);
      this.#cpuSamples.set(managed.id, { cpuSeconds: usage.cpuSeconds, at: now });
    }
    const status = managed.status();
    const online = managed.attachedCount > 0 && now - (lastActivityAt ?? managed.createdAt.getTime()) < IDLE_AFTER_MS;
    return {
      status: online ? 'online' : 'idle',
      lastActivityAt,
      machine: {
        id: managed.id,
        createdAt: status.createdAt,
        ageSeconds: Math.round((now - managed.createdAt.getTime()) / 1000),
        expiresAt: status.expiresAt,
        terminals: status.terminals.map(({ name, attached, cols, rows }) => ({ name, attached, cols, rows })),
        cpuPercent: cpuPercent === null ? null : Math.round(cpuPercent * 10) / 10,
        memoryBytes: usage?.memoryBytes ?? null,
        pids: usage?.pids ?? null,
      },
    };
  }

  /** What a read-only viewer follows: the terminal's recent output and its live stream. */
  viewerTarget(studentId: string, terminal: string): { sandboxId: string; session: TerminalSession; stream: ObservedTerminal } | undefined {
    const current = this.#live(studentId);
    if (!current) return undefined;
    const session = [...current.managed.terminalSessions].find((candidate) => candidate.name === terminal);
    const stream = this.#options.driver.sandbox(current.managed.id)?.terminal(terminal);
    return session && stream ? { sandboxId: current.managed.id, session, stream } : undefined;
  }

  #event(classId: string, studentId: string | null, kind: string, message: string): void {
    const key = `${studentId ?? ''}:${kind}`;
    const now = Date.now();
    if (now - (this.#recentEvents.get(key) ?? 0) < EVENT_REPEAT_MS) return;
    this.#recentEvents.set(key, now);
    this.store.addEvent(classId, studentId, kind, message, now);
  }

  /** Stops the timers; the machines are ended by the manager's own shutdown. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#sync);
    for (const timer of this.#checkTimers.values()) clearTimeout(timer);
    this.#checkTimers.clear();
  }
}
