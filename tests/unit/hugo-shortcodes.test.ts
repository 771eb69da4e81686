import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import rehypeStringify from 'rehype-stringify';
import remarkParse from 'remark-parse';
import remarkRehype from 'remark-rehype';
import { markdownToHtml, mdxToJs, type MarkdownToHtmlResult } from 'satteri';
import { unified } from 'unified';
import { describe, expect, it } from 'vitest';
import { ContentError } from '../../src/lib/hugo/errors.ts';
import { parseFrontMatter } from '../../src/lib/hugo/front-matter.ts';
import { createSatteriHugoShortcodes, remarkHugoShortcodes } from '../../src/lib/hugo/remark-shortcodes.ts';
import { NOTICE_KINDS, NOTICE_KIND_NAMES } from '../../src/lib/notice-kinds.ts';

const FILE = 'content/docker_linux/test.md';
const SEED = fileURLToPath(new URL('../fixtures/hugo-site/content/docker_linux/namespaces.md', import.meta.url));
const SEED_SHA256 = '197cb48291abc2b401c540e25d0499d12da174d3c59c13bafffe4887ef4580e5';
const SHARED_SEED = fileURLToPath(new URL('../../../shared/seeds/000_ca594d67bfcfa8fa.txt', import.meta.url));

/** Markdown → HTML through unified: remark-parse → the plugin → remark-rehype → rehype-stringify. */
function render(md: string): string {
  const processor = unified()
    .use(remarkParse)
    .use(remarkHugoShortcodes, { displayPath: () => FILE })
    .use(remarkRehype)
    .use(rehypeStringify);
  return String(processor.processSync(md));
}

/** The same through Sätteri, Astro 7's default Markdown processor (smart punctuation on, as in Astro). */
function renderSatteri(md: string): string {
  // Synchronous: the plugin is.
  const result = markdownToHtml(md, {
    mdastPlugins: [createSatteriHugoShortcodes({ displayPath: () => FILE })],
    features: { smartPunctuation: true },
  }) as MarkdownToHtmlResult;
  return result.html;
}

/** HTML with icons shortened and line breaks removed, to compare structure. */
const shape = (html: string) => html.replace(/<svg[\s\S]*?<\/svg>/g, '<svg/>').replace(/\n/g, '');

/** The notice markup for a kind and title, with the icon shortened, around a body. */
const notice = (kind: keyof typeof NOTICE_KINDS, title: string, body: string) =>
  `<aside class="notice notice--${kind}" role="note" aria-label="${NOTICE_KINDS[kind].ariaLabel}">` +
  `<div class="notice__header"><svg/><span class="notice__title">${title}</span></div>` +
  `<div class="notice__body">${body}</div></aside>`;

function errorOf(fn: () => unknown): ContentError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ContentError) return e;
    throw e;
  }
  throw new Error('expected a ContentError, nothing was thrown');
}

/** Both pipelines fail the same way; returns the error. */
function failure(md: string): ContentError {
  const a = errorOf(() => render(md));
  const b = errorOf(() => renderSatteri(md));
  // The same, but for the quotes that Sätteri's smart punctuation curled in a quoted tag.
  expect(b.message.replace(/[“”]/g, '"')).toBe(a.message);
  return a;
}

