// Class credentials: the random token in a student's or the instructor's
// link. Only its SHA-256 is stored. A plain hash suits tokens of 256 random
// bits (nothing to brute-force, unlike passwords); lookups go by hash, and
// the stored and computed hashes are compared in constant time anyway.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type CredentialKind = 'student' | 'instructor';

/** Readable prefixes, so a token pasted in the wrong place is recognised in errors. */
const PREFIX: Record<CredentialKind, string> = { student: 'eleve_', instructor: 'prof_' };
const TOKEN_PATTERN = /^(eleve|prof)_[A-Za-z0-9_-]{43}$/;

/** A new token: a prefix and 256 random bits in base64url. */
export function newCredential(kind: CredentialKind): string {
  return PREFIX[kind] + randomBytes(32).toString('base64url');
}

export function hashCredential(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** What the token's shape says it is (undefined: not one of ours, e.g. a sandbox token or garbage). */
export function credentialKind(token: string): CredentialKind | undefined {
  const match = TOKEN_PATTERN.exec(token);
  if (!match) return undefined;
  return match[1] === 'eleve' ? 'student' : 'instructor';
}

export function hashesMatch(storedHex: string, computedHex: string): boolean {
  const a = Buffer.from(storedHex, 'hex');
  const b = Buffer.from(computedHex, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
