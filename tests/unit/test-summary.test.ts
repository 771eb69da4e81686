import { describe, expect, it } from 'vitest';
import { summaryLine, tally } from '../../scripts/test-summary.ts';

const report = (o: Partial<Parameters<typeof tally>[0]>) => ({
  numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0, numFailedTestSuites: 0, ...o,
});

describe('test summary line for CI', () => {
  it('counts passed, failed and skipped tests', () => {
    expect(summaryLine(tally(report({ numPassedTests: 12, numFailedTests: 2, numPendingTests: 1, numTodoTests: 1 }))))
      .toBe('12 passed, 2 failed, 2 skipped');
  });

  it('counts a suite that failed to load as a failure', () => {
    expect(tally(report({ numPassedTests: 5, numFailedTestSuites: 1 })).failed).toBe(1);
  });
});
