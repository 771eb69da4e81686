// Orders test files for vitest so that two workers finish together: within a
// group (sequence.groupOrder), the longest files first, whatever their project
// (vitest's own order runs project after project, which on 2 cores leaves a
// worker idle behind the last heavy file of each). "Longest" is the duration of
// the last run vitest cached (node_modules/.vite/vitest); on a clean clone,
// with no cache, the file's size stands in for it.
import { statSync } from 'node:fs';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const durations = files.map((spec) => this.ctx.cache.getTestSpecificationResult(spec)?.duration);
    const known = durations.every((duration) => duration !== undefined);
    const weight = new Map(files.map((spec, index) => [spec, known ? (durations[index] as number) : statSync(spec.moduleId).size]));
    return [...files].sort(
      (a, b) => a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder || (weight.get(b) ?? 0) - (weight.get(a) ?? 0),
    );
  }
}
