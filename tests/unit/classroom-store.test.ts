// The classroom's SQLite store on a real file: migrations, classes and
// students, hashed credentials, progress, sticky check results, events, and
// what survives closing and reopening the file.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashCredential } from '../../sandbox-server/src/classroom/credentials.ts';
import { ClassroomDatabaseError, openClassroomDatabase, schemaVersion } from '../../sandbox-server/src/classroom/database.ts';
import { MIGRATIONS } from '../../sandbox-server/src/classroom/migrations.ts';
import { ClassroomInputError, ClassroomStore, type NewClass } from '../../sandbox-server/src/classroom/store.ts';

let dir: string;
let path: string;
let store: ClassroomStore | undefined;

const HOUR = 3_600_000;
const newClass = (name: string, capacity = 5): NewClass => ({
  name,
  capacity,
  driver: 'namespace',
  limits: { memoryBytes: 256 * 2 ** 20, cpus: 0.5, pids: 512 },
  docker: false,
  startPage: 'docker_linux/namespaces/',
  expiresAt: Date.now() + 4 * HOUR,
});

function open(): ClassroomStore {
  store = new ClassroomStore(openClassroomDatabase(path));
  return store;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'classroom-store-'));
  path = join(dir, 'nested', 'classroom.sqlite');
});

