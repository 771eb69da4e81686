// What the dashboard shows of a class, in one JSON document: each student's
// link, status (online, idle, no machine), machine (age, CPU, memory),
// exercises and snippet runs, the class's events, and the server's load.
// The shapes are the class API's (contracts/class-api.ts); this file fills them.
import type { ClassSummary, ClassView, LinkState, StudentView } from '../../../contracts/class-api.ts';
import type { ClassRecord, CredentialRecord } from './store.ts';
import type { Classroom } from './classroom.ts';

export function describeClass(classRecord: ClassRecord, students: number): ClassSummary {
  return {
    id: classRecord.id,
    name: classRecord.name,
    capacity: classRecord.capacity,
    students,
    driver: classRecord.driver,
    limits: classRecord.limits,
    docker: classRecord.docker,
    startPage: classRecord.startPage,
    ...(classRecord.machines ? { machines: [...classRecord.machines] } : {}),
    createdAt: iso(classRecord.createdAt)!,
    expiresAt: iso(classRecord.expiresAt)!,
  };
}

export function linkState(credential: CredentialRecord | undefined, now = Date.now()): LinkState {
  if (!credential) return { state: 'none', createdAt: null, lastUsedAt: null, until: null };
  const state = credential.revokedAt !== null ? 'revoked' : credential.expiresAt !== null && credential.expiresAt <= now ? 'expired' : 'active';
  return { state, createdAt: iso(credential.createdAt), lastUsedAt: iso(credential.lastUsedAt), until: iso(credential.revokedAt ?? credential.expiresAt) };
}

export async function buildClassView(classroom: Classroom, classRecord: ClassRecord, server: ClassView['server'], now = Date.now()): Promise<ClassView> {
  const { store } = classroom;
  const students = store.students(classRecord.id);
  const summaries = store.snippetSummaries(classRecord.id);
  const checks = store.classCheckResults(classRecord.id);
  const names = new Map(students.map((student) => [student.id, student.name]));
  const views = await Promise.all(
    students.map(async (student): Promise<StudentView> => {
      const { status, machine, lastActivityAt } = await classroom.machineOf(student.id, now);
      const summary = summaries.get(student.id);
      const exercises: Record<string, string | null> = {};
      for (const exercise of classroom.exercises) exercises[exercise.key] = null;
      for (const result of checks) if (result.studentId === student.id && result.passedAt !== null) exercises[result.exercise] = iso(result.passedAt);
      return {
        id: student.id,
        name: student.name,
        seat: student.seat,
        link: linkState(store.latestStudentCredential(student.id), now),
        status,
        lastActivityAt: iso(lastActivityAt ?? summary?.lastAt ?? null),
        machine,
        exercises,
        commands: { ran: summary?.commands ?? 0, failed: summary?.failed ?? 0, snippets: summary?.snippets ?? 0, lastAt: iso(summary?.lastAt ?? null) },
      };
    }),
  );
  return {
    class: describeClass(classRecord, students.length),
    exercises: classroom.exercises.map(({ key, page, id, section, title }) => ({ key, page, id, section, title })),
    students: views,
    events: store.events(classRecord.id).map((event) => ({
      at: iso(event.at)!,
      student: event.studentId === null ? null : (names.get(event.studentId) ?? null),
      kind: event.kind,
      message: event.message,
    })),
    server,
  };
}

function iso(at: number | null): string | null {
  return at === null ? null : new Date(at).toISOString();
}
