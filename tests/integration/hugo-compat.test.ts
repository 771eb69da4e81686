/**
 * Compatibility with the real Hugo: the fixture site tests/fixtures/hugo-site/
 * is built by the `hugo` binary (Debian's, installed by scripts/install.sh), and
 * what it publishes (the pages and their URLs, each section's pages in order,
 * the alias redirects, the notices of the seed lesson) must be what
 * src/lib/hugo/ computes from the same files, with and without drafts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import rehypeStringify from 'rehype-stringify';
import remarkParse from 'remark-parse';
import remarkRehype from 'remark-rehype';
import { unified } from 'unified';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContentTree, type ContentEntry, type ContentTree, type SectionNode } from '../../src/lib/hugo/content-tree.ts';
import { parseHugoPage } from '../../src/lib/hugo/front-matter.ts';
import { remarkHugoShortcodes } from '../../src/lib/hugo/remark-shortcodes.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/hugo-site/', import.meta.url));
const BASE_PATH = '/tp-iut-docker/';

/** The fixture's content files as entries for buildContentTree. */
function readEntries(): ContentEntry[] {
  const root = path.join(FIXTURE, 'content');
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md'));
  return files.sort().map((rel) => {
    const p = rel.split(path.sep).join('/');
    return { path: p, frontMatter: parseHugoPage(readFileSync(path.join(root, rel), 'utf8'), `content/${p}`).frontMatter };
  });
}

interface HugoSite {
  dir: string;
  /** Every page Hugo published: URL (decoded) → kind and content file. */
  pages: Map<string, { kind: string; path: string }>;
  /** The published file of a URL of the site. */
  file(url: string): string;
  /** A section's children, in Hugo's order, as URLs. */
  children(url: string): string[];
}

let work: string;