describe('notice shortcodes', () => {
  it.each(NOTICE_KIND_NAMES)('renders the %s notice with its default title', (kind) => {
    const md = `{{% notice ${kind} %}}\nTexte\n{{% /notice %}}\n`;
    expect(shape(render(md))).toBe(notice(kind, NOTICE_KINDS[kind].title, '<p>Texte</p>'));
    expect(shape(renderSatteri(md))).toBe(notice(kind, NOTICE_KINDS[kind].title, '<p>Texte</p>'));
  });

  it('accepts the {{< >}} delimiter, with or without spaces, and mixed delimiters as Hugo does', () => {
    for (const md of [
      '{{< notice tip >}}\nTexte\n{{< /notice >}}\n',
      '{{<notice tip>}}\nTexte\n{{</notice>}}\n',
      '{{< notice tip >}}\nTexte\n{{% /notice %}}\n',
    ]) {
      expect(shape(render(md))).toBe(notice('tip', 'Astuce', '<p>Texte</p>'));
      expect(shape(renderSatteri(md))).toBe(notice('tip', 'Astuce', '<p>Texte</p>'));
    }
  });

  it("takes a title as second positional parameter, or Relearn's named style/title", () => {
    const cases: Array<[string, keyof typeof NOTICE_KINDS, string]> = [
      ['{{% notice warning "Attention au PID 1" %}}', 'warning', 'Attention au PID 1'],
      ['{{% notice info `brut "cité"` %}}', 'info', 'brut "cité"'],
      ['{{% notice style="caution" title="Danger" %}}', 'caution', 'Danger'],
      ['{{% notice style=important %}}', 'important', 'Important'],
      ['{{% notice title="Lisez" style="note" icon="skull" %}}', 'note', 'Lisez'],
      ['{{% notice Warning %}}', 'warning', 'Avertissement'],
    ];
    for (const [open, kind, title] of cases) {
      const md = `${open}\nTexte\n{{% /notice %}}\n`;
      expect(shape(render(md))).toBe(notice(kind, title, '<p>Texte</p>'));
    }
  });

  it("reads titles whose quotes Sätteri's smart punctuation curled", () => {
    const md = '{{% notice warning "L\'astuce du jour" %}}\nTexte\n{{% /notice %}}\n';
    expect(shape(renderSatteri(md))).toBe(notice('warning', 'L’astuce du jour', '<p>Texte</p>'));
    expect(shape(render(md))).toBe(notice('warning', "L'astuce du jour", '<p>Texte</p>'));
  });

  it('renders Markdown inside: emphasis, code, lists, code blocks', () => {
    const md = [
      '{{% notice tip %}}',
      'Le ***netns*** et `unshare` :',
      '- un',
      '- deux',
      '',
      '```bash',
      '{{% notice tip %}} reste du code',
      '```',
      '{{% /notice %}}',
      '',
    ].join('\n');
    expect(shape(render(md))).toBe(
      notice(
        'tip',
        'Astuce',
        '<p>Le <em><strong>netns</strong></em> et <code>unshare</code> :</p><ul><li>un</li><li>deux</li></ul>' +
          '<pre><code class="language-bash">{{% notice tip %}} reste du code</code></pre>',
      ),
    );
  });

  it('moves a closing tag written right after a list or a quote back out of it', () => {
    const list = '{{% notice note %}}\n- un\n- deux\n{{% /notice %}}\n\nAprès\n';
    expect(shape(render(list))).toBe(notice('note', 'Note', '<ul><li>un</li><li>deux</li></ul>') + '<p>Après</p>');
    expect(shape(renderSatteri(list))).toBe(notice('note', 'Note', '<ul><li>un</li><li>deux</li></ul>') + '<p>Après</p>');
    const quote = '{{% notice info %}}\n> cité\n{{% /notice %}}\n';
    expect(shape(render(quote))).toBe(notice('info', 'Information', '<blockquote><p>cité</p></blockquote>'));
  });

  it('nests notices', () => {
    const md = '{{% notice info %}}\nDehors\n{{% notice tip %}}\nDedans\n{{% /notice %}}\nEncore dehors\n{{% /notice %}}\n';
    const expected = notice('info', 'Information', `<p>Dehors</p>${notice('tip', 'Astuce', '<p>Dedans</p>')}<p>Encore dehors</p>`);
    expect(shape(render(md))).toBe(expected);
    expect(shape(renderSatteri(md))).toBe(expected);
  });

  it('splits a paragraph around tags written inside it', () => {
    const md = 'Avant {{% notice tip %}}dedans{{% /notice %}} après\n';
    expect(shape(render(md))).toBe(`<p>Avant</p>${notice('tip', 'Astuce', '<p>dedans</p>')}<p>après</p>`);
  });

  it('builds notices inside list items and quotes', () => {
    const md = '- item\n\n  {{% notice tip %}}\n  Dans la liste\n  {{% /notice %}}\n\n> {{% notice note %}}\n> Dans la citation\n> {{% /notice %}}\n';
    expect(shape(render(md))).toBe(
      `<ul><li><p>item</p>${notice('tip', 'Astuce', '<p>Dans la liste</p>')}</li></ul>` +
        `<blockquote>${notice('note', 'Note', '<p>Dans la citation</p>')}</blockquote>`,
    );
  });

  it('renders a self-closing notice empty', () => {
    expect(shape(render('{{< notice note />}}\n'))).toBe(notice('note', 'Note', ''));
  });

  it('shows escaped shortcodes as text and leaves code alone', () => {
    // (Two escaped tags in one paragraph would pair their * as emphasis: Markdown runs first here, unlike in Hugo.)
    const md = 'Écrire {{</* notice tip */>}}.\n\nPuis {{%/* /notice */%}}.\n\n```\n{{</* notice tip */>}}\n{{< notice danger >}}\n```\n\n`{{% notice x %}}`\n';
    const html = render(md);
    expect(html).toContain('<p>Écrire {{&#x3C; notice tip >}}.</p>');
    expect(html).toContain('<p>Puis {{% /notice %}}.</p>');
    expect(html).toContain('<pre><code>{{&#x3C; notice tip >}}\n{{&#x3C; notice danger >}}\n</code></pre>');
    expect(html).toContain('<code>{{% notice x %}}</code>');
    expect(renderSatteri(md)).toContain('Écrire {{&lt; notice tip &gt;}}.');
  });

  it('leaves Markdown without shortcodes as it was', () => {
    const md = '# Titre\n\nTexte {{ pas un shortcode }}.\n';
    const plain = String(unified().use(remarkParse).use(remarkRehype).use(rehypeStringify).processSync(md));
    expect(render(md)).toBe(plain);
  });
});

