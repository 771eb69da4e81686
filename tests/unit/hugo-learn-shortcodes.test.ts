import { fileURLToPath } from 'node:url';
import rehypeStringify from 'rehype-stringify';
import remarkParse from 'remark-parse';
import remarkRehype from 'remark-rehype';
import { unified } from 'unified';
import { describe, expect, it } from 'vitest';
import { ContentError } from '../../src/lib/hugo/errors.ts';
import { remarkHugoShortcodes } from '../../src/lib/hugo/remark-shortcodes.ts';
import { preprocessShortcodes, type ShortcodeContext } from '../../src/lib/hugo/shortcodes.ts';
import { siteIndex } from '../../src/lib/hugo/shortcodes/site-index.ts';

const COURSE = fileURLToPath(new URL('../fixtures/cours-hugo/', import.meta.url));
const index = () => siteIndex({ contentDir: `${COURSE}content`, basePath: '/linux-pratique/', buildDrafts: false });
const context = (over: Partial<ShortcodeContext> = {}): ShortcodeContext => ({
  file: 'content/02-processus/observer.md',
  contentPath: '02-processus/observer.md',
  basePath: '/linux-pratique/',
  siteParams: { promotion: '2026', author: 'Équipe' },
  pageParams: { Auteur: 'Camille' },
  siteDir: COURSE,
  contentDir: `${COURSE}content`,
  index,
  ...over,
});
const pre = (source: string, over?: Partial<ShortcodeContext>) => preprocessShortcodes(source, context(over));
const errorOf = (fn: () => unknown): ContentError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ContentError) return error;
    throw error;
  }
  throw new Error('expected a ContentError');
};
const render = (markdown: string) =>
  String(
    unified()
      .use(remarkParse)
      .use(remarkHugoShortcodes, { displayPath: () => 'content/x.md' })
      .use(remarkRehype, { allowDangerousHtml: true })
      .use(rehypeStringify, { allowDangerousHtml: true })
      .processSync(markdown),
  );

describe('value shortcodes, replaced in the source', () => {
  it('replaces siteparam and param (page first, case-insensitive)', () => {
    expect(pre('Promo {{< siteparam "promotion" >}} par {{< param "auteur" >}}.')).toBe('Promo 2026 par Camille.');
  });

  it('resolves ref and relref like Hugo: from the root, relative to the page, or by a unique file name', () => {
    expect(pre('[a]({{< ref "/01-fichiers/droits.md" >}})')).toBe('[a](/linux-pratique/01-fichiers/droits/)');
    expect(pre('[a]({{< relref "isoler.md#un-nouveau-namespace-pid" >}})')).toBe('[a](/linux-pratique/02-processus/isoler/#un-nouveau-namespace-pid)');
    expect(pre('[a]({{< ref "filtres" >}})')).toBe('[a](/linux-pratique/03-texte/filtres/)');
    expect(pre('{{< ref "/" >}}')).toBe('/linux-pratique/');
  });

  it('fails on a missing page or parameter with the file, the line and the fix', () => {
    expect(errorOf(() => pre('Un\n\nvoir {{< ref "nulle-part.md" >}}')).message).toMatchInlineSnapshot(
      `"content/02-processus/observer.md:3: {{< ref "nulle-part.md" >}}: no page "nulle-part.md" in the site (REF_NOT_FOUND). Fix: name the page's file relative to content/, e.g. {{< ref "/chapitre/page.md" >}}, or relative to this page"`,
    );
    expect(errorOf(() => pre('{{< siteparam "absent" >}}')).message).toMatch(/:1: .*has no params\.absent\. Fix: add absent = "…" under \[params\]/);
  });

  it('turns mermaid, math and highlight into fences and keeps the following line numbers', () => {
    const out = pre('{{< mermaid >}}\ngraph LR\n  A --> B\n{{< /mermaid >}}\nsuite');
    expect(out).toContain('```mermaid\ngraph LR\n  A --> B\n```');
    expect(out.split('\n').indexOf('suite')).toBeGreaterThanOrEqual(4);
    expect(pre('{{< highlight bash "linenos=table" >}}\nls\n{{< /highlight >}}')).toContain('```bash {linenos=table}\nls\n```');
  });

  it('leaves code alone', () => {
    const source = '```\n{{< siteparam "nope" >}}\n```\n\n`{{< ref "x" >}}`';
    expect(pre(source)).toBe(source);
  });

  it('renders badges, buttons, icons and a privacy-friendly video', () => {
    expect(pre('{{% badge style="info" title="v" %}}1.2{{% /badge %}}')).toBe(
      '<span class="badge badge--info"><span class="badge__title">v</span><span class="badge__text">1.2</span></span>',
    );
    expect(pre('{{% button href="/annexes/" %}}Annexes{{% /button %}}')).toBe('<a class="button button--default" href="/linux-pratique/annexes/">Annexes</a>');
    expect(pre('{{< icon "terminal" >}}')).toContain('data-icon="terminal"');
    const video = pre('{{< youtube aBcDeFgHiJk >}}');
    expect(video).toContain('data-video-id="aBcDeFgHiJk"');
    expect(video).not.toMatch(/iframe|https?:/);
  });

  it("includes a file from the site root and lists the page's children", () => {
    expect(pre('{{% include "/partage/avant-de-commencer.md" %}}')).toContain('« Exécuter » la tape pour vous');
    const children = pre('{{% children %}}', { contentPath: '02-processus/_index.md' });
    expect(children).toBe(
      '<ul class="children children-li"><li><a href="/linux-pratique/02-processus/observer/">Observer les processus</a></li><li><a href="/linux-pratique/02-processus/isoler/">Isoler des processus</a></li></ul>',
    );
  });
});

