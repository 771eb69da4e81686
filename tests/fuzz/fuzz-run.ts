// How a fuzz file runs: a fixed seed (FUZZ_SEED, so a failure replays), a
// number of cases per property scaled by FUZZ_RUNS (the suite's short run by
// default; `npm run fuzz` sets it high), and a tally of cases tried and
// failures that each file prints and appends to FUZZ_REPORT for the total.
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';

export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261201);
/** Cases per property in the suite's short run; `npm run fuzz` multiplies. */
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);

export interface Tally {
  cases: number;
  failures: number;
}

export function newTally(): Tally {
  return { cases: 0, failures: 0 };
}

/** Runs `property` on `runs × FUZZ_SCALE` cases from the fixed seed; counts them into `tally`. */
export async function fuzz<T>(tally: Tally, runs: number, arbitrary: fc.Arbitrary<T>, property: (value: T) => Promise<void> | void): Promise<void> {
  const numRuns = Math.max(1, Math.round(runs * SCALE));
  try {
    await fc.assert(
      fc.asyncProperty(arbitrary, async (value) => {
        tally.cases++;
        await property(value);
      }),
      { seed: FUZZ_SEED, numRuns, endOnFailure: true },
    );
  } catch (error) {
    tally.failures++;
    throw error;
  }
}

/** Prints the file's tally (and adds it to FUZZ_REPORT, which `npm run fuzz` sums). */
export function reportTally(file: string, tally: Tally): void {
  const line = `fuzz ${file}: ${tally.cases} cases tried, ${tally.failures} failures (seed ${FUZZ_SEED})`;
  process.stdout.write(`${line}\n`);
  if (process.env.FUZZ_REPORT) appendFileSync(process.env.FUZZ_REPORT, `${JSON.stringify({ file, ...tally, seed: FUZZ_SEED })}\n`);
}