describe('shortcode errors: file, line and name, never a silent drop', () => {
  it('rejects an unknown shortcode', () => {
    const e = failure('Texte\n\n{{% spoiler "Voir" %}}\nCaché\n{{% /spoiler %}}\n');
    expect(e).toMatchObject({ file: FILE, line: 3 });
    expect(e.message).toMatch(
      /^content\/docker_linux\/test\.md:3: unknown shortcode "spoiler" \(\{\{% spoiler "Voir" %\}\}\); supported: "notice", "expand", "tabs", "tab", "ref", .*\. Fix: rewrite it in Markdown, or escape it as \{\{%\/\* spoiler \*\/%\}\} to show it as text$/,
    );
  });

  it('rejects an unknown notice kind, listing the allowed ones', () => {
    const e = failure('Un\n\nDeux\n{{% notice danger %}}\nx\n{{% /notice %}}\n');
    expect(e.line).toBe(4);
    expect(e.message).toBe(
      `${FILE}:4: unknown notice kind "danger" in {{% notice danger %}}; allowed kinds: note, info, tip, warning, caution, important. Fix: write e.g. {{% notice warning %}}`,
    );
  });

  it('rejects a notice never closed, on the line that opens it', () => {
    const e = failure('# T\n\n{{% notice tip %}}\nTexte\n\nSuite\n');
    expect(e.line).toBe(3);
    expect(e.message).toBe(`${FILE}:3: the notice "tip" opened here is never closed. Fix: add {{% /notice %}} on its own line after the notice's content`);
  });

  it('rejects a closing tag without opening', () => {
    const e = failure('Texte\n\n\n{{< /notice >}}\n');
    expect(e.line).toBe(4);
    expect(e.message).toMatch(/^content\/docker_linux\/test\.md:4: the closing tag \{\{< \/notice >\}\} has no matching opening/);
  });

  it('rejects a tag left open', () => {
    const e = failure('Texte\n{{% notice tip\nsuite\n');
    expect(e.line).toBe(2);
    expect(e.message).toContain('the shortcode tag "notice" opened with {{% is never closed with %}}');
  });

  it('rejects mixed, unknown and missing parameters', () => {
    expect(failure('{{% notice tip title="x" %}}\ny\n{{% /notice %}}\n').message).toContain('mixes positional and named parameters');
    expect(failure('{{% notice style="tip" colour="red" %}}\ny\n{{% /notice %}}\n').message).toContain(
      'unknown notice parameter "colour" in {{% notice style="tip" colour="red" %}}; allowed: style, title, icon, color, expanded',
    );
    expect(failure('{{% notice %}}\ny\n{{% /notice %}}\n').message).toContain('has no kind');
    expect(failure('{{% notice tip "a %}}\ny\n{{% /notice %}}\n').message).toContain('a parameter opened with " is never closed');
  });

  it('rejects a notice where it cannot go', () => {
    const heading = failure('Intro\n\n## Titre {{% notice tip %}}\n');
    expect(heading.line).toBe(3);
    expect(heading.message).toContain('cannot be used inside a heading');
    // Tables are GFM: Sätteri (Astro) parses them, plain remark-parse does not.
    expect(errorOf(() => renderSatteri('| a |\n|---|\n| {{< notice tip >}} |\n')).message).toContain('inside a table');
    expect(failure('*{{% notice tip %}}*\n').message).toContain('inside emphasised text');
    expect(failure('{{% notice tip "*x*" %}}\ny\n{{% /notice %}}\n').message).toContain('may not contain Markdown formatting');
  });

  it('rejects a notice opened in a list item and closed outside it', () => {
    const e = failure('- item\n\n  {{% notice tip %}}\n  dedans\n\nDehors\n\n{{% /notice %}}\n');
    expect(e.line).toBe(3);
    expect(e.message).toContain('is never closed inside this list item');
  });

  it('rejects a closing tag in the middle of a list', () => {
    const e = failure('{{% notice tip %}}\n- un\n{{% /notice %}}\n- deux\n');
    expect(e.line).toBe(3);
  });

  it('names the file relative to the current directory by default', () => {
    const processor = unified().use(remarkParse).use(remarkHugoShortcodes).use(remarkRehype).use(rehypeStringify);
    const e = errorOf(() => processor.processSync({ value: '{{% nope %}}\n', path: `${process.cwd()}/content/x.md` }));
    expect(e.message).toMatch(/^content\/x\.md:1: unknown shortcode "nope"/);
    const s = errorOf(() =>
      markdownToHtml('\n{{% nope %}}\n', {
        mdastPlugins: [createSatteriHugoShortcodes()],
        fileURL: new URL(`file://${process.cwd()}/content/y.md`),
      }),
    );
    expect(s.message).toMatch(/^content\/y\.md:2: unknown shortcode "nope"/);
  });
});

