// One machine per student: the same sandbox for every request carrying their
// link until it expires, they reset it, or the instructor resets or ends it.
// Which machine is whose is kept with the machine itself (the manager's
// records, as tags): after a restart the server takes the machines over, and
// the allocator finds each student's again. What the CLI changes in the store
// (resets, revocations) is applied by syncWithStore().
import type { Config } from '../config.ts';
import type { SandboxLimits } from '../drivers/driver.ts';
import type { Logger } from '../log.ts';
import type { ManagedSandbox } from '../manager/managed-sandbox.ts';
import { CapacityError, ShuttingDownError, type SandboxManager } from '../manager/sandbox-manager.ts';
import type { ErrorInfo, LabMachine } from '../../../contracts/protocol.ts';
import type { ClassAuth } from './class-auth.ts';
import { instructorEvents, studentErrors } from './messages.ts';
import type { ClassRecord, ClassroomStore, CredentialRecord, StudentRecord } from './store.ts';

/** Same refusal for the same student: one event a minute is enough for the dashboard. */
const EVENT_REPEAT_MS = 60_000;

export interface MachineAllocatorOptions {
  store: ClassroomStore;
  auth: ClassAuth;
  manager: SandboxManager;
  config: Pick<Config, 'driver' | 'maxSandboxes' | 'maxAge' | 'sandboxDisk'>;
  log: Logger;
  /** Told when a student's machine is let go (to drop what was kept about it). */
  onForget?: (sandboxId: string) => void;
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

export class MachineAllocator {
  readonly #options: MachineAllocatorOptions;
  readonly #store: ClassroomStore;
  readonly #log: Logger;
  readonly #allocations = new Map<string, Allocation>();
  readonly #bySandbox = new Map<string, string>();
  readonly #obtaining = new Map<string, Promise<Allocation>>();
  readonly #recentEvents = new Map<string, number>();
  #closed = false;

  constructor(options: MachineAllocatorOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#log = options.log;
    this.#restore();
  }

  /** The students' machines the server took over after a restart (tagged by #create). */
  #restore(): void {
    for (const managed of this.#options.manager.running()) {
      const { kind, student, class: classId, credential, generation } = managed.tags;
      if (kind !== 'student' || typeof student !== 'string' || typeof classId !== 'string' || typeof credential !== 'string') continue;
      const allocation: Allocation = {
        studentId: student,
        classId,
        sandboxId: managed.id,
        // Only the hashes of the old tokens survived: the student's next visit gets a new one.
        token: managed.tokenForOwner(),
        expiresAt: managed.expiresAt,
        credentialHash: credential,
        generation: typeof generation === 'number' ? generation : 0,
      };
      this.#allocations.set(student, allocation);
      this.#bySandbox.set(managed.id, student);
      managed.log.info({ student, class: classId }, 'machine of a student found again after a restart');
    }
  }

