// Sandbox ids and their tokens. Both come from the OS's CSPRNG; tokens are
// compared in constant time (through fixed-length digests, so even their
// length leaks nothing).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 128 random bits as 32 lowercase hex digits (matches SANDBOX_ID_PATTERN). */
export function newSandboxId(): string {
  return randomBytes(16).toString('hex');
}

/** 256 random bits, base64url. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokensMatch(expected: string, presented: string): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b);
}

/** What is stored of a token (sandbox records): its SHA-256, hex. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Whether `presented` is the token whose hash is `expectedHash`, in constant time. */
export function tokenMatchesHash(expectedHash: string, presented: string): boolean {
  const a = Buffer.from(expectedHash, 'hex');
  const b = createHash('sha256').update(presented).digest();
  return a.length === b.length && timingSafeEqual(a, b);
}