describe('the seed lesson (namespaces), verbatim', () => {
  const source = readFileSync(SEED, 'utf8');
  // Astro hands the Markdown processor the body with the front matter's lines blanked out, keeping line numbers.
  const { body, bodyStartLine } = parseFrontMatter(source, 'content/docker_linux/namespaces.md');
  const md = '\n'.repeat(bodyStartLine - 1) + body;

  // The fixture is a byte-for-byte copy of shared/seeds/000_ca594d67bfcfa8fa.txt,
  // whose SHA-256 is recorded here so the check runs on every clone, with or
  // without shared/ beside it.
  it('is the verbatim copy of the seed lesson', () => {
    expect(createHash('sha256').update(source).digest('hex')).toBe(SEED_SHA256);
    if (existsSync(SHARED_SEED)) expect(source).toBe(readFileSync(SHARED_SEED, 'utf8'));
  });

  for (const [name, run] of [
    ['unified', render],
    ['Sätteri', renderSatteri],
  ] as const) {
    it(`renders its five notices in order (${name})`, () => {
      const html = shape(run(md));
      const kinds = [...html.matchAll(/<aside class="notice notice--(\w+)"/g)].map((m) => m[1]);
      expect(kinds).toEqual(['warning', 'tip', 'tip', 'info', 'tip']);
      expect(html).not.toMatch(/\{\{[<%]/);
      expect(html).toMatch(/<div class="notice__body"><p>Vérifier dans votre VM .*\(<code>pidof dockerd<\/code>\)<\/p><\/div><\/aside>/);
      expect(html).toContain('<div class="notice__body"><p>Que se passe t-il ?</p></div>');
      // The last notice spans several lines with hard breaks and inline code.
      const last = html.slice(html.lastIndexOf('<aside'));
      expect(last).toContain('Il n’est pas obligatoire'.replace('’', name === 'unified' ? "'" : '’'));
      expect(last).toContain('<code>unshare()</code>');
      expect(last).toContain('<code>/bin/bash</code> dans le nouveau processus.</p></div></aside>');
      // The code blocks next to the notices are intact.
      expect(html).toContain('$ sudo unshare --uts /bin/bash');
    });
  }

  it('is left alone by the Sätteri plugin when compiled as MDX (MDX pages use <Notice>)', () => {
    const plugin = createSatteriHugoShortcodes();
    expect(() => mdxToJs('# Titre\n\nTexte\n', { mdastPlugins: [plugin] })).not.toThrow();
  });
});
