// The sandbox records (SANDBOX_DB) keep a lab's machines with their
// addresses, and a file written before labs (schema 1) is opened with its
// records kept, each a single machine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { SandboxRecords, type SandboxRecord } from '../../sandbox-server/src/manager/sandbox-records.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'records-'));
  dirs.push(dir);
  return join(dir, 'sandboxes.sqlite');
}

const base: SandboxRecord = {
  id: 'a'.repeat(32),
  tokenHashes: ['h'],
  owner: 'reader:x',
  address: undefined,
  claimed: true,
  limits: { memoryBytes: 1, pids: 2, cpus: 1, diskBytes: 3 },
  docker: false,
  createdAt: new Date(1_000),
  expiresAt: new Date(2_000),
  idleSince: undefined,
  tags: {},
};

describe('sandbox records', () => {
  it("keep a lab's machines and addresses, and none for a single machine", () => {
    const path = tempFile();
    const records = SandboxRecords.open(path);
    const machines = [
      { name: 'node1', address: '192.168.4.11' },
      { name: 'node2', address: '192.168.4.12' },
    ];
    records.insert({ ...base, machines });
    records.insert({ ...base, id: 'b'.repeat(32) });
    records.close();
    const reopened = SandboxRecords.open(path);
    const byId = new Map(reopened.claimOrphans().claimed.map((record) => [record.id, record]));
    expect(byId.get(base.id)?.machines).toEqual(machines);
    expect(byId.get('b'.repeat(32))).not.toHaveProperty('machines');
    reopened.close();
  });

  it('open a file of schema 1 (before labs) with its records kept', () => {
    const path = tempFile();
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE sandboxes (id TEXT PRIMARY KEY, token_hashes TEXT NOT NULL, owner TEXT NOT NULL, address TEXT,
      claimed INTEGER NOT NULL, limits TEXT NOT NULL, docker INTEGER NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
      idle_since INTEGER, tags TEXT NOT NULL DEFAULT '{}', server_pid INTEGER NOT NULL, server_start INTEGER NOT NULL) STRICT;
      PRAGMA user_version = 1;`);
    old
      .prepare("INSERT INTO sandboxes VALUES (?, '[\"h\"]', 'reader:x', NULL, 1, ?, 0, 1000, 2000, NULL, '{}', 1, 1)")
      .run(base.id, JSON.stringify(base.limits));
    old.close();
    const records = SandboxRecords.open(path);
    const [record] = records.claimOrphans().claimed;
    expect(record).toEqual({ ...base });
    records.insert({ ...base, id: 'c'.repeat(32), machines: [{ name: 'n1', address: '192.168.9.11' }] });
    records.close();
    const version = new DatabaseSync(path);
    expect(version.prepare('PRAGMA user_version').get()).toEqual({ user_version: 2 });
    version.close();
  });
});
