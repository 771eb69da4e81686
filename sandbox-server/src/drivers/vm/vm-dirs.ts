// Where a VM keeps its host-side files, and the record that lets a later run
// find what a crashed one left behind:
//
//   <stateDir>/<prefix>-<id>/state.json    who owns it: QEMU once it runs (pid + start time), and the server running it
//   <stateDir>/<prefix>-<id>/agent.sock    QEMU listens, the server connects (virtio-serial ⇄ socket)
//   <stateDir>/<prefix>-<id>/console.log   the guest's serial console (boot errors end up here)
//   <stateDir>/<prefix>-<id>/qemu.log      QEMU's stderr
//   <stateDir>/<prefix>-<id>/tmp/          QEMU's TMPDIR: the disk's copy-on-write layer
//   <stateDir>/<prefix>-<id>/docker.ext4   the guest's /var/lib/docker: sparse, its size the quota
//   <stateDir>/<prefix>-<id>/registry.sock the class image store's channel (registry-channel.ts), QEMU listens
//
// The directory is root's alone (0700): nobody else on the host may talk to
// a guest's agent.
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processStartTime } from '../../process-start.ts';
import { ownerIsAlive, readRecordFile, serverIsAlive, thisServer, type ServedRecord } from '../owner-record.ts';

export interface VmRecord extends ServedRecord {
  id: string;
  /**
   * The process whose life the record follows: the server while the VM is
   * being made, then QEMU — so that no clean-up takes a running VM for a
   * leftover while its server restarts (as the namespace driver's record).
   */
  ownerPid: number;
  qemuPid?: number;
  qemuStart?: number;
  /** The server process running the VM, once QEMU runs. */
  serverPid?: number | undefined;
  serverStart?: number | undefined;
  createdAt: string;
  /** The server records file listing it (SandboxSpec.recordedIn), if any. */
  recordedIn?: string | undefined;
  /** Whose machine it is in the class registry: its own id, or its lab's. */
  reader?: string | undefined;
  /** It was started with dockerd, a Docker disk and the image store's channel. */
  docker?: boolean | undefined;
}

export class VmDirs {
  readonly root: string;
  readonly socket: string;
  readonly console: string;
  readonly qemuLog: string;
  readonly tmp: string;
  readonly record: string;
  readonly dockerDisk: string;
  readonly registrySocket: string;

  constructor(stateDir: string, prefix: string, id: string) {
    this.root = join(stateDir, `${prefix}-${id}`);
    this.socket = join(this.root, 'agent.sock');
    this.console = join(this.root, 'console.log');
    this.qemuLog = join(this.root, 'qemu.log');
    this.tmp = join(this.root, 'tmp');
    this.record = join(this.root, 'state.json');
    this.dockerDisk = join(this.root, 'docker.ext4');
    this.registrySocket = join(this.root, 'registry.sock');
  }

  async create(record: VmRecord): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await mkdir(this.tmp, { mode: 0o700 });
    await this.write(record);
  }

  /** Rewrites the record (QEMU's pid, a new server after a restart), whole or not at all: a clean-up elsewhere may read it at any moment. */
  async write(record: VmRecord): Promise<void> {
    const temporary = `${this.record}.tmp-${process.pid}`;
    await writeFile(temporary, JSON.stringify(record, null, 2));
    await rename(temporary, this.record);
  }

  read(): Promise<VmRecord | undefined> {
    return readRecordFile<VmRecord>(this.record);
  }

  /** The last lines the guest printed on its console (for error messages). */
  consoleTail(lines = 15): string {
    if (!existsSync(this.console)) return '';
    // The guest writes this file as it likes (root inside can flood its console): read its end only.
    const text = readTail(this.console, 64 * 1024).replace(/\r/g, '');
    return text
      .split('\n')
      .filter((line) => line.trim())
      .slice(-lines)
      .join('\n');
  }

  /** No record yet, but made within the last minute: another process is creating it right now. */
  isBeingCreated(): boolean {
    try {
      return Date.now() - statSync(this.root).mtimeMs < 60_000;
    } catch {
      return false;
    }
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

/** Every VM directory under `stateDir` with our prefix, with its record when readable. */
export async function listVmDirs(stateDir: string, prefix: string): Promise<{ id: string; dirs: VmDirs; record: VmRecord | undefined }[]> {
  const found: { id: string; dirs: VmDirs; record: VmRecord | undefined }[] = [];
  for (const name of await readdir(stateDir).catch(() => [] as string[])) {
    if (!name.startsWith(`${prefix}-`)) continue;
    const id = name.slice(prefix.length + 1);
    const dirs = new VmDirs(stateDir, prefix, id);
    found.push({ id, dirs, record: await readRecordFile<VmRecord>(dirs.record) });
  }
  return found;
}

export { ownerIsAlive, processStartTime, serverIsAlive, thisServer };

/** The last `bytes` of a file, however big it grew. */
function readTail(path: string, bytes: number): string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.min(bytes, size));
    readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
