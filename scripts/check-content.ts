// npm run check:content — what every fenced shell block of the course will do,
// without building it: per block, with file:line, the commands « Exécuter »
// will type, or why the block is copy-only. Exits 1 only when a block cannot
// be read at all (its fence attributes), naming the file, the line and the fix.
// Reads the same configuration as the build (COURSE_SITE_DIR, COURSE_CONTENT_DIR).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FenceError, planShellBlock } from '../src/lib/snippets/shell-fences.ts';
import { scanFences } from '../src/lib/snippets/fence-scanner.ts';
import { loadSiteConfig, PROJECT_ROOT } from '../src/lib/site-config.ts';

const site = loadSiteConfig();
const files = readdirSync(site.contentDir, { recursive: true, encoding: 'utf8' })
  .filter((f) => /\.mdx?$/.test(f))
  .sort();
const shown = (abs: string) => {
  const rel = relative(PROJECT_ROOT, abs);
  return rel.startsWith('..') ? abs : rel;
};
const oneLine = (command: string) => command.replace(/\n/g, ' ⏎ ');

let runnable = 0;
let copyOnly = 0;
let broken = 0;
for (const file of files) {
  const path = join(site.contentDir, file);
  for (const fence of scanFences(readFileSync(path, 'utf8'))) {
    const where = `${shown(path)}:${fence.line}`;
    try {
      const plan = planShellBlock(fence.lang, fence.meta, fence.value);
      if (plan.kind === 'skip') continue;
      const target = `terminal ${plan.terminal}${plan.machine ? `, machine ${plan.machine}` : ''}`;
      if (plan.kind === 'run') {
        runnable++;
        console.log(`${where}  run (${target}, ${plan.transcript.mode}): ${plan.transcript.commands.map(oneLine).join(' ; ')}`);
      } else {
        copyOnly++;
        console.log(`${where}  copy-only: ${plan.reason}`);
      }
    } catch (error) {
      if (!(error instanceof FenceError)) throw error;
      broken++;
      console.error(`${where}  ERROR: ${error.message}. Fix: ${error.hint}`);
    }
  }
}
console.log(`\n${runnable} runnable, ${copyOnly} copy-only, ${broken} unreadable shell blocks in ${files.length} pages of ${shown(site.contentDir)}`);
process.exit(broken > 0 ? 1 : 0);
