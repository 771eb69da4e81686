/**
 * The fixture course tests/fixtures/cours-hugo/ (a Hugo Learn course: config.toml,
 * static/, attachments, every shortcode we support, shell blocks in every prompt
 * style), built twice: by the real `hugo` (with tests/fixtures/hugo-learn-stub/
 * standing in for the Learn theme) and by the course site with COURSE_SITE_DIR.
 * Both must publish the same pages at the same URLs under the base path of its
 * baseURL, in the same order, with the same menu shortcuts, site title, static
 * files and ref/relref targets; and the site leaves no raw shortcode behind.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSite, makeTempDir, PROJECT_ROOT, removeTempDir } from '../support/site.ts';

const COURSE = path.join(PROJECT_ROOT, 'tests/fixtures/cours-hugo');
const STUB_THEME = path.join(PROJECT_ROOT, 'tests/fixtures/hugo-learn-stub');
const BASE = '/linux-pratique/';

let work: string | undefined;
let hugoDir: string;
let oursDir: string;
let buildOutput = '';

const read = (file: string) => readFileSync(file, 'utf8');
/** The published file of a URL under the base path. */
const fileOf = (root: string, url: string) => path.join(root, url.slice(BASE.length), 'index.html');
const article = (html: string) => html.slice(html.indexOf('<article'), html.indexOf('</article>'));
const hrefs = (html: string) => [...html.matchAll(/href="([^"]+)"/g)].map((m) => decodeURI(m[1]!));

