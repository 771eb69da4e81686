// What the server must remember about each handed-out sandbox to take it
// over again after a restart (SIGTERM or a crash): who owns it, a hash of its
// token, its limits, its clocks, and which server process runs it. One SQLite
// file (node:sqlite), beside the class data by default, written at every
// change that matters (hand-out, destroy, idle start/end), so a SIGKILL loses
// nothing the next process needs.
//
// Two server processes must never run the same sandbox: a process claims a
// record (server_pid + its start time) in a write transaction, and leaves
// alone the records of a live other process.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { LabMachine, SandboxLimits } from '../drivers/driver.ts';
import { processIsAlive, processStartTime } from '../process-start.ts';

export interface SandboxRecord {
  id: string;
  /** SHA-256 of each token that opens it, hex: tokens themselves are never stored. */
  tokenHashes: readonly string[];
  /** Key of the reader who holds it (a reader cookie, a student, or an address). */
  owner: string;
  /** The network address it was asked from, when counted per address. */
  address: string | undefined;
  /** Whether its reader showed they can come back for it (see SandboxRequest.claimed). */
  claimed: boolean;
  limits: SandboxLimits;
  docker: boolean;
  createdAt: Date;
  expiresAt: Date;
  /** Since when no terminal is attached; undefined while one is. */
  idleSince: Date | undefined;
  /** Membership beyond the owner (class mode: class, student…), as the caller wrote it. */
  tags: Record<string, string | number>;
  /** A lab's machines with their addresses, in order (absent: one machine). */
  machines?: readonly LabMachine[] | undefined;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sandboxes (
  id TEXT PRIMARY KEY,
  token_hashes TEXT NOT NULL,
  owner TEXT NOT NULL,
  address TEXT,
  claimed INTEGER NOT NULL,
  limits TEXT NOT NULL,
  docker INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  idle_since INTEGER,
  tags TEXT NOT NULL DEFAULT '{}',
  server_pid INTEGER NOT NULL,
  server_start INTEGER NOT NULL,
  machines TEXT
) STRICT;
`;
/** This server's schema: 2 added `machines` (labs survive a restart too). */
const SCHEMA_VERSION = 2;

export class SandboxRecordsError extends Error {
  override name = 'SandboxRecordsError';
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.hint = hint;
  }
}

interface Row {
  id: string;
  token_hashes: string;
  owner: string;
  address: string | null;
  claimed: number;
  limits: string;
  docker: number;
  created_at: number;
  expires_at: number;
  idle_since: number | null;
  tags: string;
  machines: string | null;
  server_pid: number;
  server_start: number;
}

export class SandboxRecords {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #pid = process.pid;
  readonly #start = processStartTime(process.pid) ?? 0;

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.#db = db;
  }

  /** Opens (creating it and its folder if needed) the file at `path`; throws SandboxRecordsError saying what to do. */
  static open(path: string): SandboxRecords {
    let db: DatabaseSync;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      db = new DatabaseSync(path);
      db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;');
      const version = Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
      if (version > SCHEMA_VERSION) {
        db.close();
        throw new SandboxRecordsError(
          `the sandbox records ${path} have schema version ${version}, newer than this server knows (${SCHEMA_VERSION})`,
          'run the version of the server that wrote them, or set SANDBOX_DB to another file',
        );
      }
      db.exec(SCHEMA);
      // A file of version 1 (before labs) keeps its records: it gains the column, empty (one machine each).
      const columns = db.prepare('PRAGMA table_info(sandboxes)').all() as unknown as { name: string }[];
      if (!columns.some((column) => column.name === 'machines')) db.exec('ALTER TABLE sandboxes ADD COLUMN machines TEXT');
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    } catch (error) {
      if (error instanceof SandboxRecordsError) throw error;
      throw new SandboxRecordsError(
        `cannot use the sandbox records ${path}: ${(error as Error).message}`,
        'set SANDBOX_DB to a file in a folder the server can write to, e.g. /var/lib/cours-linux/sandboxes.sqlite',
      );
    }
    return new SandboxRecords(path, db);
  }

  /** A sandbox was handed out by this process. */
  insert(record: SandboxRecord): void {
    this.#db
      .prepare(
        `INSERT OR REPLACE INTO sandboxes (id, token_hashes, owner, address, claimed, limits, docker, created_at, expires_at, idle_since, tags, machines, server_pid, server_start)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        record.id,
        JSON.stringify(record.tokenHashes),
        record.owner,
        record.address ?? null,
        record.claimed ? 1 : 0,
        JSON.stringify(record.limits),
        record.docker ? 1 : 0,
        record.createdAt.getTime(),
        record.expiresAt.getTime(),
        record.idleSince?.getTime() ?? null,
        JSON.stringify(record.tags),
        record.machines ? JSON.stringify(record.machines.map(({ name, address }) => ({ name, address }))) : null,
        this.#pid,
        this.#start,
      );
  }

  setIdleSince(id: string, idleSince: Date | undefined): void {
    this.#db.prepare('UPDATE sandboxes SET idle_since = ? WHERE id = ? AND server_pid = ?').run(idleSince?.getTime() ?? null, id, this.#pid);
  }

  setTokenHashes(id: string, hashes: readonly string[]): void {
    this.#db.prepare('UPDATE sandboxes SET token_hashes = ? WHERE id = ?').run(JSON.stringify(hashes), id);
  }

  setClaimed(id: string): void {
    this.#db.prepare('UPDATE sandboxes SET claimed = 1 WHERE id = ?').run(id);
  }

  setTags(id: string, tags: Record<string, string | number>): void {
    this.#db.prepare('UPDATE sandboxes SET tags = ? WHERE id = ?').run(JSON.stringify(tags), id);
  }

  delete(id: string): void {
    this.#db.prepare('DELETE FROM sandboxes WHERE id = ?').run(id);
  }

  /**
   * Makes this process the runner of every record whose runner is gone (an
   * earlier server process) and returns them. Records of a live other process
   * are left alone, and counted in `othersLive`.
   */
  claimOrphans(): { claimed: SandboxRecord[]; othersLive: number } {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const rows = this.#db.prepare('SELECT * FROM sandboxes ORDER BY created_at').all() as unknown as Row[];
      const claimed: SandboxRecord[] = [];
      let othersLive = 0;
      const claim = this.#db.prepare('UPDATE sandboxes SET server_pid = ?, server_start = ? WHERE id = ?');
      for (const row of rows) {
        const ours = row.server_pid === this.#pid && row.server_start === this.#start;
        if (!ours && processIsAlive(row.server_pid, row.server_start)) {
          othersLive++;
          continue;
        }
        claim.run(this.#pid, this.#start, row.id);
        claimed.push(fromRow(row));
      }
      this.#db.exec('COMMIT');
      return { claimed, othersLive };
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Every record whose runner is not alive any more (the clean-up command removes their sandboxes). */
  orphans(): SandboxRecord[] {
    const rows = this.#db.prepare('SELECT * FROM sandboxes').all() as unknown as Row[];
    return rows.filter((row) => !processIsAlive(row.server_pid, row.server_start)).map(fromRow);
  }

  close(): void {
    this.#db.close();
  }
}

function fromRow(row: Row): SandboxRecord {
  return {
    id: row.id,
    tokenHashes: JSON.parse(row.token_hashes) as string[],
    owner: row.owner,
    address: row.address ?? undefined,
    claimed: row.claimed === 1,
    limits: JSON.parse(row.limits) as SandboxLimits,
    docker: row.docker === 1,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    idleSince: row.idle_since === null ? undefined : new Date(row.idle_since),
    tags: JSON.parse(row.tags) as Record<string, string | number>,
    ...(row.machines === null ? {} : { machines: JSON.parse(row.machines) as LabMachine[] }),
  };
}
