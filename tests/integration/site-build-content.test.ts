// Content that must build: a Hugo page copied verbatim (shortcodes and all),
// drafts hidden unless asked for, the base path and Hugo's aliases honoured.
// Each build reads a small content tree through COURSE_* variables.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSite, makeTempDir, PROJECT_ROOT, removeTempDir, writeContentTree } from '../support/site.ts';

// The original Hugo page, byte for byte (kept by the Hugo compatibility tests).
const SEED = readFileSync(join(PROJECT_ROOT, 'tests/fixtures/hugo-site/content/docker_linux/namespaces.md'), 'utf8');

const TREE = {
  '_index.md': '---\ntitle: "TP Docker"\n---\nBienvenue.\n',
  'docker_linux/_index.md': '+++\ntitle = "Docker et Linux"\nweight = 4\nchapter = true\npre = "<b>4. </b>"\n+++\n\n### Chapitre 4\n\n# Docker et Linux\n',
  'docker_linux/namespaces.md': SEED,
  'docker_linux/brouillon.md': '---\ntitle: "Brouillon"\ndraft: true\nweight: 2\n---\nPas encore prêt.\n',
  'docker_linux/reseau.md': '---\ntitle: "Le réseau"\nweight: 3\naliases: ["/ancien/reseau/"]\n---\nLes netns.\n',
  // The same notice written both ways, to compare their markup.
  'annexes/_index.md': '---\ntitle: "Annexes"\nweight: 9\n---\n',
  'annexes/shortcode.md': '---\ntitle: "Shortcode"\n---\n\n{{% notice warning "À lire" %}}\nLe ***netns*** et `unshare`.\n{{% /notice %}}\n',
  'annexes/composant.mdx': '---\ntitle: "Composant"\n---\n\n<Notice type="warning" title="À lire">\nLe ***netns*** et `unshare`.\n</Notice>\n',
};

let workDir: string;
let contentDir: string;

beforeAll(async () => {
  workDir = await makeTempDir('course-site-content');
  contentDir = join(workDir, 'content');
  writeContentTree(contentDir, TREE);
});
afterAll(() => {
  removeTempDir(workDir);
});

function html(outDir: string, path: string): string {
  return readFileSync(join(outDir, path, 'index.html'), 'utf8');
}

describe('the Hugo seed page, verbatim as .md', () => {
  let outDir: string;
  beforeAll(async () => {
    outDir = join(workDir, 'dist-default');
    const result = await buildSite({ contentDir, outDir });
    if (!result.ok) throw new Error(`build failed:\n${result.output}`);
  });

  it('is published at its Hugo URL with its title', () => {
    expect(html(outDir, 'docker_linux/namespaces')).toContain('<h1>Les Namespaces</h1>');
  });

  it('renders its five notices, each of its own kind, in order, with the shared markup', () => {
    const page = html(outDir, 'docker_linux/namespaces');
    const notices = [...page.matchAll(/<aside class="notice notice--(\w+)" role="note" aria-label="([^"]+)">/g)].map((m) => [m[1], m[2]]);
    expect(notices).toEqual([
      ['warning', 'Avertissement'],
      ['tip', 'Astuce'],
      ['tip', 'Astuce'],
      ['info', 'Information'],
      ['tip', 'Astuce'],
    ]);
    expect(page).not.toContain('{{%');
    // Markdown inside a notice is still Markdown.
    expect(page).toMatch(/<div class="notice__body"><p>Le <em><strong>netns<\/strong><\/em> sera vu dans la partie suivante\.<\/p>/);
  });

  it('gives <Notice> in MDX exactly the markup of the shortcode in Markdown', () => {
    const noticeIn = (path: string) => /<aside class="notice[\s\S]*?<\/aside>/.exec(html(outDir, path))?.[0];
    const fromShortcode = noticeIn('annexes/shortcode');
    expect(fromShortcode).toContain('<span class="notice__title">À lire</span>');
    expect(noticeIn('annexes/composant')).toBe(fromShortcode);
  });

  it('highlights its bash fences with Shiki', () => {
    const page = html(outDir, 'docker_linux/namespaces');
    expect(page).toMatch(/<pre class="astro-code[^"]*"[^>]*data-language="bash"/);
    expect(page).toMatch(/<span style="--shiki-light:#[0-9A-F]{6};--shiki-dark:#[0-9A-F]{6}">[^<]*unshare<\/span>/);
  });

  it('leaves drafts out of the site, the menu and prev/next', () => {
    expect(existsSync(join(outDir, 'docker_linux/brouillon'))).toBe(false);
    expect(html(outDir, 'docker_linux/namespaces')).not.toContain('Brouillon');
    expect(html(outDir, 'docker_linux/namespaces')).toMatch(/<a class="next" href="\/docker_linux\/reseau\/" rel="next">/);
  });

  it('numbers the chapter in the menu with its pre', () => {
    expect(html(outDir, 'docker_linux/namespaces')).toMatch(/<a href="\/docker_linux\/" class="chapter-link"[^>]*><b>4\. <\/b>Docker et Linux<\/a>/);
  });

  it('writes a redirect page at each alias', () => {
    const redirect = html(outDir, 'ancien/reseau');
    expect(redirect).toContain('<meta http-equiv="refresh" content="0; url=/docker_linux/reseau/">');
    expect(redirect).toContain('<link rel="canonical" href="/docker_linux/reseau/">');
  });

  it('indexes the pages for search', () => {
    expect(existsSync(join(outDir, 'pagefind', 'pagefind.js'))).toBe(true);
  });
});

