// Checks the credential a request presents — a student's link or the
// instructor's key — under the per-address rate limits, and says in French
// why it is refused. The one place where class credentials are verified.
import type { ErrorInfo } from '../../../contracts/protocol.ts';
import { credentialKind, hashCredential, hashesMatch } from './credentials.ts';
import { instructorErrors, studentErrors } from './messages.ts';
import type { CredentialRateLimiter } from './rate-limiter.ts';
import type { ClassRecord, ClassroomStore, CredentialRecord, StudentRecord } from './store.ts';

export interface Refusal {
  ok: false;
  status: 401 | 403 | 429;
  error: ErrorInfo;
  /** With 429: seconds until the address may try again. */
  retryAfterSeconds?: number;
}

export type StudentVerdict = { ok: true; credential: CredentialRecord; student: StudentRecord; classRecord: ClassRecord } | Refusal;
export type InstructorVerdict = { ok: true; credential: CredentialRecord } | Refusal;

export class ClassAuth {
  readonly #store: ClassroomStore;
  readonly #limiter: CredentialRateLimiter;
  readonly #now: () => number;

  constructor(store: ClassroomStore, limiter: CredentialRateLimiter, now: () => number = Date.now) {
    this.#store = store;
    this.#limiter = limiter;
    this.#now = now;
  }

  student(token: string | undefined, address: string): StudentVerdict {
    if (token === undefined) return { ok: false, status: 401, error: studentErrors.linkRequired() };
    // Checked before any limit: a valid link always works, whatever others behind its address tried.
    const verdict = this.#checkStudent(token);
    if (verdict.ok) {
      this.#store.touchCredential(verdict.credential, this.#now());
      return verdict;
    }
    return this.#failedAttempt(address, verdict.error, studentErrors.rateLimited);
  }

  #checkStudent(token: string): StudentVerdict {
    const credential = this.#lookup(token);
    const refused = (error: ErrorInfo): Refusal => ({ ok: false, status: 403, error });
    if (credential?.kind !== 'student' || credential.studentId === null) return refused(studentErrors.linkUnknown());
    const now = this.#now();
    if (credential.revokedAt !== null) return refused(studentErrors.linkRevoked(credential.revokedAt));
    if (credential.expiresAt !== null && credential.expiresAt <= now) return refused(studentErrors.linkExpired(credential.expiresAt));
    const student = this.#store.student(credential.studentId);
    const classRecord = student ? this.#store.getClass(student.classId) : undefined;
    if (!student || !classRecord) return refused(studentErrors.linkUnknown());
    if (classRecord.expiresAt <= now) return refused(studentErrors.linkExpired(classRecord.expiresAt));
    return { ok: true, credential, student, classRecord };
  }

  instructor(token: string | undefined, address: string): InstructorVerdict {
    if (token === undefined) return { ok: false, status: 401, error: instructorErrors.keyRequired() };
    const credential = this.#lookup(token);
    const now = this.#now();
    const valid = credential?.kind === 'instructor' && credential.revokedAt === null && (credential.expiresAt === null || credential.expiresAt > now);
    if (!credential || !valid) return this.#failedAttempt(address, instructorErrors.keyRefused(), (seconds) => ({ ...studentErrors.rateLimited(seconds) }));
    this.#store.touchCredential(credential, now);
    return { ok: true, credential };
  }

  /** A wrong credential: 403, or 429 once `address` has failed too often (counted per attempt). */
  #failedAttempt(address: string, error: ErrorInfo, limited: (seconds: number) => ErrorInfo): Refusal {
    const wait = this.#limiter.failedAttempt(address);
    return wait > 0 ? { ok: false, status: 429, error: limited(wait), retryAfterSeconds: wait } : { ok: false, status: 403, error };
  }

  /** Before checking another kind of secret (a viewer ticket): the same limits apply. */
  admit(address: string): Refusal | undefined {
    return this.#admit(address, studentErrors.rateLimited);
  }

  /** That other secret was wrong. */
  failed(address: string): void {
    this.#limiter.failed(address);
  }

  /** Is this student credential (by hash) still good? For machines handed out earlier. */
  stillValid(hash: string): Refusal | undefined {
    const credential = this.#store.credentialByHash(hash);
    const now = this.#now();
    if (!credential) return { ok: false, status: 403, error: studentErrors.linkUnknown() };
    if (credential.revokedAt !== null) return { ok: false, status: 403, error: studentErrors.linkRevoked(credential.revokedAt) };
    if (credential.expiresAt !== null && credential.expiresAt <= now) return { ok: false, status: 403, error: studentErrors.linkExpired(credential.expiresAt) };
    return undefined;
  }

  #admit(address: string, message: (seconds: number) => ErrorInfo): Refusal | undefined {
    const wait = this.#limiter.admit(address);
    return wait > 0 ? { ok: false, status: 429, error: message(wait), retryAfterSeconds: wait } : undefined;
  }

  #lookup(token: string): CredentialRecord | undefined {
    // Tokens not shaped like ours are not looked up at all (a sandbox token, a truncated paste).
    if (credentialKind(token) === undefined) return undefined;
    const hash = hashCredential(token);
    const credential = this.#store.credentialByHash(hash);
    return credential && hashesMatch(credential.hash, hash) ? credential : undefined;
  }
}
