import { describe, expect, it } from 'vitest';
import { ContentError } from '../../src/lib/hugo/errors.ts';
import { aliasRedirects, classifyContentPath, hugoSanitize, hugoUrl, normalizeBasePath } from '../../src/lib/hugo/urls.ts';

// Expected values below were produced by hugo 0.111 on the same paths
// (tests/integration/hugo-compat.test.ts checks a fixture site end to end).
const base = { basePath: '/tp-iut-docker/' };

describe('hugoUrl', () => {
  it('puts the lesson at /docker_linux/namespaces/, under the base path', () => {
    expect(hugoUrl('docker_linux/namespaces.mdx', {})).toBe('/docker_linux/namespaces/');
    expect(hugoUrl('docker_linux/namespaces.mdx', {}, base)).toBe('/tp-iut-docker/docker_linux/namespaces/');
  });

  it('gives sections (_index) their folder and the home page /', () => {
    expect(hugoUrl('_index.md', {})).toBe('/');
    expect(hugoUrl('_index.md', {}, base)).toBe('/tp-iut-docker/');
    expect(hugoUrl('docker_linux/_index.md', {}, base)).toBe('/tp-iut-docker/docker_linux/');
    expect(hugoUrl('a/b/_index.md', { slug: 'ignored' })).toBe('/a/b/');
  });

  it('gives a leaf bundle (index.md) its folder; slug renames the folder', () => {
    expect(hugoUrl('docker_linux/bundle/index.md', {})).toBe('/docker_linux/bundle/');
    expect(hugoUrl('a/bun/index.md', { slug: 'Slugged Bundle' })).toBe('/a/slugged-bundle/');
  });

  it('lower-cases and sanitises the path as Hugo does, keeping underscores and accents', () => {
    expect(hugoUrl('docker_linux/Cgroups_Intro.md', {})).toBe('/docker_linux/cgroups_intro/');
    expect(hugoUrl('Upper_Section/p.md', {})).toBe('/upper_section/p/');
    expect(hugoUrl('docker_linux/Mon Fichier (v2) & co.md', {})).toBe('/docker_linux/mon-fichier-v2-co/');
    expect(hugoUrl('docker_linux/réseau_été.md', {})).toBe('/docker_linux/réseau_été/');
    expect(hugoUrl('a/x.y.md', {})).toBe('/a/x.y/');
    expect(hugoUrl('a/trail space .md', {})).toBe('/a/trail-space-/');
    expect(hugoUrl("a/C'est l'été.md", {})).toBe('/a/cest-lété/');
    expect(hugoUrl('a/_hidden.md', {})).toBe('/a/_hidden/');
  });

  it('keeps the case when disablePathToLower is set', () => {
    expect(hugoUrl('Upper_Section/P.md', {}, { disablePathToLower: true })).toBe('/Upper_Section/P/');
  });

  it('replaces the last segment with slug, sanitised and lower-cased', () => {
    expect(hugoUrl('docker_linux/slugged.md', { slug: 'Mon Slug!' })).toBe('/docker_linux/mon-slug/');
    expect(hugoUrl('a/s.md', { slug: 'été/sub' })).toBe('/a/été/sub/');
    expect(hugoUrl('a/sl.md', { slug: 'Hé  Ho -- (x)' })).toBe('/a/hé-ho--x/');
  });

  it('replaces the whole path with url, as written, under the base path', () => {
    expect(hugoUrl('docker_linux/urled.md', { url: '/Custom/Path' }, base)).toBe('/tp-iut-docker/Custom/Path/');
    expect(hugoUrl('docker_linux/urled2.md', { url: 'other/place/' }, base)).toBe('/tp-iut-docker/other/place/');
    expect(hugoUrl('a/u1.md', { url: '/Foo Bar/x (1)/' })).toBe('/Foo Bar/x (1)/');
    expect(hugoUrl('a/u2.md', { url: '/page.html', slug: 'ignored' })).toBe('/page.html');
  });

  it('accepts Windows separators and a leading ./', () => {
    expect(hugoUrl('.\\docker_linux\\namespaces.md', {})).toBe('/docker_linux/namespaces/');
  });
});

describe('hugoSanitize (Hugo UnicodeSanitize)', () => {
  it.each([
    ['a@b#c+d~e', 'a@b#c+d~e'],
    ['pct%41x%zz', 'pct%41xzz'],
    ['multi   space', 'multi-space'],
    ['a - b', 'a-b'],
    ['(lead paren', 'lead-paren'],
    ['x—y–z', 'xyz'],
    ['ünï Çödé', 'ünï-Çödé'],
    ['quoi?!', 'quoi'],
    ['tab\there', 'tab-here'],
    ['emoji😀x', 'emojix'],
  ])('%j → %j', (input, expected) => {
    expect(hugoSanitize(input)).toBe(expected);
  });
});

describe('normalizeBasePath', () => {
  it.each([
    [undefined, ''],
    ['/', ''],
    ['', ''],
    ['/tp-iut-docker/', '/tp-iut-docker'],
    ['tp-iut-docker', '/tp-iut-docker'],
    ['/a/b//', '/a/b'],
  ])('%j → %j', (input, expected) => {
    expect(normalizeBasePath(input)).toBe(expected);
  });
});

describe('classifyContentPath', () => {
  it('tells home, sections, leaf bundles and pages apart', () => {
    expect(classifyContentPath('_index.md')).toMatchObject({ kind: 'home', bundle: 'branch', dirSegments: [] });
    expect(classifyContentPath('a/_index.md')).toMatchObject({ kind: 'section', bundle: 'branch', dirSegments: ['a'] });
    expect(classifyContentPath('a/b/index.md')).toMatchObject({ kind: 'page', bundle: 'leaf', dirSegments: ['a', 'b'] });
    expect(classifyContentPath('a/b.mdx')).toMatchObject({ kind: 'page', bundle: undefined, name: 'b' });
  });
});

describe('aliasRedirects', () => {
  it("redirects absolute aliases (case kept) and relative ones (against the page's folder) to the page", () => {
    const fm = { aliases: ['/old/Aliased/', 'relative-alias', '/no-slash-end'] };
    expect(aliasRedirects('docker_linux/aliased.md', fm, base)).toEqual([
      { from: '/tp-iut-docker/old/Aliased/', to: '/tp-iut-docker/docker_linux/aliased/', path: 'docker_linux/aliased.md' },
      { from: '/tp-iut-docker/docker_linux/relative-alias/', to: '/tp-iut-docker/docker_linux/aliased/', path: 'docker_linux/aliased.md' },
      { from: '/tp-iut-docker/no-slash-end/', to: '/tp-iut-docker/docker_linux/aliased/', path: 'docker_linux/aliased.md' },
    ]);
  });

  it('keeps an alias to a file as it is, and follows a url override', () => {
    expect(aliasRedirects('a/p.md', { url: '/x/y/', aliases: ['/old.html', 'z'] })).toEqual([
      { from: '/old.html', to: '/x/y/', path: 'a/p.md' },
      { from: '/x/z/', to: '/x/y/', path: 'a/p.md' },
    ]);
  });

  it('refuses full URLs, as Hugo does', () => {
    expect(() => aliasRedirects('a/p.md', { aliases: ['https://example.org/old/'] })).toThrow(ContentError);
    expect(() => aliasRedirects('a/p.md', { aliases: ['https://example.org/old/'] })).toThrow(
      'content/a/p.md: aliases must be paths on this site, got "https://example.org/old/". Fix: write the path only, e.g. "/old/"',
    );
  });
});
