// The lessons' exercise checks (content/**/*.checks.json): the namespaces
// lesson's file is valid and points at headings the page has; bad files are
// refused with the file, the field and the fix.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChecksFileError, loadExercises, parseChecksFile } from '../../sandbox-server/src/classroom/exercises.ts';
import { PROJECT_ROOT } from '../../src/lib/site-config.ts';

const temporary: string[] = [];
afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Heading ids as Astro makes them for "#### UTS" → "uts". */
function headingIds(mdx: string): string[] {
  return [...mdx.matchAll(/^#{2,6}\s+(.+)$/gm)].map((match) =>
    match[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}]+/gu, '-')
      .replace(/^-|-$/g, ''),
  );
}

describe("the namespaces lesson's checks", () => {
  it('declare the UTS, mnt, pid and user exercises, under headings the page has', async () => {
    const exercises = await loadExercises(join(PROJECT_ROOT, 'content'));
    expect(exercises.map((exercise) => exercise.key)).toEqual([
      'docker_linux/namespaces/#uts',
      'docker_linux/namespaces/#mnt',
      'docker_linux/namespaces/#pid',
      'docker_linux/namespaces/#user',
    ]);
    const headings = headingIds(readFileSync(join(PROJECT_ROOT, 'content/docker_linux/namespaces.mdx'), 'utf8'));
    for (const exercise of exercises) expect(headings, `heading #${exercise.section}`).toContain(exercise.section);
  });

  it('look for my.name.is.bob in another uts namespace, as the issue asks', async () => {
    const uts = (await loadExercises(join(PROJECT_ROOT, 'content')))[0]!;
    expect(uts.check).toContain('readlink /proc/1/ns/uts');
    expect(uts.check).toContain('nsenter --uts --target');
    expect(uts.check).toContain('my.name.is.bob');
  });
});

describe('a checks file', () => {
  const valid = { page: 'a/b/', exercises: [{ id: 'one', section: 'one', title: 'One', check: ['true'] }] };

  it('joins a check given as lines', () => {
    const [exercise] = parseChecksFile(JSON.stringify({ ...valid, exercises: [{ ...valid.exercises[0], check: ['a=1', 'test $a = 1'] }] }), 'x.checks.json');
    expect(exercise).toMatchObject({ key: 'a/b/#one', check: 'a=1\ntest $a = 1' });
  });

  it('is refused with the file and the field when wrong', () => {
    expect(() => parseChecksFile('{', 'lesson.checks.json')).toThrowErrorMatchingInlineSnapshot(
      `[ChecksFileError: lesson.checks.json: not valid JSON (Expected property name or '}' in JSON at position 1 (line 1 column 2)).]`,
    );
    expect(() => parseChecksFile(JSON.stringify({ ...valid, page: '/a/b' }), 'l.json')).toThrowErrorMatchingInlineSnapshot(
      `[ChecksFileError: l.json: page: the page's URL path relative to the site's base, ending with "/", e.g. "docker_linux/namespaces/".]`,
    );
    expect(() =>
      parseChecksFile(JSON.stringify({ ...valid, exercises: [{ ...valid.exercises[0], id: 'Bad Id' }] }), 'l.json'),
    ).toThrowErrorMatchingInlineSnapshot(`[ChecksFileError: l.json: exercises.0.id: an exercise id is 1–32 characters of a-z, 0-9 and "-", e.g. "uts".]`);
    expect(() =>
      parseChecksFile(JSON.stringify({ ...valid, exercises: [valid.exercises[0], valid.exercises[0]] }), 'l.json'),
    ).toThrowErrorMatchingInlineSnapshot(`[ChecksFileError: l.json: exercises.1.id: exercise id "one" is used twice: ids must be unique in a page.]`);
    expect(() => parseChecksFile(JSON.stringify({ ...valid, extra: 1 }), 'l.json')).toThrow(ChecksFileError);
  });

  it('may not declare an exercise another file declares', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'checks-'));
    temporary.push(dir);
    mkdirSync(join(dir, 'x'));
    writeFileSync(join(dir, 'one.checks.json'), JSON.stringify(valid));
    writeFileSync(join(dir, 'x', 'two.checks.json'), JSON.stringify(valid));
    await expect(loadExercises(dir)).rejects.toThrowErrorMatchingInlineSnapshot(
      `[ChecksFileError: x/two.checks.json: exercise a/b/#one is declared by another checks file too.]`,
    );
  });
});