/** Runs hugo on a copy of the fixture (Hugo writes a lock file and caches next to its source). */
function buildWithHugo(buildDrafts: boolean): HugoSite {
  const src = path.join(work, buildDrafts ? 'src-drafts' : 'src');
  const dir = path.join(work, buildDrafts ? 'public-drafts' : 'public');
  cpSync(FIXTURE, src, { recursive: true });
  const args = ['--source', src, '--destination', dir, '--cacheDir', path.join(work, 'cache'), '--quiet'];
  if (buildDrafts) args.push('--buildDrafts');
  const run = spawnSync('hugo', args, { encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`hugo ${args.join(' ')} failed (${run.status}):\n${run.stdout}\n${run.stderr}`);

  const file = (url: string) => {
    expect(url.startsWith(BASE_PATH), `${url} is under ${BASE_PATH}`).toBe(true);
    const rel = url.slice(BASE_PATH.length);
    return path.join(dir, rel, rel === '' || rel.endsWith('/') ? 'index.html' : '');
  };
  const pages = new Map<string, { kind: string; path: string }>();
  for (const line of readFileSync(path.join(dir, 'index.html'), 'utf8').split('\n')) {
    const m = /^page (\S+) (\S+) ?(.*)$/.exec(line);
    if (m) pages.set(decodeURI(m[2]!), { kind: m[1]!, path: m[3]! });
  }
  const children = (url: string) =>
    readFileSync(file(url), 'utf8')
      .split('\n')
      .flatMap((l) => (l.startsWith('child ') ? [decodeURI(l.slice('child '.length).trim())] : []));
  return { dir, pages, file, children };
}

const hugoVersion = (() => {
  try {
    return execFileSync('hugo', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
})();

describe('compatibility with the real hugo', () => {
  const entries = readEntries();

  beforeAll(() => {
    if (!hugoVersion) throw new Error('hugo is not installed: run scripts/install.sh (Debian package "hugo")');
    console.log(`comparing with ${hugoVersion}`);
    work = mkdtempSync(path.join(tmpdir(), 'hugo-compat-'));
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  for (const buildDrafts of [false, true]) {
    describe(buildDrafts ? 'with --buildDrafts' : 'without drafts', () => {
      let hugo: HugoSite;
      let tree: ContentTree;

      beforeAll(() => {
        hugo = buildWithHugo(buildDrafts);
        tree = buildContentTree(entries, { basePath: BASE_PATH, buildDrafts });
      });

      it('publishes the same pages at the same URLs', () => {
        const ours = new Map(tree.nodes.map((n) => [n.url, { kind: n.kind, path: n.path ?? '' }]));
        expect(new Map([...ours].sort())).toEqual(new Map([...hugo.pages].sort()));
        // The fixture exercises what it should.
        expect(ours.get(`${BASE_PATH}docker_linux/namespaces/`)?.path).toBe('docker_linux/namespaces.md');
        expect(ours.get(`${BASE_PATH}docker_linux/capabilities_intro/`)?.path).toBe('docker_linux/Capabilities_Intro.md');
        expect(ours.get(`${BASE_PATH}docker_linux/mon-slug/`)?.path).toBe('docker_linux/renamed.md');
        expect(ours.get(`${BASE_PATH}ailleurs/Deplace/`)?.path).toBe('docker_linux/moved.md');
        expect(ours.get(`${BASE_PATH}annexes/`)).toEqual({ kind: 'section', path: '' });
        expect(ours.has(`${BASE_PATH}docker_linux/brouillon/`)).toBe(buildDrafts);
        expect(ours.has(`${BASE_PATH}brouillons/idee/`)).toBe(buildDrafts);
      });

      it("orders every section's pages as Hugo does", () => {
        const sections = tree.nodes.filter((n): n is SectionNode => n.kind !== 'page');
        expect(sections.length).toBeGreaterThanOrEqual(buildDrafts ? 6 : 5);
        for (const s of sections) {
          expect(
            s.children.map((c) => c.url),
            `children of ${s.url}`,
          ).toEqual(hugo.children(s.url));
        }
        // Equal weights with different dates, then titles; unweighted last.
        expect(hugo.children(`${BASE_PATH}docker_linux/`).map((u) => u.slice(BASE_PATH.length))).toEqual([
          'docker_linux/namespaces/', // weight 1, dated
          ...(buildDrafts ? ['docker_linux/brouillon/'] : []), // weight 1, no date
          'docker_linux/cgroups/',
          'docker_linux/chroot/',
          'docker_linux/capabilities_intro/',
          'docker_linux/seccomp/',
          'docker_linux/bundle/',
          'docker_linux/avance/',
          'docker_linux/mon-slug/',
          'ailleurs/Deplace/',
          'docker_linux/overlay/',
          'docker_linux/union/',
        ]);
      });

      it('writes a redirect page for each alias, to the same page', () => {
        const aliases = new Map<string, string>();
        const walk = (d: string) => {
          for (const f of readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, f.name);
            if (f.isDirectory()) walk(p);
            else if (f.name.endsWith('.html')) {
              const m = /<meta http-equiv="refresh" content="0; url=([^"]+)"/.exec(readFileSync(p, 'utf8'));
              if (m) {
                const rel = path
                  .relative(hugo.dir, p)
                  .split(path.sep)
                  .join('/')
                  .replace(/index\.html$/, '');
                aliases.set(BASE_PATH + rel, new URL(m[1]!).pathname);
              }
            }
          }
        };
        walk(hugo.dir);
        expect(new Map(tree.redirects.map((r) => [r.from, r.to]))).toEqual(aliases);
        expect(aliases.size).toBe(3);
      });

      it("renders the seed lesson's notices in the same order as Hugo", () => {
        const html = readFileSync(hugo.file(`${BASE_PATH}docker_linux/namespaces/`), 'utf8');
        const hugoKinds = [...html.matchAll(/class="notices (\w+)"/g)].map((m) => m[1]);
        const source = readFileSync(path.join(FIXTURE, 'content/docker_linux/namespaces.md'), 'utf8');
        const body = source.slice(source.indexOf('---', 3) + 3);
        const ours = String(
          unified()
            .use(remarkParse)
            .use(remarkHugoShortcodes, { displayPath: () => 'content/docker_linux/namespaces.md' })
            .use(remarkRehype)
            .use(rehypeStringify)
            .processSync(body),
        );
        const ourKinds = [...ours.matchAll(/class="notice notice--(\w+)"/g)].map((m) => m[1]);
        expect(hugoKinds).toEqual(['warning', 'tip', 'tip', 'info', 'tip']);
        expect(ourKinds).toEqual(hugoKinds);
      });
    });
  }

  it('cleans up after itself', () => {
    expect(existsSync(FIXTURE)).toBe(true);
    expect(existsSync(path.join(FIXTURE, '.hugo_build.lock'))).toBe(false);
    expect(existsSync(path.join(FIXTURE, 'public'))).toBe(false);
  });
});
