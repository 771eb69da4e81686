import { describe, expect, it } from 'vitest';
import { buildContentTree, type ContentEntry, type SectionNode } from '../../src/lib/hugo/content-tree.ts';
import { ContentError } from '../../src/lib/hugo/errors.ts';
import type { HugoFrontMatter } from '../../src/lib/hugo/front-matter.ts';

const e = (path: string, fm: Partial<HugoFrontMatter> & { title?: string } = {}): ContentEntry => ({
  path,
  frontMatter: { title: fm.title ?? path, ...fm } as HugoFrontMatter,
});

const course = [
  e('_index.md', { title: 'TP Docker' }),
  e('docker_linux/_index.md', { title: 'Docker & Linux', weight: 2, pre: '<b>2. </b>', chapter: true }),
  e('docker_linux/namespaces.mdx', { title: 'Les Namespaces', weight: 1 }),
  e('docker_linux/cgroups.md', { title: 'Les Cgroups', weight: 2 }),
  e('docker_linux/chroot.md', { title: 'Chroot', weight: 2, date: new Date('2021-01-01') }),
  e('docker_linux/brouillon.md', { title: 'Brouillon', weight: 3, draft: true }),
  e('docker_linux/avance/_index.md', { title: 'Avancé', weight: 4 }),
  e('docker_linux/avance/seccomp.md', { title: 'Seccomp', linkTitle: 'seccomp' }),
  e('intro/_index.md', { title: 'Introduction', weight: 1, pre: '<b>1. </b>', aliases: ['/debut/'] }),
  e('intro/installation.md', { title: 'Installation', weight: 1, aliases: ['/install/', 'setup'] }),
  e('intro/cache.md', { title: 'Page cachée', weight: 2, hidden: true }),
  e('annexes/glossaire.md', { title: 'Glossaire' }),
];