afterEach(() => {
  try {
    store?.close();
  } catch {
    // already closed by the test
  }
  store = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('classroom database', () => {
  it('creates the file and its folder and applies every migration once', () => {
    open().close();
    const db = new DatabaseSync(path);
    expect(schemaVersion(db)).toBe(MIGRATIONS.at(-1)!.version);
    const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((row) => row.name);
    expect(tables).toEqual(['check_results', 'classes', 'credentials', 'events', 'snippet_runs', 'students']);
    db.close();
    // Opening again applies nothing new and keeps the data.
    expect(() => open()).not.toThrow();
  });

  it('numbers migrations 1, 2, 3… with no gap', () => {
    expect(MIGRATIONS.map((migration) => migration.version)).toEqual(MIGRATIONS.map((_, index) => index + 1));
  });

  it('refuses a file written by a newer server, saying what to do', () => {
    open().close();
    const db = new DatabaseSync(path);
    db.exec('PRAGMA user_version = 99');
    db.close();
    expect(() => openClassroomDatabase(path)).toThrow(ClassroomDatabaseError);
    expect(() => openClassroomDatabase(path)).toThrow(/schema version 99, newer than this server knows/);
  });

  it('says which path it cannot open', () => {
    expect(() => openClassroomDatabase('/etc/hostname/classroom.sqlite')).toThrowErrorMatchingInlineSnapshot(
      `[ClassroomDatabaseError: cannot open the classroom database /etc/hostname/classroom.sqlite: EEXIST: file already exists, mkdir '/etc/hostname']`,
    );
  });
});

describe('classes and links', () => {
  it('creates a class with one student and one link each, storing only hashes of the tokens', () => {
    const s = open();
    const { classRecord, links } = s.createClass(newClass('TP B'), ['Alice', 'Bob', 'Chloé']);
    expect(links.map((link) => [link.student.name, link.student.seat])).toEqual([
      ['Alice', 1],
      ['Bob', 2],
      ['Chloé', 3],
    ]);
    for (const { token } of links) {
      expect(token).toMatch(/^eleve_[A-Za-z0-9_-]{43}$/);
      expect(s.credentialByHash(hashCredential(token))?.studentId).toBeDefined();
    }
    expect(new Set(links.map((link) => link.token)).size).toBe(3);
    s.close();
    const bytes = readFileSync(path).toString('latin1') + readFileSync(`${path}-wal`, { flag: 'a+' }).toString('latin1');
    for (const { token } of links) expect(bytes).not.toContain(token);
    const reopened = open();
    expect(reopened.getClass(classRecord.id)).toEqual(classRecord);
    expect(reopened.students(classRecord.id).map((student) => student.name)).toEqual(['Alice', 'Bob', 'Chloé']);
  });

  it('refuses a duplicate class name and a roster larger than the capacity', () => {
    const s = open();
    s.createClass(newClass('TP B'), ['Alice']);
    expect(() => s.createClass(newClass('TP B'), ['Bob'])).toThrow(ClassroomInputError);
    expect(() => s.createClass(newClass('TP C', 2), ['A', 'B', 'C'])).toThrowErrorMatchingInlineSnapshot(
      `[ClassroomInputError: 3 students for a capacity of 2: raise the capacity or shorten the list.]`,
    );
    expect(s.listClasses().map((record) => record.name)).toEqual(['TP B']);
  });

  it('issues a new link that revokes the old one, and revokes on demand', () => {
    const s = open();
    const { links } = s.createClass(newClass('TP B'), ['Alice']);
    const first = links[0]!;
    const second = s.issueStudentLink(first.student.id, Date.now());
    expect(s.credentialByHash(hashCredential(first.token))?.revokedAt).not.toBeNull();
    expect(s.credentialByHash(hashCredential(second.token))?.revokedAt).toBeNull();
    expect(s.latestStudentCredential(first.student.id)?.hash).toBe(hashCredential(second.token));
    expect(s.revokeStudents([first.student.id])).toBe(1);
    expect(s.credentialByHash(hashCredential(second.token))?.revokedAt).not.toBeNull();
  });

  it('keeps an instructor key apart from the students', () => {
    const s = open();
    expect(s.hasInstructorCredential()).toBe(false);
    const token = s.issueInstructorCredential('test');
    expect(token).toMatch(/^prof_/);
    expect(s.credentialByHash(hashCredential(token))).toMatchObject({ kind: 'instructor', studentId: null });
    expect(s.hasInstructorCredential()).toBe(true);
  });

  it('counts resets per student', () => {
    const s = open();
    const { links } = s.createClass(newClass('TP B'), ['Alice', 'Bob']);
    s.bumpReset([links[0]!.student.id]);
    s.bumpReset([links[0]!.student.id]);
    const generations = s.resetGenerations();
    expect(generations.get(links[0]!.student.id)).toBe(2);
    expect(generations.get(links[1]!.student.id)).toBe(0);
  });
});

describe('progress', () => {
  it('records each command a snippet ran with its status and sums them per student', () => {
    const s = open();
    const { classRecord, links } = s.createClass(newClass('TP B'), ['Alice', 'Bob']);
    const alice = links[0]!.student.id;
    s.recordSnippetRun(alice, {
      page: 'docker_linux/namespaces/',
      snippet: '1',
      commands: ['hostname', 'sudo unshare --uts /bin/bash', 'hostname my_name'],
      statuses: [0, null, 1],
    });
    s.recordSnippetRun(alice, { page: 'docker_linux/namespaces/', snippet: '1', commands: ['hostname'], statuses: [0] });
    const summary = s.snippetSummaries(classRecord.id).get(alice);
    expect(summary).toMatchObject({ commands: 4, failed: 1, snippets: 1 });
    expect(s.snippetSummaries(classRecord.id).has(links[1]!.student.id)).toBe(false);
    expect(s.snippetRuns(classRecord.id).map((run) => [run.command, run.exitStatus])).toEqual([
      ['hostname', 0],
      ['sudo unshare --uts /bin/bash', null],
      ['hostname my_name', 1],
      ['hostname', 0],
    ]);
  });

  it('keeps a passed check passed when a later check fails, with the output that proved it', () => {
    const s = open();
    const { links } = s.createClass(newClass('TP B'), ['Alice']);
    const alice = links[0]!.student.id;
    s.recordCheck(alice, 'p/#uts', false, 'nothing yet', 1000);
    expect(s.checkResults(alice)[0]).toMatchObject({ passedAt: null, lastOutput: 'nothing yet' });
    s.recordCheck(alice, 'p/#uts', true, 'PID 42 : my.name.is.bob', 2000);
    s.recordCheck(alice, 'p/#uts', false, 'left the namespace', 3000);
    expect(s.checkResults(alice)[0]).toMatchObject({ passedAt: 2000, lastCheckedAt: 3000, lastOutput: 'PID 42 : my.name.is.bob' });
  });

  it("lists a class's events newest first", () => {
    const s = open();
    const { classRecord, links } = s.createClass(newClass('TP B'), ['Alice']);
    s.addEvent(classRecord.id, links[0]!.student.id, 'server-full', 'first', 1000);
    s.addEvent(classRecord.id, null, 'reset', 'second', 2000);
    expect(s.events(classRecord.id).map((event) => event.message)).toEqual(['second', 'first']);
  });

  it('keeps progress across a close and reopen of the file', () => {
    let s = open();
    const { classRecord, links } = s.createClass(newClass('TP B'), ['Alice']);
    const alice = links[0]!.student.id;
    s.recordSnippetRun(alice, { page: 'p/', snippet: '0', commands: ['id'], statuses: [0] });
    s.recordCheck(alice, 'p/#user', true, 'ok', 5000);
    s.close();
    s = open();
    expect(s.snippetSummaries(classRecord.id).get(alice)?.commands).toBe(1);
    expect(s.checkResults(alice)[0]?.passedAt).toBe(5000);
  });
});
