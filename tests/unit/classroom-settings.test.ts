// What an instructor gives to create a class (CLI or dashboard), checked in
// one place: rosters, seats, capacity, lifetime, limits.
import { describe, expect, it } from 'vitest';
import { ClassSettingsError, parseRoster, resolveClassRequest, seatNames, type ClassDefaults } from '../../sandbox-server/src/classroom/class-settings.ts';

const defaults: ClassDefaults = {
  driver: 'namespace',
  limits: { memoryBytes: 256 * 2 ** 20, cpus: 0.5, pids: 512 },
  docker: true,
  startPage: 'docker_linux/namespaces/',
  maxMachinesPerLab: 3,
};
const NOW = Date.parse('2026-03-12T08:00:00Z');

describe('a roster', () => {
  it('has one name per line; blank lines and # comments are skipped, spaces tidied', () => {
    expect(parseRoster('Alice Martin\r\n\n# groupe B\n  Bruno   Petit  \nChloé\n')).toEqual(['Alice Martin', 'Bruno Petit', 'Chloé']);
  });

  it('refuses duplicates (whatever the case), naming both lines', () => {
    expect(() => parseRoster('Alice\nBob\nalice')).toThrowErrorMatchingInlineSnapshot(`
      [ClassSettingsError: The roster has problems:
        - line 3: "alice" is already on line 1; names must be unique (add an initial)]
    `);
  });

  it('refuses an empty list', () => {
    expect(() => parseRoster('# nobody\n\n')).toThrowErrorMatchingInlineSnapshot(
      `[ClassSettingsError: The roster has no names: write one student name per line.]`,
    );
  });
});

describe('a class request', () => {
  it("takes the server's defaults and a capacity equal to the roster", () => {
    const { newClass, names } = resolveClassRequest({ name: ' TP B ', roster: ['Alice', 'Bob'] }, defaults, NOW);
    expect(names).toEqual(['Alice', 'Bob']);
    expect(newClass).toEqual({
      name: 'TP B',
      capacity: 2,
      driver: 'namespace',
      limits: defaults.limits,
      docker: true,
      startPage: 'docker_linux/namespaces/',
      expiresAt: NOW + 8 * 3_600_000,
    });
  });

  it('makes anonymous seats and reads sizes and durations as an instructor writes them', () => {
    const { newClass, names } = resolveClassRequest(
      { name: 'TP', seats: '3', capacity: 30, lifetime: '90m', memory: '512MiB', cpus: '1', pids: 600, docker: 'false' },
      defaults,
      NOW,
    );
    expect(names).toEqual(seatNames(3));
    expect(names[0]).toBe('Élève 1');
    expect(newClass).toMatchObject({ capacity: 30, expiresAt: NOW + 90 * 60_000, limits: { memoryBytes: 512 * 2 ** 20, cpus: 1, pids: 600 }, docker: false });
  });

  it('lists every problem at once, each with what to write', () => {
    expect(() =>
      resolveClassRequest({ name: 'TP', roster: ['A', 'B', 'C'], capacity: 2, lifetime: 'forever', memory: '1MiB', pids: 10 }, defaults, NOW),
    ).toThrowErrorMatchingInlineSnapshot(
      `[ClassSettingsError: 3 students for a capacity of 2: raise the capacity or shorten the list; lifetime: expected a duration from 10m to 8784h, e.g. "4h" (got "forever"); memory: expected a size from 128MiB to 64GiB, e.g. "256MiB" (got "1MiB"); pids: expected a whole number from 300 to 65536, e.g. 512 (got 10)]`,
    );
  });

  it("gives each student a lab of the class's machines, within MAX_MACHINES_PER_LAB, names checked", () => {
    const { newClass } = resolveClassRequest({ name: 'Swarm', seats: 2, machines: ['node1', 'node2', 'node3'] }, defaults, NOW);
    expect(newClass.machines).toEqual(['node1', 'node2', 'node3']);
    expect(resolveClassRequest({ name: 'Seule', seats: 2 }, defaults, NOW).newClass).not.toHaveProperty('machines');
    expect(() => resolveClassRequest({ name: 'Trop', seats: 1, machines: ['a', 'b', 'c', 'd'] }, defaults, NOW)).toThrow(
      /machines: 4 machines per student, this server allows at most 3 \(MAX_MACHINES_PER_LAB\)/,
    );
    expect(() => resolveClassRequest({ name: 'Double', seats: 1, machines: ['a', 'a'] }, defaults, NOW)).toThrow(/machines: the names must all differ/);
    expect(() => resolveClassRequest({ name: 'Vide', seats: 1, machines: [] }, defaults, NOW)).toThrow(/machines: at least one machine/);
  });

  it('wants students, as a roster or seats but not both', () => {
    expect(() => resolveClassRequest({ name: 'TP' }, defaults, NOW)).toThrowErrorMatchingInlineSnapshot(
      `[ClassSettingsError: give the students: a roster of names (one per line) or a number of anonymous seats]`,
    );
    expect(() => resolveClassRequest({ name: 'TP', roster: ['A'], seats: 2 }, defaults, NOW)).toThrowErrorMatchingInlineSnapshot(
      `[ClassSettingsError: give either a roster of names or a number of seats, not both]`,
    );
    expect(() => resolveClassRequest({ name: '', seats: 2 }, defaults, NOW)).toThrowErrorMatchingInlineSnapshot(
      `[ClassSettingsError: name: give the class a name]`,
    );
    expect(() => resolveClassRequest({ name: 'TP', seats: 2, colour: 'red' }, defaults, NOW)).toThrow(ClassSettingsError);
  });
});