describe('buildContentTree', () => {
  const tree = buildContentTree(course, { basePath: '/tp-iut-docker/' });
  const urls = (s: SectionNode) => s.children.map((c) => c.url);

  it('gives every page its Hugo URL under the base path', () => {
    expect(tree.byPath.get('docker_linux/namespaces.mdx')?.url).toBe('/tp-iut-docker/docker_linux/namespaces/');
    expect(tree.home.url).toBe('/tp-iut-docker/');
    expect(tree.byUrl.get('/tp-iut-docker/intro/')?.title).toBe('Introduction');
  });

  it("orders each section's sub-sections and pages together, in Hugo order", () => {
    expect(urls(tree.home)).toEqual(['/tp-iut-docker/intro/', '/tp-iut-docker/docker_linux/', '/tp-iut-docker/annexes/']);
    const dl = tree.byPath.get('docker_linux/_index.md') as SectionNode;
    // weight 1, then weight 2 by date (dated first), then the weight 4 section.
    expect(urls(dl)).toEqual([
      '/tp-iut-docker/docker_linux/namespaces/',
      '/tp-iut-docker/docker_linux/chroot/',
      '/tp-iut-docker/docker_linux/cgroups/',
      '/tp-iut-docker/docker_linux/avance/',
    ]);
  });

  it('creates top-level sections without _index.md, as Hugo does', () => {
    const annexes = tree.byUrl.get('/tp-iut-docker/annexes/') as SectionNode;
    expect(annexes).toMatchObject({ kind: 'section', path: null, title: 'Annexes', dir: 'annexes' });
    expect(annexes.children.map((c) => c.title)).toEqual(['Glossaire']);
  });

  it('leaves drafts out unless buildDrafts', () => {
    expect(tree.byPath.has('docker_linux/brouillon.md')).toBe(false);
    expect(tree.excluded).toEqual([{ path: 'docker_linux/brouillon.md', reason: 'draft' }]);
    const withDrafts = buildContentTree(course, { buildDrafts: true });
    expect(withDrafts.byPath.get('docker_linux/brouillon.md')?.url).toBe('/docker_linux/brouillon/');
    expect(withDrafts.excluded).toEqual([]);
  });

  it('leaves a draft section out with everything under it', () => {
    const t = buildContentTree([e('s/_index.md', { draft: true }), e('s/p.md'), e('s/sub/_index.md'), e('s/sub/q.md'), e('other.md')]);
    expect([...t.byUrl.keys()]).toEqual(['/', '/other/']);
    expect(t.excluded.map((x) => x.reason)).toEqual(['draft', 'in-draft-section', 'in-draft-section', 'in-draft-section']);
    expect(t.menu.map((m) => m.url)).toEqual(['/other/']);
  });

  it('gives breadcrumbs from the home page down to the page', () => {
    expect(tree.byPath.get('docker_linux/avance/seccomp.md')?.breadcrumbs).toEqual([
      { title: 'TP Docker', url: '/tp-iut-docker/' },
      { title: 'Docker & Linux', url: '/tp-iut-docker/docker_linux/' },
      { title: 'Avancé', url: '/tp-iut-docker/docker_linux/avance/' },
      { title: 'seccomp', url: '/tp-iut-docker/docker_linux/avance/seccomp/' },
    ]);
    expect(tree.byPath.get('docker_linux/avance/seccomp.md')).toMatchObject({ depth: 3, parentUrl: '/tp-iut-docker/docker_linux/avance/' });
  });

  it('reads depth first in Hugo order for prev/next, skipping hidden pages', () => {
    expect(tree.readingOrder.map((n) => n.title)).toEqual([
      'TP Docker',
      'Introduction',
      'Installation',
      'Docker & Linux',
      'Les Namespaces',
      'Chroot',
      'Les Cgroups',
      'Avancé',
      'Seccomp',
      'Annexes',
      'Glossaire',
    ]);
    const ns = tree.byPath.get('docker_linux/namespaces.mdx')!;
    expect(ns.prev).toEqual({ title: 'Docker & Linux', url: '/tp-iut-docker/docker_linux/', path: 'docker_linux/_index.md' });
    expect(ns.next).toEqual({ title: 'Chroot', url: '/tp-iut-docker/docker_linux/chroot/', path: 'docker_linux/chroot.md' });
    expect(tree.home.prev).toBeNull();
    expect(tree.byPath.get('annexes/glossaire.md')?.next).toBeNull();
    const hidden = tree.byPath.get('intro/cache.md')!;
    expect(hidden).toMatchObject({ hidden: true, prev: null, next: null, url: '/tp-iut-docker/intro/cache/' });
    expect(tree.nodes).toContain(hidden);
  });

  it("builds the menu with Learn's pre and chapter, without hidden pages", () => {
    expect(tree.menu.map((m) => [m.title, m.pre, m.chapter, m.kind])).toEqual([
      ['Introduction', '<b>1. </b>', false, 'section'],
      ['Docker & Linux', '<b>2. </b>', true, 'section'],
      ['Annexes', undefined, false, 'section'],
    ]);
    expect(tree.menu[0]!.children.map((m) => m.title)).toEqual(['Installation']);
    expect(tree.menu[1]!.children.at(-1)!.children.map((m) => m.title)).toEqual(['seccomp']);
  });

  it('uses menuTitle in the menu and linkTitle in breadcrumbs', () => {
    const t = buildContentTree([e('a.md', { title: 'Long title', linkTitle: 'Link', menuTitle: 'Menu' })]);
    expect(t.menu[0]!.title).toBe('Menu');
    expect(t.byPath.get('a.md')!.breadcrumbs.at(-1)!.title).toBe('Link');
  });

  it('collects alias redirects', () => {
    expect(tree.redirects).toEqual([
      { from: '/tp-iut-docker/debut/', to: '/tp-iut-docker/intro/', path: 'intro/_index.md' },
      { from: '/tp-iut-docker/install/', to: '/tp-iut-docker/intro/installation/', path: 'intro/installation.md' },
      { from: '/tp-iut-docker/intro/setup/', to: '/tp-iut-docker/intro/installation/', path: 'intro/installation.md' },
    ]);
  });

  it('gives a section without its own date the latest date under it, which orders it', () => {
    const t = buildContentTree([
      e('a/_index.md'),
      e('a/p.md', { date: new Date('2010-01-01') }),
      e('b/_index.md'),
      e('b/deep/_index.md'),
      e('b/deep/p.md', { date: new Date('2015-01-01') }),
      e('d/_index.md', { date: new Date('2001-01-01') }),
      e('d/p.md', { date: new Date('2019-01-01') }),
      e('g/_index.md'),
      e('g/p.md', { publishDate: new Date('2011-01-01') }),
      e('g/q.md', { date: new Date('2009-01-01'), lastmod: new Date('2014-01-01') }),
      e('e/_index.md'),
    ]);
    expect(t.home.children.map((c) => c.path)).toEqual(['b/_index.md', 'g/_index.md', 'a/_index.md', 'd/_index.md', 'e/_index.md']);
  });

  it('attaches pages of a folder without _index.md to the section above, and treats index.md as a leaf bundle', () => {
    const t = buildContentTree([
      e('dl/_index.md'),
      e('dl/nosec/deep.md'),
      e('dl/bundle/index.md', { title: 'Bundle' }),
      e('dl/bundle/extra.md'),
      e('top/index.md', { title: 'Top bundle' }),
    ]);
    const dl = t.byPath.get('dl/_index.md') as SectionNode;
    expect(dl.children.map((c) => c.url)).toEqual(['/dl/bundle/', '/dl/nosec/deep/']);
    expect(t.excluded).toEqual([{ path: 'dl/bundle/extra.md', reason: 'bundle-resource' }]);
    expect(t.byUrl.get('/top/')).toMatchObject({ kind: 'page', title: 'Top bundle' });
    expect(t.byUrl.has('/top/') && [...t.byUrl.values()].filter((n) => n.kind === 'section').map((n) => n.url)).toEqual(['/dl/']);
  });

  it('names both files when two pages get the same URL', () => {
    const dup = () => buildContentTree([e('a/x.md'), e('a/y.md', { slug: 'x' })]);
    expect(dup).toThrow(ContentError);
    expect(dup).toThrow('content/a/y.md: its URL /a/x/ is already the URL of content/a/x.md');
  });

  it('refuses an alias that is the URL of a page', () => {
    expect(() => buildContentTree([e('a.md'), e('b.md', { aliases: ['/a/'] })])).toThrow('content/b.md: its alias /a/ is the URL of content/a.md.');
  });

  it("keeps the caller's entries on the nodes", () => {
    const entries = [{ ...e('a.md'), id: 'a' }];
    expect(buildContentTree(entries).byPath.get('a.md')?.entry?.id).toBe('a');
  });

  it('works without a home page file', () => {
    const t = buildContentTree([e('a.md')], { homeTitle: 'Cours' });
    expect(t.home).toMatchObject({ kind: 'home', path: null, title: 'Cours', url: '/' });
  });
});
