// The class's progress as CSV (RFC 4180, UTF-8 with a BOM so spreadsheet
// programs read the accents right): one row per student, one column per
// exercise (when it was passed), then what they ran.
import type { Exercise } from './exercises.ts';
import type { ClassroomStore, ClassRecord } from './store.ts';
import { linkState } from './class-view.ts';

export function progressCsv(store: ClassroomStore, classRecord: ClassRecord, exercises: readonly Exercise[], now = Date.now()): string {
  const students = store.students(classRecord.id);
  const summaries = store.snippetSummaries(classRecord.id);
  const passed = new Map<string, number>();
  for (const result of store.classCheckResults(classRecord.id)) {
    if (result.passedAt !== null) passed.set(`${result.studentId} ${result.exercise}`, result.passedAt);
  }
  const header = [
    'classe',
    'élève',
    'place',
    'lien',
    ...exercises.map((exercise) => `exercice ${exercise.page}#${exercise.id}`),
    'exercices réussis',
    'commandes lancées',
    'commandes en échec',
    'extraits lancés',
    'dernière commande',
  ];
  const rows = students.map((student) => {
    const summary = summaries.get(student.id);
    const dates = exercises.map((exercise) => passed.get(`${student.id} ${exercise.key}`));
    return [
      classRecord.name,
      student.name,
      String(student.seat),
      linkState(store.latestStudentCredential(student.id), now).state,
      ...dates.map((at) => (at === undefined ? '' : new Date(at).toISOString())),
      String(dates.filter((at) => at !== undefined).length),
      String(summary?.commands ?? 0),
      String(summary?.failed ?? 0),
      String(summary?.snippets ?? 0),
      summary?.lastAt ? new Date(summary.lastAt).toISOString() : '',
    ];
  });
  return `\ufeff${[header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n')}\r\n`;
}

function csvField(value: string): string {
  // A leading = + - @ would make a spreadsheet run a formula from a student's name.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
