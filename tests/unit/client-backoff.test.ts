import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../contracts/protocol.ts';
import { Backoff } from '../../src/client/backoff.ts';
import { closeOutcome } from '../../src/client/close-outcome.ts';

describe('Backoff', () => {
  it('doubles from 500 ms up to a 10 s ceiling, and starts over after a success', () => {
    const backoff = new Backoff({ jitter: 0 });
    const schedule = Array.from({ length: 8 }, () => backoff.next());
    expect(schedule).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
    expect(backoff.attempts).toBe(8);
    backoff.reset();
    expect(backoff.next()).toBe(500);
  });

  it('spreads each delay by at most the jitter fraction, never past the ceiling', () => {
    const low = new Backoff({ jitter: 0.2, random: () => 0 });
    const high = new Backoff({ jitter: 0.2, random: () => 0.999999 });
    expect(low.next()).toBe(400);
    expect(high.next()).toBe(600);
    for (let i = 0; i < 10; i++) high.next();
    expect(high.next()).toBe(10_000);
  });

  it('refuses a nonsensical schedule', () => {
    expect(() => new Backoff({ initialMs: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 1000, maxMs: 10 })).toThrow(RangeError);
    expect(() => new Backoff({ jitter: 1 })).toThrow(RangeError);
  });
});

describe('closeOutcome', () => {
  it('retries after network drops and server restarts', () => {
    expect(closeOutcome(1006, false)).toBe('retry');
    expect(closeOutcome(1005, false)).toBe('retry');
    expect(closeOutcome(CloseCode.goingAway, false)).toBe('retry');
    expect(closeOutcome(CloseCode.internalError, false)).toBe('retry');
    expect(closeOutcome(CloseCode.normal, false)).toBe('retry');
  });

  it('stops when the shell exited, the machine is gone, or another tab took the terminal', () => {
    expect(closeOutcome(CloseCode.normal, true)).toBe('exited');
    expect(closeOutcome(CloseCode.gone, false)).toBe('machine-gone');
    expect(closeOutcome(CloseCode.notFound, false)).toBe('machine-gone');
    expect(closeOutcome(CloseCode.forbidden, false)).toBe('machine-gone');
    expect(closeOutcome(CloseCode.takenOver, false)).toBe('taken-over');
    expect(closeOutcome(CloseCode.tooManyTerminals, false)).toBe('fatal');
    expect(closeOutcome(CloseCode.forbidden, false, 'origin-not-allowed')).toBe('fatal');
  });
});