function filesUnder(root: string, dir: string): string[] {
  const abs = path.join(root, dir);
  if (!existsSync(abs)) return [];
  return (readdirSync(abs, { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => !f.endsWith('/')).sort();
}

beforeAll(async () => {
  work = await makeTempDir('hugo-course');
  const src = path.join(work, 'src');
  cpSync(COURSE, src, { recursive: true });
  cpSync(STUB_THEME, path.join(src, 'themes', 'hugo-theme-learn'), { recursive: true });
  hugoDir = path.join(work, 'hugo');
  const run = spawnSync('hugo', ['--source', src, '--destination', hugoDir, '--cacheDir', path.join(work, 'cache'), '--quiet'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (run.status !== 0) throw new Error(`hugo failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
  oursDir = path.join(work, 'ours');
  const built = await buildSite({ outDir: oursDir, env: { COURSE_SITE_DIR: COURSE } });
  buildOutput = built.output;
  if (!built.ok) throw new Error(`the course site does not build the fixture course:\n${built.output}`);
});

afterAll(() => removeTempDir(work));

describe('a Hugo Learn course built as it is (tests/fixtures/cours-hugo)', () => {
  it('publishes the pages Hugo publishes, at the same URLs under the baseURL path', () => {
    const hugoPages = read(path.join(hugoDir, 'index.html'))
      .split('\n')
      .flatMap((l) => {
        const m = /^page (home|section|page) (\S+)/.exec(l); // not Hugo's taxonomy pages (categories, tags), which a course does not show
        return m ? [decodeURI(m[2]!)] : [];
      })
      .sort();
    expect(hugoPages.length).toBe(9);
    for (const url of hugoPages) {
      expect(url.startsWith(BASE), url).toBe(true);
      expect(existsSync(fileOf(oursDir, url)), `our build has ${url}`).toBe(true);
    }
  });

  it('orders the menu as Hugo orders each section, depth first', () => {
    const childrenOf = (url: string): string[] =>
      read(fileOf(hugoDir, url))
        .split('\n')
        .flatMap((l) => (l.startsWith('child ') ? [decodeURI(l.slice(6).trim())] : []));
    const depthFirst = (url: string): string[] => childrenOf(url).flatMap((c) => [c, ...(c.endsWith('/') ? depthFirst(c) : [])]);
    const hugoOrder = depthFirst(BASE);
    const page = read(fileOf(oursDir, `${BASE}03-texte/filtres/`));
    const sidebar = page.slice(page.indexOf('<div class="chapters">'), page.indexOf('</div>', page.indexOf('<div class="chapters">')));
    expect(hrefs(sidebar)).toEqual(hugoOrder);
  });

  it('shows the site title and the [[menu.shortcuts]] of config.toml, in weight order', () => {
    const home = read(path.join(hugoDir, 'index.html'));
    const hugoShortcuts = [...home.matchAll(/^shortcut (.*) (\S+)$/gm)].map((m) => m[2]!);
    const ours = read(path.join(oursDir, 'index.html'));
    expect(ours).toContain('<a class="site-title" href="/linux-pratique/">Linux pratique</a>');
    expect(/^title (.*)$/m.exec(home)?.[1]).toBe('Linux pratique');
    const shortcuts = ours.slice(ours.indexOf('<section class="shortcuts"'), ours.indexOf('</section>', ours.indexOf('<section class="shortcuts"')));
    // Hugo gives the shortcuts' URLs under the base path already, percent-encoded.
    expect(hrefs(shortcuts)).toEqual(hugoShortcuts.map((u) => decodeURI(u)));
    expect(shortcuts).toContain('Dépôt du cours');
  });

  it('copies static/ to the site root, byte for byte, and publishes attachments', () => {
    const hugoImages = filesUnder(hugoDir, 'images');
    expect(hugoImages).toEqual(['arborescence.svg', 'droits.svg']);
    expect(filesUnder(oursDir, 'images')).toEqual(hugoImages);
    for (const f of hugoImages) expect(read(path.join(oursDir, 'images', f))).toBe(read(path.join(hugoDir, 'images', f)));
    expect(existsSync(path.join(oursDir, '01-fichiers/droits.files/aide-memoire-droits.txt'))).toBe(true);
  });

  it('resolves ref and relref to the pages Hugo resolves them to', () => {
    for (const url of ['01-fichiers/arborescence/', '02-processus/observer/', '03-texte/filtres/']) {
      const internal = (html: string) =>
        hrefs(article(html))
          .map((h) => (h.startsWith('http') ? new URL(h).pathname : h))
          .filter((h) => h.startsWith(BASE) && !h.includes('/images/'));
      const theirs = internal(`<article>${read(fileOf(hugoDir, BASE + url))}</article>`);
      expect(theirs.length, `${url} has ref/relref links`).toBeGreaterThan(0);
      expect(internal(read(fileOf(oursDir, BASE + url)))).toEqual(expect.arrayContaining(theirs));
    }
  });

  it('leaves no raw shortcode, puts every image under the base path, and renders the Learn shortcodes', () => {
    for (const url of [
      '',
      '01-fichiers/',
      '01-fichiers/arborescence/',
      '01-fichiers/droits/',
      '02-processus/',
      '02-processus/observer/',
      '02-processus/isoler/',
      '03-texte/',
      '03-texte/filtres/',
    ]) {
      const html = article(read(fileOf(oursDir, BASE + url)));
      expect(html, url).not.toMatch(/\{\{[<%]/);
      for (const m of html.matchAll(/<img [^>]*src="([^"]+)"/g)) {
        expect(m[1]!.startsWith(`${BASE}images/`), m[1]).toBe(true);
        expect(existsSync(path.join(oursDir, m[1]!.slice(BASE.length)))).toBe(true);
      }
    }
    const droits = read(fileOf(oursDir, `${BASE}01-fichiers/droits/`));
    expect(droits).toContain('class="tabs"');
    expect(droits).toContain('class="badge badge--info"');
    expect(droits).toContain('href="/linux-pratique/01-fichiers/droits.files/aide-memoire-droits.txt"');
    expect(droits).toMatch(/<a class="button button--default" href="https:\/\/forge\.example\/linux-pratique\/issues" target="_blank"/);
    const observer = read(fileOf(oursDir, `${BASE}02-processus/observer/`));
    expect(observer).toContain('<pre class="mermaid" data-diagram data-mermaid-src="/linux-pratique/_course/mermaid.min.js">');
    expect(existsSync(path.join(oursDir, '_course/mermaid.min.js'))).toBe(true);
    expect(observer).toContain('<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">');
    const isoler = read(fileOf(oursDir, `${BASE}02-processus/isoler/`));
    expect(isoler).toContain('Cette page a été préparée par Camille pour la machine\ntp-docker.');
    expect(isoler).toContain('class="video-embed" data-video-id="aBcDeFgHiJk"');
    expect(isoler).not.toMatch(/<iframe/);
    expect(isoler).toContain('notice notice--warning');
  });

  it('makes every shell block with a prompt runnable, and says why the others are copy-only', () => {
    const figures = (url: string) => [...read(fileOf(oursDir, BASE + url)).matchAll(/<figure class="transcript"[^>]*>/g)].map((m) => m[0]);
    const isoler = figures('02-processus/isoler/');
    expect(isoler.length).toBe(4);
    expect(isoler.filter((f) => f.includes('data-copy-only')).length).toBe(2);
    expect(isoler.find((f) => f.includes('data-copy-only'))).toMatch(/reads like a comment/);
    expect(figures('03-texte/filtres/').every((f) => !f.includes('data-copy-only'))).toBe(true);
    expect(figures('02-processus/observer/')[0]).toContain('data-machine="node1"');
  });

  it('says which Hugo site it built, and that its render hook is not run, with the equivalent setting', () => {
    expect(buildOutput).toMatch(/Hugo site .*cours-hugo \(config\.toml\); title "Linux pratique", base path \/linux-pratique\//);
    expect(buildOutput).toContain(
      'layouts/_default/_markup/render-link.html: Hugo render hooks are Go templates and are not run here; the default rendering is used. Instead: external links in a new tab: set `externalLinkTarget = "_blank"` under [params]',
    );
    // The course sets it, so its external links open in a new tab here as its hook makes them do in Hugo.
    const link = /<a href="https:\/\/manuel\.example\/sort"[^>]*>/;
    expect(link.exec(read(fileOf(hugoDir, `${BASE}03-texte/filtres/`)))?.[0]).toContain('target="_blank"');
    expect(link.exec(read(fileOf(oursDir, `${BASE}03-texte/filtres/`)))?.[0]).toContain('target="_blank"');
  });
});
