// `npm run bench`: runs every bench/*.bench.ts in turn, each in its own Node
// process (so one benchmark's leftovers cannot skew the next), and prints their
// figures. Each benchmark prints lines of the form `name: value unit`.
// Pass names to run only some: `npm run bench -- site server`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

if (benches.length === 0) {
  console.error(
    `bench: nothing matches ${wanted.join(', ')}; have: ${readdirSync(here)
      .filter((f) => f.endsWith('.bench.ts'))
      .join(', ')}`,
  );
  process.exit(2);
}

let failures = 0;
for (const file of benches) {
  console.log(`\n## ${file.replace('.bench.ts', '')}`);
  const started = Date.now();
  const run = spawnSync(process.execPath, [join(here, file)], { stdio: 'inherit' });
  if (run.status !== 0) {
    failures++;
    console.log(`(${file} failed with ${run.status ?? run.signal})`);
  }
  console.log(`(${file}: ${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
process.exit(failures === 0 ? 0 : 1);