describe('with the build-drafts option', () => {
  let outDir: string;
  beforeAll(async () => {
    outDir = join(workDir, 'dist-drafts');
    const result = await buildSite({ contentDir, outDir, buildDrafts: true });
    if (!result.ok) throw new Error(`build failed:\n${result.output}`);
  });

  it('publishes drafts and puts them in the menu, in weight order', () => {
    expect(html(outDir, 'docker_linux/brouillon')).toContain('<h1>Brouillon</h1>');
    const page = html(outDir, 'docker_linux/namespaces');
    const menu = page.slice(page.indexOf('<nav class="sidebar"'), page.indexOf('</nav>', page.indexOf('<nav class="sidebar"')));
    expect([...menu.matchAll(/<a href="(\/docker_linux\/[^"]*)"/g)].map((m) => m[1])).toEqual([
      '/docker_linux/',
      '/docker_linux/namespaces/',
      '/docker_linux/brouillon/',
      '/docker_linux/reseau/',
    ]);
  });
});

describe('under a base path', () => {
  let outDir: string;
  beforeAll(async () => {
    outDir = join(workDir, 'dist-base');
    const result = await buildSite({ contentDir, outDir, basePath: '/tp-iut-docker/' });
    if (!result.ok) throw new Error(`build failed:\n${result.output}`);
  });

  it('prefixes every internal link, stylesheet and redirect with it', () => {
    const page = html(outDir, 'docker_linux/namespaces');
    const hrefs = [...page.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]!).filter((href) => href.startsWith('/'));
    expect(hrefs.length).toBeGreaterThan(5);
    expect(hrefs.filter((href) => !href.startsWith('/tp-iut-docker/'))).toEqual([]);
    expect(page).toMatch(/<link rel="stylesheet" href="\/tp-iut-docker\/_astro\/[^"]+\.css">/);
    expect(page).toContain('data-base="/tp-iut-docker/"');
    expect(html(outDir, 'ancien/reseau')).toContain('url=/tp-iut-docker/docker_linux/reseau/');
  });

  it("carries no Vite preload helper in the page's JS at load: its own asks for the terminal code's chunks under the base path", () => {
    const page = html(outDir, 'docker_linux/namespaces');
    const read = (src: string) => readFileSync(join(outDir, src.replace(/^\/tp-iut-docker\//, '')), 'utf8');
    // The page's module scripts and what they import statically: the JS a reader's browser runs at load.
    const atLoad = new Map<string, string>();
    const pending = [...page.matchAll(/<script type="module" src="([^"]+)"/g)].map((m) => m[1]!);
    while (pending.length > 0) {
      const src = pending.pop()!;
      if (atLoad.has(src)) continue;
      const code = read(src);
      atLoad.set(src, code);
      for (const m of code.matchAll(/\bimport\s*(?:[\w*{}\s,$]*from\s*)?["']\.\/([^"']+\.js)["']/g)) pending.push(src.replace(/[^/]+$/, m[1]!));
    }
    const js = [...atLoad.values()].join('\n');
    expect(atLoad.size).toBeGreaterThan(1);
    // Vite's helper (src/lib/authoring/preload-helper.ts says why it is replaced) names the event it sends on a failure.
    expect(js).not.toContain('vite:preloadError');
    expect(js).toContain('modulepreload');
    expect(js).toMatch(/__vite__mapDeps=[^\n]*"_astro\/terminal-app\.[\w-]+\.js"/);
    expect(js).toContain('`/tp-iut-docker/`');
    // Nor anywhere else: every dynamic import of the site goes through the light one.
    for (const file of readdirSync(join(outDir, '_astro')).filter((name) => name.endsWith('.js')))
      expect(readFileSync(join(outDir, '_astro', file), 'utf8'), file).not.toContain('vite:preloadError');
  });
});
