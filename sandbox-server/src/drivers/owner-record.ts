// The record each driver keeps beside a machine's host-side files (its
// state.json): who owns the machine, so that a later run tells a leftover of
// a crashed server from a machine someone still runs. One rule for both
// drivers: the owner is a pid plus that process's start time (process-start.ts).
import { readFile } from 'node:fs/promises';
import { processIsAlive, processStartTime } from '../process-start.ts';

export interface OwnedRecord {
  ownerPid: number;
  /** Start time of the owner process (clock ticks since boot): tells a live owner from a reused pid. */
  ownerStart: number;
}

/**
 * A machine that outlives its server: the owner is the machine's own process
 * (the namespace sandbox's init, the VM's QEMU) once it runs, and the server
 * running it is said apart.
 */
export interface ServedRecord extends OwnedRecord {
  serverPid?: number | undefined;
  serverStart?: number | undefined;
}

export function ownerIsAlive(record: OwnedRecord): boolean {
  return processIsAlive(record.ownerPid, record.ownerStart);
}

/** A server process runs the machine (for a machine still being made: its owner is that server). */
export function serverIsAlive(record: ServedRecord): boolean {
  if (record.serverPid === undefined) return ownerIsAlive(record);
  return processStartTime(record.serverPid) === record.serverStart;
}

/** This process's entry for a record's server fields. */
export function thisServer(): { serverPid: number; serverStart: number } {
  return { serverPid: process.pid, serverStart: processStartTime(process.pid) ?? 0 };
}

/** A record file's contents, or undefined when it is missing or unreadable (a crash mid-write leaves half a file). */
export async function readRecordFile<T extends OwnedRecord>(path: string): Promise<T | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  try {
    return text ? (JSON.parse(text) as T) : undefined;
  } catch {
    return undefined;
  }
}
