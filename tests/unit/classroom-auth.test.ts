// Checking class credentials: students' links and the instructor's key, the
// French refusals (revoked, expired, unknown), the separation of the two
// kinds, and the per-address rate limits (429 with a wait), on a real store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClassAuth } from '../../sandbox-server/src/classroom/class-auth.ts';
import { credentialKind, hashesMatch, hashCredential, newCredential } from '../../sandbox-server/src/classroom/credentials.ts';
import { openClassroomDatabase } from '../../sandbox-server/src/classroom/database.ts';
import { CredentialRateLimiter } from '../../sandbox-server/src/classroom/rate-limiter.ts';
import { ClassroomStore } from '../../sandbox-server/src/classroom/store.ts';

const HOUR = 3_600_000;
let dir: string;
let store: ClassroomStore;
let now: number;
let auth: ClassAuth;
let alice: string;
let bob: string;
let instructor: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'classroom-auth-'));
  store = new ClassroomStore(openClassroomDatabase(join(dir, 'classroom.sqlite')));
  now = Date.parse('2026-03-12T10:00:00Z');
  const { links } = store.createClass(
    {
      name: 'TP B',
      capacity: 5,
      driver: 'namespace',
      limits: { memoryBytes: 2 ** 28, cpus: 0.5, pids: 512 },
      docker: false,
      startPage: 'docker_linux/namespaces/',
      expiresAt: now + 4 * HOUR,
    },
    ['Alice', 'Bob'],
    now,
  );
  alice = links[0]!.token;
  bob = links[1]!.token;
  instructor = store.issueInstructorCredential('test', now);
  auth = new ClassAuth(store, new CredentialRateLimiter({ now: () => now }), () => now);
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('credentials', () => {
  it('are 256 random bits with a prefix saying whose they are', () => {
    const tokens = new Set(Array.from({ length: 200 }, () => newCredential('student')));
    expect(tokens.size).toBe(200);
    for (const token of tokens) {
      expect(credentialKind(token)).toBe('student');
      expect(Buffer.from(token.slice('eleve_'.length), 'base64url')).toHaveLength(32);
    }
    expect(credentialKind(newCredential('instructor'))).toBe('instructor');
    expect(credentialKind('3f0c5e')).toBeUndefined();
  });

  it('compare hashes of equal length only, whatever the content', () => {
    expect(hashesMatch(hashCredential('a'), hashCredential('a'))).toBe(true);
    expect(hashesMatch(hashCredential('a'), hashCredential('b'))).toBe(false);
    expect(hashesMatch(hashCredential('a'), 'abcd')).toBe(false);
  });
});

describe('student links', () => {
  it('let a valid link in, with its student and class', () => {
    const verdict = auth.student(alice, '10.0.0.1');
    expect(verdict.ok && verdict.student.name).toBe('Alice');
    expect(verdict.ok && verdict.classRecord.name).toBe('TP B');
  });

  it('ask for the link when there is none (401, in French)', () => {
    const verdict = auth.student(undefined, '10.0.0.1');
    expect(verdict).toMatchObject({ ok: false, status: 401, error: { code: 'class-link-required' } });
    expect(!verdict.ok && verdict.error.message).toMatch(/ouvrez le lien personnel que votre formateur vous a donné/);
  });

  it('refuse an unknown or mangled link', () => {
    expect(auth.student(`${alice.slice(0, -1)}x`, '10.0.0.1')).toMatchObject({ ok: false, status: 403, error: { code: 'class-link-invalid' } });
    expect(auth.student('not-a-link', '10.0.0.1')).toMatchObject({ ok: false, status: 403, error: { code: 'class-link-invalid' } });
  });

  it('refuse a revoked link, saying when and what to do', () => {
    const aliceId = store.credentialByHash(hashCredential(alice))!.studentId!;
    store.revokeStudents([aliceId], Date.parse('2026-03-12T11:30:00Z'));
    const verdict = auth.student(alice, '10.0.0.1');
    expect(verdict).toMatchObject({ ok: false, status: 403, error: { code: 'class-link-revoked' } });
    expect(!verdict.ok && verdict.error.message).toMatch(/^Ce lien a été révoqué par votre formateur le 12 mars 2026 à \d\d:30\.$/);
    expect(!verdict.ok && verdict.error.hint).toMatch(/nouveau lien/);
    expect(auth.student(bob, '10.0.0.1').ok).toBe(true);
  });

  it('refuse an expired link, saying since when', () => {
    now += 5 * HOUR;
    const verdict = auth.student(alice, '10.0.0.1');
    expect(verdict).toMatchObject({ ok: false, status: 403, error: { code: 'class-link-expired' } });
    expect(!verdict.ok && verdict.error.message).toMatch(/^Ce lien a expiré le 12 mars 2026 à \d\d:00\.$/);
  });

  it('tell whether the link a machine was given under still holds', () => {
    const hash = hashCredential(alice);
    expect(auth.stillValid(hash)).toBeUndefined();
    store.revokeStudents([store.credentialByHash(hash)!.studentId!], now);
    expect(auth.stillValid(hash)?.error.code).toBe('class-link-revoked');
  });
});

describe('the instructor key', () => {
  it('opens the dashboard; a student link does not', () => {
    expect(auth.instructor(instructor, '10.0.0.1').ok).toBe(true);
    expect(auth.instructor(alice, '10.0.0.1')).toMatchObject({ ok: false, status: 403, error: { code: 'forbidden' } });
    expect(auth.instructor(undefined, '10.0.0.1')).toMatchObject({ ok: false, status: 401 });
  });

  it('is not a student link', () => {
    expect(auth.student(instructor, '10.0.0.1')).toMatchObject({ ok: false, status: 403, error: { code: 'class-link-invalid' } });
  });
});

describe('rate limits', () => {
  it('turn an address that keeps failing away with 429 and a wait, without touching other addresses', () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 25; attempt++) {
      const verdict = auth.student(newCredential('student'), '10.0.113.9');
      statuses.push(verdict.ok ? 200 : verdict.status);
    }
    expect(statuses.slice(0, 20).every((status) => status === 403)).toBe(true);
    expect(statuses.slice(20).every((status) => status === 429)).toBe(true);
    // The guesses wait, with the time to wait…
    const limited = auth.student(newCredential('student'), '10.0.113.9');
    expect(limited).toMatchObject({ ok: false, status: 429, error: { code: 'rate-limited' } });
    expect(!limited.ok && limited.retryAfterSeconds).toBe(5);
    // …a valid link from the same address never does (one student guessing behind the school's NAT must not lock the class out).
    for (let request = 0; request < 50; request++) expect(auth.student(alice, '10.0.113.9').ok).toBe(true);
    expect(auth.student(alice, '10.0.100.7').ok).toBe(true);
    now += 5000;
    expect(auth.student(newCredential('student'), '10.0.113.9')).toMatchObject({ status: 403 });
  });

  it('let a whole class behind one address work normally', () => {
    for (let request = 0; request < 300; request++) {
      expect(auth.student(request % 2 ? alice : bob, '10.0.2.10').ok).toBe(true);
    }
  });

  it('forget addresses once their buckets are full again', () => {
    const limiter = new CredentialRateLimiter({ now: () => now });
    for (let index = 0; index < 999; index++) limiter.admit(`10.1.${Math.floor(index / 256)}.${index % 256}`);
    expect(limiter.tracked).toBe(999);
    now += 60_000;
    limiter.admit('10.9.9.9');
    expect(limiter.tracked).toBe(1);
  });
});
