// Where a sandbox keeps its host-side files, and the record that lets a later
// run find what a crashed one left behind:
//
//   <stateDir>/sandboxes/<id>/state.json   who owns it (pid + start time), its uid range
//   <stateDir>/sandboxes/<id>/bundle/      OCI bundle: config.json; rootfs/, lower/, layer/ are
//                                          mount points used only inside the launch namespace
//   <stateDir>/sandboxes/<id>/run/         bind-mounted at /.sandbox/run: the socket the agent listens on, on a
//                                          tiny tmpfs of its own (host-tree.ts): root inside may write
//                                          there, and must fill that, not the host's disk
//
// The owner in state.json is the server process running the sandbox; a
// server that adopts a sandbox after a restart writes itself in.
import { processStartTime } from '../../process-start.ts';
import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ownerIsAlive, readRecordFile, serverIsAlive, thisServer, type ServedRecord } from '../owner-record.ts';
import { mountSmallTmpfs, removeHostTree } from './host-tree.ts';

export interface SandboxRecord extends ServedRecord {
  id: string;
  containerId: string;
  uidIndex: number;
  uidBase: number;
  /**
   * The process whose life the record follows: the server while the sandbox
   * is being made, then the sandbox's own init (its pid on the host) — so
   * that no clean-up takes a running sandbox for a leftover while its server
   * restarts, older servers' clean-ups included.
   */
  ownerPid: number;
  /** The server process running the sandbox, once it runs (then the owner is its init). */
  serverPid?: number | undefined;
  serverStart?: number | undefined;
  createdAt: string;
  /** The server records file listing it (SandboxSpec.recordedIn), if any. */
  recordedIn?: string | undefined;
  /** Whose machine it is in the class registry: its own id, or its lab's (absent in records of older servers: its id). */
  reader?: string | undefined;
}

export class SandboxDirs {
  readonly root: string;
  readonly bundle: string;
  readonly run: string;
  readonly socket: string;
  readonly record: string;

  constructor(stateDir: string, id: string) {
    this.root = join(stateDir, 'sandboxes', id);
    this.bundle = join(this.root, 'bundle');
    this.run = join(this.root, 'run');
    this.socket = join(this.run, 'agent.sock');
    this.record = join(this.root, 'state.json');
  }

  async create(record: SandboxRecord): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    // Whole or not at all: a clean-up elsewhere may read it at any moment.
    await this.writeRecord(record);
    for (const dir of ['rootfs', 'lower', 'layer']) await mkdir(join(this.bundle, dir), { recursive: true });
    await mkdir(this.run, { recursive: true, mode: 0o700 });
  }

  /** Rewrites the record (a new owner after a server restart), atomically. */
  async writeRecord(record: SandboxRecord): Promise<void> {
    const temporary = `${this.record}.tmp-${process.pid}`;
    await writeFile(temporary, JSON.stringify(record, null, 2));
    await rename(temporary, this.record);
  }

  /** Puts the socket directory on its own tiny tmpfs, owned by the sandbox's root (`uid`). */
  async mountRun(uid: number): Promise<void> {
    await mountSmallTmpfs(this.run, uid);
  }

  /** Removes everything, mounts and trees of any depth included (see host-tree.ts). */
  async remove(): Promise<void> {
    await removeHostTree(this.root);
  }
}

/** The sandboxes' directories: each one's record (undefined if missing or unreadable) and when the directory last changed (ms since the epoch). */
export async function listRecords(stateDir: string): Promise<{ id: string; record: SandboxRecord | undefined; sinceMs: number }[]> {
  const dir = join(stateDir, 'sandboxes');
  const found: { id: string; record: SandboxRecord | undefined; sinceMs: number }[] = [];
  for (const id of await readdir(dir).catch(() => [] as string[])) {
    const sinceMs = (await stat(join(dir, id)).catch(() => undefined))?.mtimeMs ?? 0;
    const record = await readRecordFile<SandboxRecord>(join(dir, id, 'state.json'));
    found.push({ id, record, sinceMs });
  }
  return found;
}

/** The record of one sandbox, or undefined when it is missing or unreadable. */
export function readRecord(dirs: SandboxDirs): Promise<SandboxRecord | undefined> {
  return readRecordFile<SandboxRecord>(dirs.record);
}

export { ownerIsAlive, processStartTime, serverIsAlive, thisServer };
