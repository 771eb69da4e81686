import { describe, expect, it } from 'vitest';
import { summaryLine } from '../../src/lib/authoring/build-summary.ts';
import { withoutHeadInjectDirective } from '../../src/lib/authoring/head-inject-directive.ts';

describe('the dead "use astro:head-inject" directive', () => {
  it("is removed from the start of Astro's wrapper module, lines and columns kept", () => {
    const wrapper = '\n\t\t\t\t\t"use astro:head-inject";\n\t\t\t\t\tasync function getMod() {}\n';
    const cleaned = withoutHeadInjectDirective(wrapper)!;
    expect(cleaned).not.toContain('use astro:head-inject');
    expect(cleaned.split('\n').map((l) => l.length)).toEqual(wrapper.split('\n').map((l) => l.length));
    expect(cleaned.endsWith('async function getMod() {}\n')).toBe(true);
  });

  it('leaves any other directive, or the same words later in a module, alone', () => {
    expect(withoutHeadInjectDirective('"use client";\nexport default 1;')).toBeUndefined();
    expect(withoutHeadInjectDirective('const a = 1;\n"use astro:head-inject";')).toBeUndefined();
  });
});

describe('the build summary line', () => {
  it('says pages, sections, blocks, drafts and time, singular when one', () => {
    expect(summaryLine({ pages: 9, sections: 3, runnable: 9, copyOnly: 2, draftsSkipped: 0, problems: [] }, 12.34)).toBe(
      '9 pages (3 sections), 9 runnable blocks, 2 copy-only blocks, 0 drafts skipped in 12.3 s',
    );
    expect(summaryLine({ pages: 1, sections: 1, runnable: 1, copyOnly: 1, draftsSkipped: 1, problems: [] }, 1)).toBe(
      '1 page (1 section), 1 runnable block, 1 copy-only block, 1 draft skipped in 1.0 s',
    );
  });
});
