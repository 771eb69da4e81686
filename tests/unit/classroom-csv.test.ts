// The progress export: one row per student, one column per exercise, what
// they ran; quoting and formula-safe cells; on a real store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { openClassroomDatabase } from '../../sandbox-server/src/classroom/database.ts';
import type { Exercise } from '../../sandbox-server/src/classroom/exercises.ts';
import { progressCsv } from '../../sandbox-server/src/classroom/progress-csv.ts';
import { ClassroomStore } from '../../sandbox-server/src/classroom/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'classroom-csv-'));
const store = new ClassroomStore(openClassroomDatabase(join(dir, 'c.sqlite')));
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

it('writes one row per student with the date of each exercise passed', () => {
  const exercises: Exercise[] = ['uts', 'mnt'].map((id) => ({ key: `p/#${id}`, page: 'p/', id, section: id, title: id, check: 'true' }));
  const { classRecord, links } = store.createClass(
    {
      name: 'TP "B", salle 2',
      capacity: 3,
      driver: 'namespace',
      limits: { memoryBytes: 2 ** 28, cpus: 0.5, pids: 512 },
      docker: false,
      startPage: 'p/',
      expiresAt: Date.now() + 3_600_000,
    },
    ['Alice', '=HYPERLINK("x")', 'Chloé'],
  );
  const alice = links[0]!.student.id;
  store.recordCheck(alice, 'p/#uts', true, 'ok', Date.parse('2026-03-12T10:15:00Z'));
  store.recordSnippetRun(alice, { page: 'p/', snippet: '1', commands: ['hostname', 'false'], statuses: [0, 1] });
  store.revokeStudents([links[2]!.student.id]);

  const csv = progressCsv(store, classRecord, exercises);
  expect(csv.startsWith('\ufeff')).toBe(true);
  const lines = csv.slice(1).split('\r\n');
  expect(lines[0]).toBe(
    'classe,élève,place,lien,exercice p/#uts,exercice p/#mnt,exercices réussis,commandes lancées,commandes en échec,extraits lancés,dernière commande',
  );
  expect(lines[1]).toMatch(/^"TP ""B"", salle 2",Alice,1,active,2026-03-12T10:15:00\.000Z,,1,2,1,1,\d{4}-/);
  // A name that looks like a formula stays text in a spreadsheet.
  expect(lines[2]).toBe(`"TP ""B"", salle 2","'=HYPERLINK(""x"")",2,active,,,0,0,0,0,`);
  expect(lines[3]).toMatch(/,Chloé,3,revoked,/);
  expect(lines).toHaveLength(5); // header, three students, final empty line
});
