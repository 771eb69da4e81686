import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ContentError, hugoFrontMatterSchema, parseFrontMatter, parseHugoDate, parseHugoPage, validateFrontMatter } from '../../src/lib/hugo/front-matter.ts';

/** The seed lesson, copied verbatim from shared/seeds/000_ca594d67bfcfa8fa.txt. */
const SEED = fileURLToPath(new URL('../fixtures/hugo-site/content/docker_linux/namespaces.md', import.meta.url));

/** The ContentError a function throws. */
function contentError(fn: () => unknown): ContentError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ContentError) return e;
    throw e;
  }
  throw new Error('expected a ContentError, nothing was thrown');
}

describe('parseFrontMatter', () => {
  it('reads YAML between --- lines', () => {
    const src = '---\ntitle: "Les Namespaces"\nweight: 1\n---\n\nBody\n';
    expect(parseFrontMatter(src, 'content/a.md')).toEqual({
      data: { title: 'Les Namespaces', weight: 1 },
      body: '\nBody\n',
      format: 'yaml',
      bodyStartLine: 5,
    });
  });

  it('reads TOML between +++ lines, dates as plain Dates', () => {
    const src = '+++\ntitle = "Cgroups"\nweight = 2\ndate = 2020-06-14T11:39:32+02:00\naliases = ["/old/"]\n+++\nBody';
    const r = parseFrontMatter(src, 'content/b.md');
    expect(r.format).toBe('toml');
    expect(r.body).toBe('Body');
    expect(r.bodyStartLine).toBe(7);
    expect(r.data).toMatchObject({ title: 'Cgroups', weight: 2, aliases: ['/old/'] });
    expect(r.data.date).toBeInstanceOf(Date);
    expect((r.data.date as Date).toISOString()).toBe('2020-06-14T09:39:32.000Z');
  });

  it('accepts a file without front matter, CRLF line ends and a BOM', () => {
    expect(parseFrontMatter('# Hello\n', 'content/c.md')).toEqual({ data: {}, body: '# Hello\n', format: 'none', bodyStartLine: 1 });
    const crlf = parseFrontMatter('\uFEFF---\r\ntitle: x\r\n---\r\nBody\r\n', 'content/d.md');
    expect(crlf.data).toEqual({ title: 'x' });
    expect(crlf.body).toBe('Body\r\n');
  });

  it('names the file and line of a YAML syntax error', () => {
    const e = contentError(() => parseFrontMatter('---\ntitle: x\nweight: [1\nfoo: bar\n---\n', 'content/e.md'));
    expect(e.file).toBe('content/e.md');
    expect(e.line).toBeGreaterThanOrEqual(3);
    expect(e.message).toMatch(/^content\/e\.md:\d+: the YAML front matter is not valid: .+ Fix: /);
  });

  it('names the file and line of a TOML syntax error', () => {
    const e = contentError(() => parseFrontMatter('+++\ntitle = "x"\nweight = abc\n+++\n', 'content/f.md'));
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/^content\/f\.md:3: the TOML front matter is not valid/);
  });

  it('reports a front matter that is never closed', () => {
    const e = contentError(() => parseFrontMatter('---\ntitle: x\n\nBody\n', 'content/g.md'));
    expect(e.message).toBe(
      'content/g.md:1: the front matter opened with --- on line 1 is never closed. Fix: add a line with only --- after the last front matter line',
    );
  });
});

