// Where a sandbox keeps its host-side files, and the record that lets a later
// run find what a crashed one left behind:
//
//   <stateDir>/sandboxes/<id>/state.json   who owns it (pid + start time), its uid range
//   <stateDir>/sandboxes/<id>/bundle/      OCI bundle: config.json; rootfs/, lower/, layer/ are
//                                          mount points used only inside the launch namespace
//   <stateDir>/sandboxes/<id>/run/         bind-mounted at /.sandbox/run: the agent's socket
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface SandboxRecord {
  id: string;
  containerId: string;
  uidIndex: number;
  uidBase: number;
  ownerPid: number;
  /** Start time of the owner process (clock ticks since boot): tells a live owner from a reused pid. */
  ownerStart: number;
  createdAt: string;
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
    await writeFile(this.record, JSON.stringify(record, null, 2));
    for (const dir of ['rootfs', 'lower', 'layer']) await mkdir(join(this.bundle, dir), { recursive: true });
    await mkdir(this.run, { recursive: true, mode: 0o700 });
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

/** The sandboxes' directories: each one's record (undefined if missing or unreadable) and when the directory last changed (ms since the epoch). */
export async function listRecords(stateDir: string): Promise<{ id: string; record: SandboxRecord | undefined; sinceMs: number }[]> {
  const dir = join(stateDir, 'sandboxes');
  const found: { id: string; record: SandboxRecord | undefined; sinceMs: number }[] = [];
  for (const id of await readdir(dir).catch(() => [] as string[])) {
    const sinceMs = (await stat(join(dir, id)).catch(() => undefined))?.mtimeMs ?? 0;
    const text = await readFile(join(dir, id, 'state.json'), 'utf8').catch(() => undefined);
    let record: SandboxRecord | undefined;
    try {
      record = text ? (JSON.parse(text) as SandboxRecord) : undefined;
    } catch {
      record = undefined;
    }
    found.push({ id, record, sinceMs });
  }
  return found;
}

/** Start time of process `pid` in clock ticks since boot, or undefined if there is no such process. */
export function processStartTime(pid: number): number | undefined {
  const path = `/proc/${pid}/stat`;
  if (!existsSync(path)) return undefined;
  try {
    // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

export function ownerIsAlive(record: SandboxRecord): boolean {
  return processStartTime(record.ownerPid) === record.ownerStart;
}
