import { describe, expect, it } from 'vitest';
import { parseChecks, summaryLine, tally, withChecks } from '../../scripts/test-summary.ts';

const report = (o: Partial<Parameters<typeof tally>[0]>) => ({
  numPassedTests: 0,
  numFailedTests: 0,
  numPendingTests: 0,
  numTodoTests: 0,
  numFailedTestSuites: 0,
  ...o,
});

describe('test summary line for CI', () => {
  it('counts passed, failed and skipped tests', () => {
    expect(summaryLine(tally(report({ numPassedTests: 12, numFailedTests: 2, numPendingTests: 1, numTodoTests: 1 })))).toBe('12 passed, 2 failed, 2 skipped');
  });

  it('counts a suite that failed to load as a failure', () => {
    expect(tally(report({ numPassedTests: 5, numFailedTestSuites: 1 })).failed).toBe(1);
  });
});

describe('static checks in the summary line', () => {
  it('counts each check as one test, a failing one as one failure', () => {
    const checks = parseChecks('check 0\nlint 1\n');
    expect(checks).toEqual([
      { name: 'check', status: 0 },
      { name: 'lint', status: 1 },
    ]);
    expect(summaryLine(withChecks(tally(report({ numPassedTests: 10 })), checks))).toBe('11 passed, 1 failed, 0 skipped');
  });

  it('takes a line it cannot read as a failed check', () => {
    expect(parseChecks('lint\n')).toEqual([{ name: 'lint', status: 1 }]);
  });
});