describe('Markdown-wrapping shortcodes and callouts, in the tree', () => {
  it('renders expand as <details>, and tabs as radio tabs that work without script', () => {
    expect(render('{{% expand "Voir" %}}\nCaché\n{{% /expand %}}')).toBe(
      '<details class="expand"><summary class="expand__title">Voir</summary><div class="expand__body"><p>Caché</p></div></details>',
    );
    const tabs = render('{{< tabs >}}\n{{% tab title="A" %}}\nun\n{{% /tab %}}\n{{% tab name="B" %}}\ndeux\n{{% /tab %}}\n{{< /tabs >}}');
    expect(tabs).toContain('<input type="radio" name="tabs-1" id="tabs-1-1" class="tabs__radio" checked><label for="tabs-1-1" class="tabs__label">A</label>');
    expect(tabs).toContain('<label for="tabs-1-2" class="tabs__label">B</label><div class="tabs__panel" role="tabpanel" aria-label="B"><p>deux</p></div>');
  });

  it('refuses content between tabs, and a closing tag of another shortcode', () => {
    expect(() => render('{{< tabs >}}\nperdu\n{{< /tabs >}}')).toThrowError(/outside any tab/);
    expect(() => render('{{% expand "x" %}}\na\n{{% /notice %}}')).toThrowError(/closes a notice, but the expand opened at line 1 is still open/);
  });

  it('honours Relearn notice parameters: colour, expanded, style aliases', () => {
    const html = render('{{% notice style="red" title="Stop" color="#c9302c" expanded="false" %}}\nNon.\n{{% /notice %}}');
    expect(html).toContain('class="notice notice--caution"');
    expect(html).toContain('style="--notice-accent:#c9302c"');
    expect(html).toContain('<details class="notice__fold"><summary class="notice__header">');
    expect(() => render('{{% notice style="tip" color="url(x)" %}}\na\n{{% /notice %}}')).toThrowError(/not a CSS colour/);
  });

  it('renders GitHub callouts as notices, with an optional title and fold', () => {
    expect(render('> [!WARNING] Prudence\n> Texte.')).toContain(
      '<aside class="notice notice--warning" role="note" aria-label="Avertissement"><div class="notice__header">',
    );
    expect(render('> [!WARNING] Prudence\n> Texte.')).toContain(
      '<span class="notice__title">Prudence</span></div><div class="notice__body"><p>Texte.</p></div></aside>',
    );
    expect(render('> [!NOTE]-\n> Plié.')).toContain('<details class="notice__fold"><summary class="notice__header">');
    expect(render('> [!RANDOM]\n> x')).toContain('<blockquote>');
  });
});
