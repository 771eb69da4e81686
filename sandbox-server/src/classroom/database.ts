// Opens the classroom's SQLite file (Node's built-in node:sqlite) and brings
// its schema up to date. The server and the `npm run class` CLI open the same
// file at once: WAL lets readers and one writer work together, and the busy
// timeout makes a writer wait for the other instead of failing.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { HintedError } from '../../../contracts/errors.ts';
import { MIGRATIONS, type Migration } from './migrations.ts';

export class ClassroomDatabaseError extends HintedError {
  override name = 'ClassroomDatabaseError';
}

/** The file, opened and migrated; throws ClassroomDatabaseError saying what to do. */
export function openClassroomDatabase(path: string, migrations: readonly Migration[] = MIGRATIONS): DatabaseSync {
  // Node's recursive mkdir never returns under /proc or /sys (it loops on ENOENT): refuse them outright.
  if (/^\/(proc|sys)(\/|$)/.test(path)) {
    throw new ClassroomDatabaseError(
      `cannot open the classroom database ${path}: /proc and /sys hold no files`,
      'set CLASS_DB to a file on a real disk, e.g. /var/lib/cours-linux/classroom.sqlite',
    );
  }
  let db: DatabaseSync;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new DatabaseSync(path);
  } catch (error) {
    throw new ClassroomDatabaseError(
      `cannot open the classroom database ${path}: ${(error as Error).message}`,
      'set CLASS_DB to a file in a folder the server can write to (e.g. /var/lib/cours-linux/classroom.sqlite)',
    );
  }
  try {
    db.exec('PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;');
    migrate(db, path, migrations);
  } catch (error) {
    db.close();
    if (error instanceof ClassroomDatabaseError) throw error;
    throw new ClassroomDatabaseError(
      `the classroom database ${path} cannot be used: ${(error as Error).message}`,
      'check that CLASS_DB names a SQLite file written by this server (or a new path), and that the disk is not full',
    );
  }
  return db;
}

/** The schema version recorded in the file. */
export function schemaVersion(db: DatabaseSync): number {
  return Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
}

function migrate(db: DatabaseSync, path: string, migrations: readonly Migration[]): void {
  const latest = migrations.at(-1)?.version ?? 0;
  const current = schemaVersion(db);
  if (current > latest) {
    throw new ClassroomDatabaseError(
      `the classroom database ${path} has schema version ${current}, newer than this server knows (${latest})`,
      'run the version of the server that wrote it, or point CLASS_DB at another file',
    );
  }
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    // One transaction per migration: a failure leaves the file at the previous version.
    inTransaction(db, () => {
      db.exec(migration.sql);
      db.exec(`PRAGMA user_version = ${migration.version}`);
    });
  }
}

/** Runs `work` in an IMMEDIATE transaction (takes the write lock at once, so two writers queue rather than deadlock). */
export function inTransaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}
