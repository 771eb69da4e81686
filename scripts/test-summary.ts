// Reads vitest's JSON report and prints the one line CI understands:
// "N passed, N failed, N skipped". Exits non-zero when anything failed or nothing ran.
import { readFileSync } from 'node:fs';

export interface Tally { passed: number; failed: number; skipped: number }

interface VitestJsonReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites?: number;
}

export function tally(report: VitestJsonReport): Tally {
  // A suite that fails to load (syntax error, failing beforeAll) has no failed
  // *tests*; count it as a failure so it can never pass unnoticed.
  const brokenSuites = report.numFailedTestSuites ?? 0;
  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests + (report.numFailedTests === 0 ? brokenSuites : 0),
    skipped: report.numPendingTests + report.numTodoTests,
  };
}

export function summaryLine(t: Tally): string {
  return `${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`;
}

if (import.meta.main) {
  const path = process.argv[2] ?? 'test-results/vitest.json';
  let t: Tally;
  try {
    t = tally(JSON.parse(readFileSync(path, 'utf8')) as VitestJsonReport);
  } catch (err) {
    console.error(`test-summary: cannot read ${path} (${(err as Error).message}); did vitest run?`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  console.log(summaryLine(t));
  process.exit(t.failed > 0 || t.passed === 0 ? 1 : 0);
}
