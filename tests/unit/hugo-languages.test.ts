import { describe, expect, it } from 'vitest';
import { contentLanguage } from '../../src/lib/hugo/content-selection.ts';
import { buildContentTree } from '../../src/lib/hugo/content-tree.ts';

const fm = (title: string, weight = 0) => ({ title, weight });
const entries = [
  { path: '_index.en.md', frontMatter: fm('Home') },
  { path: '_index.fr.md', frontMatter: fm('Accueil') },
  { path: 'basics/_index.en.md', frontMatter: fm('Basics', 1) },
  { path: 'basics/_index.fr.md', frontMatter: fm('Bases', 1) },
  { path: 'basics/install.md', frontMatter: fm('Install', 1) },
  { path: 'credits.en.md', frontMatter: fm('Credits', 2) },
  { path: 'credits.fr.md', frontMatter: fm('Crédits', 2) },
  { path: 'notes.de.md', frontMatter: fm('Not a language here', 3) },
];

describe('a multilingual Hugo site, built in its default language', () => {
  it('reads the language off file names that name a configured language only', () => {
    const languages = { defaultLanguage: 'en', codes: ['en', 'fr'], inSubdir: false };
    expect(contentLanguage('credits.fr.md', languages)).toEqual({ language: 'fr', path: 'credits.md' });
    expect(contentLanguage('notes.de.md', languages)).toEqual({ language: undefined, path: 'notes.de.md' });
    expect(contentLanguage('credits.fr.md', undefined)).toEqual({ language: undefined, path: 'credits.fr.md' });
  });

  it('publishes the default language at the root and leaves the others out, saying so', () => {
    const tree = buildContentTree(entries, { basePath: '/docs/', languages: { defaultLanguage: 'en', codes: ['en', 'fr'], inSubdir: false } });
    expect(tree.home.title).toBe('Home');
    expect(tree.nodes.map((n) => n.url)).toEqual(['/docs/', '/docs/basics/', '/docs/basics/install/', '/docs/credits/', '/docs/notes.de/']);
    expect(tree.excluded.filter((e) => e.reason === 'other-language').map((e) => e.path)).toEqual(['_index.fr.md', 'basics/_index.fr.md', 'credits.fr.md']);
    expect(tree.redirects).toEqual([]);
  });

  it('puts the default language in its own folder with defaultContentLanguageInSubdir, the root redirecting there', () => {
    const tree = buildContentTree(entries, { basePath: '/docs/', languages: { defaultLanguage: 'fr', codes: ['en', 'fr'], inSubdir: true } });
    expect(tree.home).toMatchObject({ title: 'Accueil', url: '/docs/fr/' });
    expect(tree.byPath.get('credits.md')?.url).toBe('/docs/fr/credits/');
    expect(tree.redirects).toContainEqual({ from: '/docs/', to: '/docs/fr/', path: '_index.md' });
  });
});

describe("Learn's ordersectionsby", () => {
  it('sorts the menu by title at every level, numbers in order', async () => {
    const { menuByTitle } = await import('../../src/lib/hugo/content-menu.ts');
    const item = (title: string, children: ReturnType<typeof menuByTitle> = []) => ({
      title,
      url: `/${title}/`,
      pre: undefined,
      chapter: false,
      kind: 'section' as const,
      path: null,
      children,
    });
    const sorted = menuByTitle([item('Réseau', [item('b'), item('A')]), item('chapitre 10'), item('chapitre 2'), item('Émulation')]);
    expect(sorted.map((m) => m.title)).toEqual(['chapitre 2', 'chapitre 10', 'Émulation', 'Réseau']);
    expect(sorted[3]!.children.map((m) => m.title)).toEqual(['A', 'b']);
  });
});
