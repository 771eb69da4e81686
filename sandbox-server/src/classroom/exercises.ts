// The lessons' exercises and their checks, declared beside each lesson in
// content/**/<page>.checks.json:
//
//   { "page": "docker_linux/namespaces/",
//     "exercises": [ { "id": "uts", "section": "uts", "title": "…",
//                      "check": ["shell", "lines"] } ] }
//
// A check is a shell script run as root inside the student's machine; it
// passes when it exits 0 and prints one line saying what it found (shown to
// the instructor). `section` is the id of the page's heading where the
// student sees the ✓.
import { readFileSync } from 'node:fs';
import { glob } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { z } from 'zod';

const PAGE = /^(?:[a-z0-9_-]+\/)*$/i;
const ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

const ExerciseSchema = z.strictObject({
  id: z.string().regex(ID, 'an exercise id is 1–32 characters of a-z, 0-9 and "-", e.g. "uts"'),
  section: z.string().min(1, 'name the id of the page heading the exercise belongs to, e.g. "uts"'),
  title: z.string().min(1),
  check: z
    .union([z.string().min(1), z.array(z.string()).min(1)], { error: 'a shell script: a string, or an array of lines' })
    .transform((script) => (Array.isArray(script) ? script.join('\n') : script)),
});

const ChecksFileSchema = z
  .strictObject({
    page: z.string().regex(PAGE, 'the page\'s URL path relative to the site\'s base, ending with "/", e.g. "docker_linux/namespaces/"'),
    exercises: z.array(ExerciseSchema).min(1),
  })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    for (const [index, exercise] of file.exercises.entries()) {
      if (seen.has(exercise.id))
        ctx.addIssue({ code: 'custom', path: ['exercises', index, 'id'], message: `exercise id "${exercise.id}" is used twice: ids must be unique in a page` });
      seen.add(exercise.id);
    }
  });

export interface Exercise {
  /** Unique across the course: "<page>#<id>". */
  key: string;
  page: string;
  id: string;
  section: string;
  title: string;
  check: string;
}

export class ChecksFileError extends Error {
  override name = 'ChecksFileError';
}

/** The exercises of one checks file; throws ChecksFileError naming the file, the field and the fix. */
export function parseChecksFile(text: string, file: string): Exercise[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ChecksFileError(`${file}: not valid JSON (${(error as Error).message}).`);
  }
  const parsed = ChecksFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`);
    throw new ChecksFileError(`${file}: ${problems.join('; ')}.`);
  }
  return parsed.data.exercises.map((exercise) => ({ key: `${parsed.data.page}#${exercise.id}`, page: parsed.data.page, ...exercise }));
}

/** Every exercise under `contentDir`, in file then declaration order. */
export async function loadExercises(contentDir: string): Promise<Exercise[]> {
  const files: string[] = [];
  for await (const entry of glob('**/*.checks.json', { cwd: contentDir })) files.push(entry);
  files.sort();
  const exercises: Exercise[] = [];
  const keys = new Set<string>();
  for (const entry of files) {
    const path = join(contentDir, entry);
    for (const exercise of parseChecksFile(readFileSync(path, 'utf8'), relative(process.cwd(), path) || path)) {
      if (keys.has(exercise.key)) throw new ChecksFileError(`${entry}: exercise ${exercise.key} is declared by another checks file too.`);
      keys.add(exercise.key);
      exercises.push(exercise);
    }
  }
  return exercises;
}