describe('hugoFrontMatterSchema / validateFrontMatter', () => {
  it('validates the seed lesson', () => {
    const src = readFileSync(SEED, 'utf8');
    const { frontMatter, format, bodyStartLine } = parseHugoPage(src, 'content/docker_linux/namespaces.md');
    expect(format).toBe('yaml');
    expect(bodyStartLine).toBe(7);
    expect(frontMatter).toMatchObject({ title: 'Les Namespaces', draft: false, weight: 1 });
    expect(frontMatter.date?.toISOString()).toBe('2020-06-14T09:39:32.000Z');
  });

  it('knows every Hugo/Learn key and keeps the others', () => {
    const fm = validateFrontMatter(
      {
        title: 'T',
        linkTitle: 'L',
        description: 'D',
        date: '2021-03-04',
        draft: true,
        weight: 4,
        slug: 's',
        url: '/u/',
        aliases: ['/a/', '/b/'],
        chapter: true,
        pre: '<b>4. </b>',
        menuTitle: 'M',
        hidden: false,
        tags: ['docker'],
        custom: { nested: 1 },
      },
      'content/x.md',
    );
    expect(fm).toMatchObject({ title: 'T', linkTitle: 'L', weight: 4, aliases: ['/a/', '/b/'], chapter: true, tags: ['docker'], custom: { nested: 1 } });
    expect(fm.date).toEqual(new Date('2021-03-04T00:00:00Z'));
  });

  it('matches keys without regard to case and drops empty values, like Hugo', () => {
    const fm = validateFrontMatter({ Title: 'T', LinkTitle: 'L', Weight: '3', Draft: 'true', description: null }, 'content/x.md');
    expect(fm).toMatchObject({ title: 'T', linkTitle: 'L', weight: 3, draft: true });
    expect('description' in fm).toBe(false);
    expect(validateFrontMatter({ title: 'exact', TITLE: 'other' }, 'x').title).toBe('exact');
  });

  it('coerces what Hugo coerces', () => {
    expect(validateFrontMatter({ title: 2020, draft: 'yes', weight: ' -2 ', aliases: '/one/' }, 'x')).toMatchObject({
      title: '2020',
      draft: true,
      weight: -2,
      aliases: ['/one/'],
    });
  });

  it('reports a bad weight with file, line, given value and fix (YAML)', () => {
    const src = '---\ntitle: "x"\ndraft: false\nweight: abc\n---\n';
    const e = contentError(() => parseHugoPage(src, 'content/x.md'));
    expect(e.message).toBe('content/x.md:4: weight must be a whole number, got "abc". Fix: write weight: 3');
    expect(e).toMatchObject({ file: 'content/x.md', line: 4, hint: 'write weight: 3', fatal: true });
    expect(e.loc).toEqual({ file: 'content/x.md', line: 4, column: undefined });
  });

  it("writes the fix in TOML for a TOML file, and keeps the author's spelling of the key", () => {
    const src = '+++\ntitle = "x"\nWeight = 1.5\n+++\n';
    expect(contentError(() => parseHugoPage(src, 'content/y.md')).message).toBe(
      'content/y.md:3: weight must be a whole number, got 1.5. Fix: write Weight = 3',
    );
  });

  it('reports a missing title', () => {
    expect(contentError(() => parseHugoPage('---\nweight: 1\n---\n', 'content/z.md')).message).toBe(
      'content/z.md:1: title is required, got nothing. Fix: add a line title: "Les Namespaces" to the front matter',
    );
    expect(contentError(() => parseHugoPage('# Sans front matter\n', 'content/n.md')).message).toBe(
      'content/n.md:1: title is required, but the file has no front matter. Fix: start the file with three lines: ---, title: "Mon titre", ---',
    );
    expect(contentError(() => parseHugoPage('---\ntitle: "  "\n---\n', 'content/e.md')).message).toMatch(
      /^content\/e\.md:2: title must be non-empty text, got " {2}"\./,
    );
  });

  it('reports a bad date on its line', () => {
    const src = '---\ntitle: x\ndate: 14/06/2020\n---\n';
    expect(contentError(() => parseHugoPage(src, 'content/d.md')).message).toBe(
      'content/d.md:3: date must be a date such as 2020-06-14 or 2020-06-14T11:39:32+02:00, got "14/06/2020". Fix: write date: 2020-06-14',
    );
  });

  it('reports bad booleans, texts and aliases', () => {
    expect(contentError(() => parseHugoPage('---\ntitle: x\ndraft: peut-être\n---\n', 'a.md')).message).toBe(
      'a.md:3: draft must be true or false, got "peut-être". Fix: write draft: false',
    );
    expect(contentError(() => parseHugoPage('---\ntitle: x\nslug: [a, b]\n---\n', 'a.md')).message).toMatch(
      /^a\.md:3: slug must be text \(one URL segment\), got \["a","b"\]\./,
    );
    expect(contentError(() => parseHugoPage('---\ntitle: x\naliases:\n  - /ok/\n  - 3\n---\n', 'a.md')).message).toBe(
      'a.md:3: aliases must be a list of paths, but item 2 is 3. Fix: write aliases: ["/ancienne/adresse/"]',
    );
  });

  it('gives zod messages that say what was given (for Astro content collections)', () => {
    const r = hugoFrontMatterSchema.safeParse({ title: 'x', weight: 'abc' });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe('weight must be a whole number, got "abc"');
  });
});

describe('parseHugoDate', () => {
  it('reads the formats Hugo reads, UTC without a zone', () => {
    expect(parseHugoDate('2020-06-14')?.toISOString()).toBe('2020-06-14T00:00:00.000Z');
    expect(parseHugoDate('2020-06-14T11:39:32')?.toISOString()).toBe('2020-06-14T11:39:32.000Z');
    expect(parseHugoDate('2020-06-14T11:39:32+02:00')?.toISOString()).toBe('2020-06-14T09:39:32.000Z');
    expect(parseHugoDate('2020-06-14 11:39:32Z')?.toISOString()).toBe('2020-06-14T11:39:32.000Z');
    expect(parseHugoDate('2020-06-14T11:39:32.5-0130')?.toISOString()).toBe('2020-06-14T13:09:32.500Z');
  });

  it('rejects anything else', () => {
    for (const s of ['14/06/2020', 'hier', '2020-13-01', '2020-02-31', '']) expect(parseHugoDate(s)).toBeUndefined();
  });
});