  #tags(allocation: Pick<Allocation, 'studentId' | 'classId' | 'credentialHash' | 'generation'>): Record<string, string | number> {
    return {
      kind: 'student',
      student: allocation.studentId,
      class: allocation.classId,
      credential: allocation.credentialHash,
      generation: allocation.generation,
    };
  }

  /** The student's machine: the one they have, or a new one. Throws MachineRefusedError. */
  async machineFor(student: StudentRecord, classRecord: ClassRecord, credential: CredentialRecord): Promise<{ managed: ManagedSandbox; token: string }> {
    const current = this.#live(student.id);
    if (current) {
      // A new link for the same student takes over the machine.
      if (current.allocation.credentialHash !== credential.hash) {
        current.allocation.credentialHash = credential.hash;
        this.#options.manager.setTags(current.allocation.sandboxId, this.#tags(current.allocation));
      }
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

  /** The student's machine if it is still running. */
  machine(studentId: string): ManagedSandbox | undefined {
    return this.#live(studentId)?.managed;
  }

  /** The student whose machine this sandbox is, if any. */
  studentOf(sandboxId: string): string | undefined {
    return this.#bySandbox.get(sandboxId);
  }

  get size(): number {
    return this.#allocations.size;
  }

  async #create(student: StudentRecord, classRecord: ClassRecord, credentialHash: string): Promise<Allocation> {
    const { config, manager } = this.#options;
    if (classRecord.driver !== config.driver) {
      this.#event(classRecord.id, student.id, 'wrong-driver', instructorEvents.wrongDriver(student.name, classRecord.driver, config.driver));
      throw new MachineRefusedError(503, studentErrors.wrongDriver(classRecord.driver, config.driver));
    }
    const generation = this.#store.student(student.id)?.resetGeneration ?? student.resetGeneration;
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
        tags: this.#tags({ studentId: student.id, classId: classRecord.id, credentialHash, generation }),
        // The class's lab, the same on every page (pages do not choose: the instructor sized the server for it).
        ...(classRecord.machines ? { machines: classRecord.machines } : {}),
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
        throw new MachineRefusedError(
          503,
          { code: 'server-shutting-down', message: 'Le serveur de la classe redémarre.', hint: 'Réessayez dans un instant.' },
          10,
        );
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
    this.#options.onForget?.(allocation.sandboxId);
  }

  /** Why a client holding this sandbox's token may no longer attach (its student's link was revoked or expired). */
  attachRefusal(sandboxId: string): ErrorInfo | undefined {
    const studentId = this.#bySandbox.get(sandboxId);
    const allocation = studentId === undefined ? undefined : this.#allocations.get(studentId);
    if (!allocation) return undefined;
    return this.#options.auth.stillValid(allocation.credentialHash)?.error;
  }

  /** Destroys the students' machines; with `replace`, gives those who had one a fresh one at once. */
  async resetMachines(classRecord: ClassRecord, students: readonly StudentRecord[], replace: boolean): Promise<number> {
    if (replace) this.#store.bumpReset(students.map((student) => student.id));
    let count = 0;
    await Promise.all(
      students.map(async (student) => {
        const current = this.#live(student.id);
        if (!current) return;
        count++;
        this.#forget(current.allocation);
        await this.#options.manager.destroy(current.allocation.sandboxId, 'instructor');
        this.#store.addEvent(
          classRecord.id,
          student.id,
          replace ? 'reset' : 'destroyed',
          replace ? instructorEvents.reset(student.name) : instructorEvents.destroyed(student.name),
        );
        if (replace) {
          await this.#create(student, classRecord, current.allocation.credentialHash).catch((error: unknown) => {
            this.#log.warn({ err: error, student: student.id }, 'no fresh machine after a reset; the student gets one on demand');
          });
        }
      }),
    );
    return count;
  }

  /**
   * Makes machine `machine` of the student's lab anew, in place (same lab,
   * same address; the other machines and their terminals run on). Rejects
   * with a RangeError when the student has no lab with that machine.
   */
  async resetLabMachine(classRecord: ClassRecord, student: StudentRecord, machine: string): Promise<LabMachine[]> {
    const current = this.#live(student.id);
    if (!current?.managed.sandbox.machines?.some(({ name }) => name === machine)) {
      throw new RangeError(`${student.name} has no machine ${JSON.stringify(machine.slice(0, 40))} running.`);
    }
    const machines = await this.#options.manager.resetMachines(current.allocation.sandboxId, [machine]);
    this.#store.addEvent(classRecord.id, student.id, 'reset', instructorEvents.labMachineReset(student.name, machine));
    return machines;
  }

  /** Revokes the students' links and ends their machines. */
  async revoke(classRecord: ClassRecord, students: readonly StudentRecord[]): Promise<void> {
    this.#store.revokeStudents(students.map((student) => student.id));
    for (const student of students) this.#store.addEvent(classRecord.id, student.id, 'revoked', instructorEvents.revoked(student.name));
    await this.#endInvalidMachines();
  }

  /**
   * Applies what the CLI changed in the file: machines of revoked or expired
   * links end, machines reset by `npm run class -- reset` are replaced.
   */
  async syncWithStore(): Promise<void> {
    if (this.#closed || this.#allocations.size === 0) return;
    await this.#endInvalidMachines();
    const generations = this.#store.resetGenerations();
    for (const allocation of [...this.#allocations.values()]) {
      const generation = generations.get(allocation.studentId);
      if (generation === undefined || generation <= allocation.generation) continue;
      const student = this.#store.student(allocation.studentId);
      const classRecord = student && this.#store.getClass(student.classId);
      if (!student || !classRecord) continue;
      this.#forget(allocation);
      await this.#options.manager.destroy(allocation.sandboxId, 'instructor');
      this.#store.addEvent(classRecord.id, student.id, 'reset', instructorEvents.reset(student.name));
      await this.#create(student, classRecord, allocation.credentialHash).catch(() => undefined);
    }
  }

  async #endInvalidMachines(): Promise<void> {
    for (const allocation of [...this.#allocations.values()]) {
      if (!this.#options.auth.stillValid(allocation.credentialHash)) continue;
      this.#forget(allocation);
      await this.#options.manager.destroy(allocation.sandboxId, 'revoked');
    }
  }

  #event(classId: string, studentId: string | null, kind: string, message: string): void {
    const key = `${studentId ?? ''}:${kind}`;
    const now = Date.now();
    if (now - (this.#recentEvents.get(key) ?? 0) < EVENT_REPEAT_MS) return;
    this.#recentEvents.set(key, now);
    this.#store.addEvent(classId, studentId, kind, message, now);
  }

  close(): void {
    this.#closed = true;
  }
}
