// `npm run fuzz`: the fuzz tests (tests/fuzz/) with many more cases than the
// suite's short run (FUZZ_SCALE, default 20: several minutes here), then the
// total of cases tried and failures. FUZZ_SEED=… replays another seed.
//
//   npm run fuzz                  # long run, fixed seed
//   FUZZ_SCALE=100 npm run fuzz   # longer
//   FUZZ_SEED=$RANDOM npm run fuzz
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'fuzz-'));
const report = join(dir, 'report.jsonl');
const started = Date.now();
const run = spawnSync('npx', ['vitest', 'run', '--project', 'fuzz', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_SCALE: process.env.FUZZ_SCALE ?? '20', FUZZ_REPORT: report },
});
let cases = 0;
let failures = 0;
let seed = '';
try {
  for (const line of readFileSync(report, 'utf8').split('\n').filter(Boolean)) {
    const entry = JSON.parse(line) as { cases: number; failures: number; seed: number };
    cases += entry.cases;
    failures += entry.failures;
    seed = String(entry.seed);
  }
} catch {
  // No report: vitest failed before any fuzz file ran; its status says so.
}
rmSync(dir, { recursive: true, force: true });
const failed = failures > 0 || run.status !== 0;
process.stdout.write(
  `\nfuzz: ${cases} cases tried, ${failures} failures (seed ${seed || 'unknown'}, ${Math.round((Date.now() - started) / 1000)} s)${failed && failures === 0 ? '; vitest reported a failure outside the properties' : ''}\n`,
);
process.exit(failed ? 1 : 0);
