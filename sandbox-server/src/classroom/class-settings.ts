// What an instructor gives to create a class, from the CLI or the dashboard:
// one zod schema (contracts/class-api.ts), checked in one place, with errors that name the field and
// the fix. Defaults come from the server's configuration.
import { CreateClassRequest, MAX_CLASS_NAME_LENGTH } from '../../../contracts/class-api.ts';
import { parseDuration, parseSize, type Config } from '../config.ts';
import type { ClassLimits, NewClass } from './store.ts';

const MAX_NAME_LENGTH = MAX_CLASS_NAME_LENGTH;
/** Ten minutes to a year. */
const LIFETIME_MS = { min: 10 * 60_000, max: 366 * 24 * 3_600_000 };

/** The roster: one name per line; blank lines and lines starting with "#" are ignored. */
export function parseRoster(text: string): string[] {
  const names: string[] = [];
  const seen = new Map<string, number>();
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const name = line.trim().replace(/\s+/g, ' ');
    if (name === '' || name.startsWith('#')) return;
    if (name.length > MAX_NAME_LENGTH) problems.push(`line ${index + 1}: a name is at most ${MAX_NAME_LENGTH} characters`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(name)) problems.push(`line ${index + 1}: control characters are not allowed in a name`);
    const key = name.toLocaleLowerCase('fr');
    const first = seen.get(key);
    if (first !== undefined) problems.push(`line ${index + 1}: "${name}" is already on line ${first}; names must be unique (add an initial)`);
    seen.set(key, index + 1);
    names.push(name);
  });
  if (problems.length > 0) throw new ClassSettingsError(`The roster has problems:\n  - ${problems.join('\n  - ')}`);
  if (names.length === 0) throw new ClassSettingsError('The roster has no names: write one student name per line.');
  return names;
}

/** Names for N anonymous seats. */
export function seatNames(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `Élève ${index + 1}`);
}

export class ClassSettingsError extends Error {
  override name = 'ClassSettingsError';
}

export interface ClassDefaults {
  driver: Config['driver'];
  limits: ClassLimits;
  docker: boolean;
  startPage: string;
  /** Most machines a student's lab may hold (MAX_MACHINES_PER_LAB). */
  maxMachinesPerLab: number;
}

export function classDefaults(config: Config, startPage: string): ClassDefaults {
  return {
    driver: config.driver,
    limits: { memoryBytes: config.sandboxMemory, cpus: config.sandboxCpus, pids: config.sandboxPids },
    docker: config.sandboxDocker,
    startPage,
    maxMachinesPerLab: config.maxMachinesPerLab,
  };
}

/** A validated class and its students' names; throws ClassSettingsError listing every problem. */
export function resolveClassRequest(request: unknown, defaults: ClassDefaults, now = Date.now()): { newClass: NewClass; names: string[] } {
  const parsed = CreateClassRequest.safeParse(request);
  if (!parsed.success) throw new ClassSettingsError(parsed.error.issues.map((issue) => issue.message).join('; '));
  const input = parsed.data;
  const problems: string[] = [];

  let names: string[] = [];
  if (input.roster !== undefined && input.seats !== undefined) problems.push('give either a roster of names or a number of seats, not both');
  else if (input.roster !== undefined) names = parseRoster(input.roster.join('\n'));
  else if (input.seats !== undefined) names = seatNames(input.seats);
  else problems.push('give the students: a roster of names (one per line) or a number of anonymous seats');
  const capacity = input.capacity ?? Math.max(names.length, 1);
  if (names.length > capacity) problems.push(`${names.length} students for a capacity of ${capacity}: raise the capacity or shorten the list`);

  const lifetimeMs = input.lifetime === undefined ? 8 * 3_600_000 : parseDuration(input.lifetime);
  if (lifetimeMs === undefined || lifetimeMs < LIFETIME_MS.min || lifetimeMs > LIFETIME_MS.max) {
    problems.push(`lifetime: expected a duration from 10m to 8784h, e.g. "4h" (got ${JSON.stringify(input.lifetime)})`);
  }
  const memoryBytes = input.memory === undefined ? defaults.limits.memoryBytes : typeof input.memory === 'number' ? input.memory : parseSize(input.memory);
  if (memoryBytes === undefined || memoryBytes < 128 * 2 ** 20 || memoryBytes > 64 * 2 ** 30)
    problems.push(`memory: expected a size from 128MiB to 64GiB, e.g. "256MiB" (got ${JSON.stringify(input.memory)})`);
  const cpus = input.cpus === undefined ? defaults.limits.cpus : Number(input.cpus);
  if (!(cpus >= 0.05 && cpus <= 64)) problems.push(`cpus: expected a number of cores from 0.05 to 64, e.g. 0.5 (got ${JSON.stringify(input.cpus)})`);
  const pids = input.pids === undefined ? defaults.limits.pids : Number(input.pids);
  if (!(Number.isInteger(pids) && pids >= 300 && pids <= 65_536))
    problems.push(`pids: expected a whole number from 300 to 65536, e.g. 512 (got ${JSON.stringify(input.pids)})`);
  if (input.machines && input.machines.length > defaults.maxMachinesPerLab)
    problems.push(`machines: ${input.machines.length} machines per student, this server allows at most ${defaults.maxMachinesPerLab} (MAX_MACHINES_PER_LAB)`);
  if (problems.length > 0) throw new ClassSettingsError(problems.join('; '));

  return {
    names,
    newClass: {
      name: input.name,
      capacity,
      driver: defaults.driver,
      limits: { memoryBytes: memoryBytes!, cpus, pids },
      docker: input.docker ?? defaults.docker,
      startPage: input.startPage ?? defaults.startPage,
      ...(input.machines ? { machines: input.machines } : {}),
      expiresAt: now + lifetimeMs!,
    },
  };
}
