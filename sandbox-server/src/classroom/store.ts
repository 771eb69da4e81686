// Everything the classroom keeps across restarts, over the SQLite file of
// database.ts: classes, their students, the credentials of the links, what
// each student ran and which exercises they passed, and the events the
// instructor should see. Plain typed methods; no SQL leaves this file.
import { randomBytes } from 'node:crypto';
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { hashCredential, newCredential, type CredentialKind } from './credentials.ts';
import { inTransaction } from './database.ts';

export interface ClassLimits {
  memoryBytes: number;
  cpus: number;
  pids: number;
}

export interface ClassRecord {
  id: string;
  name: string;
  capacity: number;
  driver: string;
  limits: ClassLimits;
  docker: boolean;
  /** Page the student links open, relative to the site's base ("docker_linux/namespaces/"). */
  startPage: string;
  /** Each student's lab: these machines on a network of their own (absent: one machine each). */
  machines?: readonly string[] | undefined;
  createdAt: number;
  /** Links stop working then; machines end then at the latest. */
  expiresAt: number;
}

export interface StudentRecord {
  id: string;
  classId: string;
  name: string;
  seat: number;
  createdAt: number;
  resetGeneration: number;
}

export interface CredentialRecord {
  hash: string;
  kind: CredentialKind;
  studentId: string | null;
  label: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface NewClass {
  name: string;
  capacity: number;
  driver: string;
  limits: ClassLimits;
  docker: boolean;
  startPage: string;
  machines?: readonly string[] | undefined;
  expiresAt: number;
}

export interface IssuedLink {
  student: StudentRecord;
  token: string;
}

export interface SnippetRunInput {
  page: string;
  snippet: string;
  commands: readonly string[];
  /** Exit status of each command that finished (undefined: it started a new shell, or was not reached). */
  statuses: readonly (number | null)[];
}

export interface SnippetSummary {
  studentId: string;
  commands: number;
  failed: number;
  snippets: number;
  lastAt: number | null;
}

export interface CheckResult {
  studentId: string;
  exercise: string;
  passedAt: number | null;
  lastCheckedAt: number;
  lastOutput: string;
}

export interface ClassEvent {
  id: number;
  classId: string;
  studentId: string | null;
  at: number;
  kind: string;
  message: string;
}

export interface SnippetRunRow {
  studentId: string;
  page: string;
  snippet: string;
  commandIndex: number;
  command: string;
  exitStatus: number | null;
  at: number;
}

/** A store error whose message can be shown as is (a duplicate name, a full class…). */
export class ClassroomInputError extends Error {
  override name = 'ClassroomInputError';
}

/** last_used_at is informative: write it at most this often per credential, not on every request. */
const TOUCH_EVERY_MS = 60_000;
/** Output kept per check result (what the check printed: a line or two is enough to explain). */
const CHECK_OUTPUT_LIMIT = 2000;

type Row = Record<string, SQLInputValue>;

export class ClassroomStore {
  readonly db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  #sql(text: string): StatementSync {
    let statement = this.#statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.#statements.set(text, statement);
    }
    return statement;
  }

  // ───────────── classes and students ─────────────

  /** Creates a class and one student (and link) per name, all or nothing. */
  createClass(input: NewClass, studentNames: readonly string[], now = Date.now()): { classRecord: ClassRecord; links: IssuedLink[] } {
    if (studentNames.length > input.capacity) {
      throw new ClassroomInputError(`${studentNames.length} students for a capacity of ${input.capacity}: raise the capacity or shorten the list.`);
    }
    if (this.findClassByName(input.name)) throw new ClassroomInputError(`A class named "${input.name}" already exists: choose another name.`);
    const classRecord: ClassRecord = { id: randomBytes(6).toString('hex'), createdAt: now, ...input };
    const links = inTransaction(this.db, () => {
      this.#sql(
        `INSERT INTO classes (id, name, capacity, driver, memory_bytes, cpus, pids, docker, start_page, machines, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        classRecord.id,
        classRecord.name,
        classRecord.capacity,
        classRecord.driver,
        classRecord.limits.memoryBytes,
        classRecord.limits.cpus,
        classRecord.limits.pids,
        classRecord.docker ? 1 : 0,
        classRecord.startPage,
        classRecord.machines ? JSON.stringify(classRecord.machines) : null,
        now,
        classRecord.expiresAt,
      );
      return studentNames.map((name, index) => {
        const student: StudentRecord = {
          id: randomBytes(8).toString('hex'),
          classId: classRecord.id,
          name,
          seat: index + 1,
          createdAt: now,
          resetGeneration: 0,
        };
        this.#sql('INSERT INTO students (id, class_id, name, seat, created_at) VALUES (?, ?, ?, ?, ?)').run(
          student.id,
          student.classId,
          name,
          student.seat,
          now,
        );
        return { student, token: this.#insertCredential('student', student.id, name, now, classRecord.expiresAt) };
      });
    });
    return { classRecord, links };
  }

  listClasses(): (ClassRecord & { students: number })[] {
    const rows = this.#sql(
      `SELECT c.*, (SELECT COUNT(*) FROM students s WHERE s.class_id = c.id) AS student_count FROM classes c ORDER BY c.created_at`,
    ).all() as Row[];
    return rows.map((row) => ({ ...classFromRow(row), students: Number(row.student_count) }));
  }

  getClass(id: string): ClassRecord | undefined {
    const row = this.#sql('SELECT * FROM classes WHERE id = ?').get(id) as Row | undefined;
    return row ? classFromRow(row) : undefined;
  }

  findClassByName(name: string): ClassRecord | undefined {
    const row = this.#sql('SELECT * FROM classes WHERE name = ?').get(name) as Row | undefined;
    return row ? classFromRow(row) : undefined;
  }

  students(classId: string): StudentRecord[] {
    return (this.#sql('SELECT * FROM students WHERE class_id = ? ORDER BY seat').all(classId) as Row[]).map(studentFromRow);
  }

  student(id: string): StudentRecord | undefined {
    const row = this.#sql('SELECT * FROM students WHERE id = ?').get(id) as Row | undefined;
    return row ? studentFromRow(row) : undefined;
  }

  /** Reset generation of every student of the given classes, for the server's watch on CLI resets. */
  resetGenerations(): Map<string, number> {
    const rows = this.#sql('SELECT id, reset_generation FROM students').all() as Row[];
    return new Map(rows.map((row) => [String(row.id), Number(row.reset_generation)]));
  }

  /** Asks for fresh machines: the server replaces the machines of these students. */
  bumpReset(studentIds: readonly string[]): void {
    inTransaction(this.db, () => {
      for (const id of studentIds) this.#sql('UPDATE students SET reset_generation = reset_generation + 1 WHERE id = ?').run(id);
    });
  }

  // ───────────── credentials ─────────────

  #insertCredential(kind: CredentialKind, studentId: string | null, label: string, now: number, expiresAt: number | null): string {
    const token = newCredential(kind);
    this.#sql('INSERT INTO credentials (hash, kind, student_id, label, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)').run(
      hashCredential(token),
      kind,
      studentId,
      label,
      now,
      expiresAt,
    );
    return token;
  }

  /** A new link for a student; their earlier links stop working. */
  issueStudentLink(studentId: string, now = Date.now()): IssuedLink {
    const student = this.student(studentId);
    if (!student) throw new ClassroomInputError(`No student ${studentId}.`);
    const classRecord = this.getClass(student.classId)!;
    const token = inTransaction(this.db, () => {
      this.#sql('UPDATE credentials SET revoked_at = ? WHERE student_id = ? AND revoked_at IS NULL').run(now, studentId);
      return this.#insertCredential('student', studentId, student.name, now, classRecord.expiresAt);
    });
    return { student, token };
  }

  issueInstructorCredential(label: string, now = Date.now()): string {
    return this.#insertCredential('instructor', null, label, now, null);
  }

  hasInstructorCredential(): boolean {
    return this.#sql(`SELECT 1 FROM credentials WHERE kind = 'instructor' AND revoked_at IS NULL LIMIT 1`).get() !== undefined;
  }

  credentialByHash(hash: string): CredentialRecord | undefined {
    const row = this.#sql('SELECT * FROM credentials WHERE hash = ?').get(hash) as Row | undefined;
    return row ? credentialFromRow(row) : undefined;
  }

  /** The student's newest link (valid or not), for the dashboard. */
  latestStudentCredential(studentId: string): CredentialRecord | undefined {
    const row = this.#sql('SELECT * FROM credentials WHERE student_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').get(studentId) as Row | undefined;
    return row ? credentialFromRow(row) : undefined;
  }

  touchCredential(record: CredentialRecord, now = Date.now()): void {
    if (record.lastUsedAt !== null && now - record.lastUsedAt < TOUCH_EVERY_MS) return;
    this.#sql('UPDATE credentials SET last_used_at = ? WHERE hash = ?').run(now, record.hash);
  }

  revokeStudents(studentIds: readonly string[], now = Date.now()): number {
    let revoked = 0;
    inTransaction(this.db, () => {
      for (const id of studentIds) {
        revoked += Number(this.#sql('UPDATE credentials SET revoked_at = ? WHERE student_id = ? AND revoked_at IS NULL').run(now, id).changes);
      }
    });
    return revoked;
  }

  // ───────────── progress ─────────────

  recordSnippetRun(studentId: string, run: SnippetRunInput, now = Date.now()): void {
    inTransaction(this.db, () => {
      run.statuses.forEach((status, index) => {
        const command = run.commands[index];
        if (command === undefined) return;
        this.#sql('INSERT INTO snippet_runs (student_id, page, snippet, command_index, command, exit_status, at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
          studentId,
          run.page,
          run.snippet,
          index,
          command,
          status,
          now,
        );
      });
    });
  }

  snippetSummaries(classId: string): Map<string, SnippetSummary> {
    const rows = this.#sql(
      `SELECT r.student_id, COUNT(*) AS commands,
              SUM(CASE WHEN r.exit_status IS NOT NULL AND r.exit_status <> 0 THEN 1 ELSE 0 END) AS failed,
              COUNT(DISTINCT r.page || '#' || r.snippet) AS snippets, MAX(r.at) AS last_at
         FROM snippet_runs r JOIN students s ON s.id = r.student_id
        WHERE s.class_id = ? GROUP BY r.student_id`,
    ).all(classId) as Row[];
    return new Map(
      rows.map((row) => [
        String(row.student_id),
        {
          studentId: String(row.student_id),
          commands: Number(row.commands),
          failed: Number(row.failed),
          snippets: Number(row.snippets),
          lastAt: row.last_at === null ? null : Number(row.last_at),
        },
      ]),
    );
  }

  snippetRuns(classId: string): SnippetRunRow[] {
    const rows = this.#sql(`SELECT r.* FROM snippet_runs r JOIN students s ON s.id = r.student_id WHERE s.class_id = ? ORDER BY s.seat, r.at, r.id`).all(
      classId,
    ) as Row[];
    return rows.map((row) => ({
      studentId: String(row.student_id),
      page: String(row.page),
      snippet: String(row.snippet),
      commandIndex: Number(row.command_index),
      command: String(row.command),
      exitStatus: row.exit_status === null ? null : Number(row.exit_status),
      at: Number(row.at),
    }));
  }

  /** Records a check's outcome; a pass is kept even if later checks fail (the student left the namespace). */
  recordCheck(studentId: string, exercise: string, passed: boolean, output: string, now = Date.now()): void {
    this.#sql(
      `INSERT INTO check_results (student_id, exercise, passed_at, last_checked_at, last_output) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (student_id, exercise) DO UPDATE SET
         passed_at = COALESCE(check_results.passed_at, excluded.passed_at),
         last_checked_at = excluded.last_checked_at,
         last_output = CASE WHEN check_results.passed_at IS NULL THEN excluded.last_output ELSE check_results.last_output END`,
    ).run(studentId, exercise, passed ? now : null, now, output.slice(0, CHECK_OUTPUT_LIMIT));
  }

  checkResults(studentId: string): CheckResult[] {
    return (this.#sql('SELECT * FROM check_results WHERE student_id = ?').all(studentId) as Row[]).map(checkFromRow);
  }

  classCheckResults(classId: string): CheckResult[] {
    const rows = this.#sql('SELECT r.* FROM check_results r JOIN students s ON s.id = r.student_id WHERE s.class_id = ?').all(classId) as Row[];
    return rows.map(checkFromRow);
  }

  // ───────────── events ─────────────

  addEvent(classId: string, studentId: string | null, kind: string, message: string, now = Date.now()): void {
    this.#sql('INSERT INTO events (class_id, student_id, at, kind, message) VALUES (?, ?, ?, ?, ?)').run(classId, studentId, now, kind, message);
  }

  events(classId: string, limit = 50): ClassEvent[] {
    const rows = this.#sql('SELECT * FROM events WHERE class_id = ? ORDER BY at DESC, id DESC LIMIT ?').all(classId, limit) as Row[];
    return rows.map((row) => ({
      id: Number(row.id),
      classId: String(row.class_id),
      studentId: row.student_id === null ? null : String(row.student_id),
      at: Number(row.at),
      kind: String(row.kind),
      message: String(row.message),
    }));
  }

  close(): void {
    this.db.close();
  }
}

function classFromRow(row: Row): ClassRecord {
  return {
    id: String(row.id),
    name: String(row.name),
    capacity: Number(row.capacity),
    driver: String(row.driver),
    limits: { memoryBytes: Number(row.memory_bytes), cpus: Number(row.cpus), pids: Number(row.pids) },
    docker: Number(row.docker) === 1,
    startPage: String(row.start_page),
    ...(row.machines === null || row.machines === undefined ? {} : { machines: JSON.parse(String(row.machines)) as string[] }),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
  };
}

function studentFromRow(row: Row): StudentRecord {
  return {
    id: String(row.id),
    classId: String(row.class_id),
    name: String(row.name),
    seat: Number(row.seat),
    createdAt: Number(row.created_at),
    resetGeneration: Number(row.reset_generation),
  };
}

function credentialFromRow(row: Row): CredentialRecord {
  const optional = (value: SQLInputValue | undefined) => (value === null || value === undefined ? null : Number(value));
  return {
    hash: String(row.hash),
    kind: row.kind === 'instructor' ? 'instructor' : 'student',
    studentId: row.student_id === null ? null : String(row.student_id),
    label: String(row.label),
    createdAt: Number(row.created_at),
    expiresAt: optional(row.expires_at),
    revokedAt: optional(row.revoked_at),
    lastUsedAt: optional(row.last_used_at),
  };
}

function checkFromRow(row: Row): CheckResult {
  return {
    studentId: String(row.student_id),
    exercise: String(row.exercise),
    passedAt: row.passed_at === null ? null : Number(row.passed_at),
    lastCheckedAt: Number(row.last_checked_at),
    lastOutput: String(row.last_output),
  };
}
