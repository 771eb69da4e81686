// The record each driver keeps beside a machine's host-side files (its
// state.json): who owns the machine, so that a later run tells a leftover of
// a crashed server from a machine someone still runs. One rule for both
// drivers: the owner is a pid plus that process's start time (process-start.ts).
import { readFile } from 'node:fs/promises';
import { processIsAlive } from '../process-start.ts';

export interface OwnedRecord {
  ownerPid: number;
  /** Start time of the owner process (clock ticks since boot): tells a live owner from a reused pid. */
  ownerStart: number;
}

export function ownerIsAlive(record: OwnedRecord): boolean {
  return processIsAlive(record.ownerPid, record.ownerStart);
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
