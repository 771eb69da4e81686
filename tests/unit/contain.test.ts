// Failure containment: a callback's exception is logged with its ids and
// handled for its one connection; the process-level last resort logs and
// keeps serving, until failures come in a stream.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { contained, reportRejection } from '../../sandbox-server/src/contain.ts';
import { installLastResort } from '../../sandbox-server/src/last-resort.ts';
import { createLogger } from '../../sandbox-server/src/log.ts';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger('debug', sink), lines };
}

function counter() {
  const counts = new Map<string, number>();
  return { counts, inc: ({ site }: { site: string }) => counts.set(site, (counts.get(site) ?? 0) + 1) };
}

describe('contained', () => {
  it('logs the failure with its ids, counts it and runs the failure handler, without throwing', () => {
    const { log, lines } = capturingLogger();
    const failures = counter();
    const handled: unknown[] = [];
    const listener = contained(
      log,
      failures,
      'terminal-socket',
      { sandbox: 'abc', terminal: '1' },
      (n: number) => {
        if (n > 1) throw new RangeError(`too big: ${n}`);
      },
      (error) => handled.push(error),
    );
    expect(() => listener(1)).not.toThrow();
    expect(() => listener(2)).not.toThrow();
    expect(handled).toHaveLength(1);
    expect(failures.counts.get('terminal-socket')).toBe(1);
    expect(lines.at(-1)).toMatchObject({
      level: 'error',
      site: 'terminal-socket',
      sandbox: 'abc',
      terminal: '1',
      msg: expect.stringContaining('RangeError: too big: 2'),
    });
  });

  it('survives a failure handler that fails too', () => {
    const { log, lines } = capturingLogger();
    const listener = contained(
      log,
      undefined,
      'agent-session',
      {},
      () => {
        throw new Error('first');
      },
      () => {
        throw new Error('second');
      },
    );
    expect(() => listener()).not.toThrow();
    expect(lines.map((line) => line.msg)).toEqual([expect.stringContaining('first'), expect.stringContaining('second')]);
  });

  it('reports a background rejection', async () => {
    const { log, lines } = capturingLogger();
    await Promise.reject(new Error('lost')).catch(reportRejection(log, undefined, 'manager', { sandbox: 'x' }));
    expect(lines[0]).toMatchObject({ site: 'manager', sandbox: 'x', msg: expect.stringContaining('lost') });
  });
});

describe('the last resort', () => {
  it('logs and keeps serving, then gives up past ten failures a minute', () => {
    const { log, lines } = capturingLogger();
    const reasons: string[] = [];
    const failures = counter();
    const resort = installLastResort({ log, counter: failures, giveUp: (reason) => reasons.push(reason) });
    try {
      process.emit('uncaughtException', new Error('missed path'));
      expect(reasons).toEqual([]);
      expect(lines[0]).toMatchObject({ level: 'error', site: 'uncaught-exception', msg: expect.stringContaining('kept serving') });
      for (let i = 0; i < 10; i++) process.emit('unhandledRejection', new Error(`lost ${i}`), Promise.resolve());
      expect(reasons).toEqual([expect.stringContaining('11 uncaught failures')]);
      expect(failures.counts.get('unhandled-rejection')).toBe(10);
    } finally {
      resort.uninstall();
    }
  });
});
