// The classroom database's schema, as numbered migrations applied in order at
// start (database.ts). SQLite's `user_version` records the last one applied.
// Never edit a migration that has shipped: add the next number instead.
//
// Times are milliseconds since the epoch (INTEGER); credentials are stored
// as the SHA-256 of the token, never the token itself.

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'classes, students, credentials, progress, checks, events',
    sql: `
      CREATE TABLE classes (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        capacity      INTEGER NOT NULL CHECK (capacity >= 1),
        driver        TEXT NOT NULL,
        memory_bytes  INTEGER NOT NULL,
        cpus          REAL NOT NULL,
        pids          INTEGER NOT NULL,
        docker        INTEGER NOT NULL CHECK (docker IN (0, 1)),
        start_page    TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL
      );

      CREATE TABLE students (
        id                TEXT PRIMARY KEY,
        class_id          TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
        name              TEXT NOT NULL,
        seat              INTEGER NOT NULL,
        created_at        INTEGER NOT NULL,
        -- Bumped by "reset" (CLI or dashboard): the server replaces a machine older than its generation.
        reset_generation  INTEGER NOT NULL DEFAULT 0,
        UNIQUE (class_id, name),
        UNIQUE (class_id, seat)
      );

      CREATE TABLE credentials (
        hash          TEXT PRIMARY KEY,
        kind          TEXT NOT NULL CHECK (kind IN ('student', 'instructor')),
        student_id    TEXT REFERENCES students (id) ON DELETE CASCADE,
        label         TEXT NOT NULL DEFAULT '',
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER,
        revoked_at    INTEGER,
        last_used_at  INTEGER,
        CHECK ((kind = 'student') = (student_id IS NOT NULL))
      );
      CREATE INDEX credentials_by_student ON credentials (student_id);

      -- One row per command a student ran from a snippet (reported by the page).
      CREATE TABLE snippet_runs (
        id             INTEGER PRIMARY KEY,
        student_id     TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
        page           TEXT NOT NULL,
        snippet        TEXT NOT NULL,
        command_index  INTEGER NOT NULL,
        command        TEXT NOT NULL,
        exit_status    INTEGER,
        at             INTEGER NOT NULL
      );
      CREATE INDEX snippet_runs_by_student ON snippet_runs (student_id, at);

      -- Latest outcome of each exercise check per student; passed_at sticks once set.
      CREATE TABLE check_results (
        student_id       TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
        exercise         TEXT NOT NULL,
        passed_at        INTEGER,
        last_checked_at  INTEGER NOT NULL,
        last_output      TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (student_id, exercise)
      );

      -- What the instructor should know: refusals (capacity…), resets, revocations.
      CREATE TABLE events (
        id          INTEGER PRIMARY KEY,
        class_id    TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
        student_id  TEXT REFERENCES students (id) ON DELETE CASCADE,
        at          INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        message     TEXT NOT NULL
      );
      CREATE INDEX events_by_class ON events (class_id, at);
    `,
  },
  {
    version: 2,
    name: "a class's lab: the machines each student gets (NULL: one machine)",
    sql: `
      -- JSON array of machine names, e.g. ["node1","node2","node3"].
      ALTER TABLE classes ADD COLUMN machines TEXT;
    `,
  },
];
