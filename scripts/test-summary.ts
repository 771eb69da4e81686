// Reads vitest's JSON report and the static checks' results and prints the one
// line CI understands: "N passed, N failed, N skipped". Each static check
// (type-check, lint) counts as one test, so a type or lint error shows in that
// line instead of only in the exit code. Exits non-zero when anything failed or
// nothing ran.
import { existsSync, readFileSync } from 'node:fs';

export interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

interface VitestJsonReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites?: number;
}

/** One static check as scripts/test.sh records it: a line "NAME EXIT_STATUS". */
export interface CheckResult {
  name: string;
  status: number;
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

/** Reads the checks file: one "NAME STATUS" a line; a line of any other shape is a failed check. */
export function parseChecks(text: string): CheckResult[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const match = /^(\S+) (\d+)$/.exec(line.trim());
      return match ? { name: match[1]!, status: Number(match[2]) } : { name: line.trim(), status: 1 };
    });
}

export function withChecks(t: Tally, checks: CheckResult[]): Tally {
  const failed = checks.filter((check) => check.status !== 0).length;
  return { passed: t.passed + checks.length - failed, failed: t.failed + failed, skipped: t.skipped };
}

export function summaryLine(t: Tally): string {
  return `${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`;
}

if (import.meta.main) {
  const path = process.argv[2] ?? 'test-results/vitest.json';
  const checksPath = process.argv[3];
  const checks = checksPath !== undefined && existsSync(checksPath) ? parseChecks(readFileSync(checksPath, 'utf8')) : [];
  for (const check of checks.filter((c) => c.status !== 0)) console.error(`test-summary: the check "${check.name}" failed (see its output above)`);
  let t: Tally;
  try {
    t = tally(JSON.parse(readFileSync(path, 'utf8')) as VitestJsonReport);
  } catch (err) {
    console.error(`test-summary: cannot read ${path} (${(err as Error).message}); did vitest run?`);
    t = { passed: 0, failed: 1, skipped: 0 };
  }
  t = withChecks(t, checks);
  console.log(summaryLine(t));
  process.exit(t.failed > 0 || t.passed === 0 ? 1 : 0);
}
