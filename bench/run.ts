// `npm run bench`: runs every bench/*.bench.ts in turn, each in its own Node
// process (so one benchmark's leftovers cannot skew the next), and prints their
// figures. Each benchmark prints lines of the form `name: value unit`.
// Pass names to run only some: `npm run bench -- site server`. A name selects
// exactly the bench of that name (`vm` is vm.bench.ts, not vm-docker too);
// `npm run bench -- --help` lists them.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const SUFFIX = '.bench.ts';
const all = readdirSync(here)
  .filter((f) => f.endsWith(SUFFIX))
  .map((f) => f.slice(0, -SUFFIX.length))
  .sort();

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm run bench [-- NAME...]
Runs every benchmark in bench/, or only those named (exact names; "vm.bench.ts"
and "vm." also mean "vm"), each in its own process, and prints their figures.
Benchmarks: ${all.join(', ')}`);
  process.exit(0);
}

/** "vm", "vm." (the old way to keep vm-docker out) and "vm.bench.ts" all name vm.bench.ts. */
function benchName(arg: string): string {
  if (arg.endsWith(SUFFIX)) return arg.slice(0, -SUFFIX.length);
  return arg.replace(/\.$/, '');
}

const wanted = args.map(benchName);
const unknown = wanted.filter((name) => !all.includes(name));
if (unknown.length > 0) {
  console.error(`bench: no benchmark named ${unknown.join(', ')}; have: ${all.join(', ')} (names are exact; see --help)`);
  process.exit(2);
}
const benches = wanted.length === 0 ? all : all.filter((name) => wanted.includes(name));

let failures = 0;
for (const name of benches) {
  const file = name + SUFFIX;
  console.log(`\n## ${name}`);
  const started = Date.now();
  const run = spawnSync(process.execPath, [join(here, file)], { stdio: 'inherit' });
  if (run.status !== 0) {
    failures++;
    console.log(`(${file} failed with ${run.status ?? run.signal})`);
  }
  console.log(`(${file}: ${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
process.exit(failures === 0 ? 0 : 1);
