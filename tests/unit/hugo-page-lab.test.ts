// A page's lab: `machines:` in its front matter, or inherited from the
// nearest section's _index.md (a whole chapter shares one lab); validated
// with file:line errors like the other front matter keys; and a block that
// names a machine the lab lacks is a content error, listed by the content
// survey of a Hugo site brought as it is (TOML front matter, .md pages).
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ContentError, parseHugoPage } from '../../src/lib/hugo/front-matter.ts';
import { labOfFile, pageLab } from '../../src/lib/hugo/page-lab.ts';
import { surveyContent } from '../../src/lib/authoring/content-survey.ts';
import { loadSiteConfig, PROJECT_ROOT } from '../../src/lib/site-config.ts';
import { mdxComponentChecks } from '../../src/components/mdx-component-checks.ts';

const LAB = ['node1', 'node2', 'node3'];

function contentError(fn: () => unknown): ContentError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ContentError) return error;
    throw error;
  }
  throw new Error('expected a ContentError, nothing was thrown');
}

describe('machines: in the front matter', () => {
  it('reads a YAML or TOML list, and a bare "node1, node2" text', () => {
    expect(parseHugoPage('---\ntitle: S\nmachines: [node1, node2, node3]\n---\n', 'content/s.md').frontMatter.machines).toEqual(LAB);
    expect(parseHugoPage('+++\ntitle = "S"\nmachines = ["node1", "node2"]\n+++\n', 'content/s.md').frontMatter.machines).toEqual(['node1', 'node2']);
    expect(parseHugoPage('---\ntitle: S\nMachines: node1, node2\n---\n', 'content/s.md').frontMatter.machines).toEqual(['node1', 'node2']);
    expect(parseHugoPage('---\ntitle: S\n---\n', 'content/s.md').frontMatter.machines).toBeUndefined();
  });

  it('refuses a bad name, a repeated one, an empty list, with the file, the line and the fix', () => {
    expect(contentError(() => parseHugoPage('---\ntitle: S\nweight: 2\nmachines: [node1, Node_2]\n---\n', 'content/s.md')).message).toBe(
      'content/s.md:4: machines must be a list of different machine names (1–16 characters of a-z, 0-9 and "-", starting with a letter or digit), at most 16, but item 2 is "Node_2". Fix: write machines: ["node1", "node2", "node3"]',
    );
    expect(contentError(() => parseHugoPage('+++\ntitle = "S"\nmachines = ["node1", "node1"]\n+++\n', 'content/s.md')).message).toMatch(
      /^content\/s\.md:3: machines must be a list of different machine names .*, got \["node1","node1"\]\. Fix: write machines = \["node1", "node2", "node3"\]$/,
    );
    expect(contentError(() => parseHugoPage('---\ntitle: S\nmachines: []\n---\n', 'content/s.md')).line).toBe(3);
    expect(contentError(() => parseHugoPage('---\ntitle: S\nmachines: 3\n---\n', 'content/s.md')).line).toBe(3);
  });
});

describe('pageLab', () => {
  const tree: Record<string, { machines?: string[] }> = {
    '_index.md': {},
    'reseau/_index.md': { machines: LAB },
    'reseau/swarm.md': {},
    'reseau/overlay/_index.mdx': {},
    'reseau/overlay/vxlan.md': {},
    'reseau/deux.md': { machines: ['a', 'b'] },
    'reseau/bundle/index.md': {},
    'reseau/sans-index/page.md': {},
    'seul/page.md': {},
  };
  const frontMatterOf = (path: string) => tree[path];

  it("takes the page's own machines first", () => {
    expect(pageLab('reseau/deux.md', frontMatterOf)).toEqual({ machines: ['a', 'b'], declaredIn: 'reseau/deux.md' });
  });

  it("inherits the nearest section's _index.md: its pages, its sub-sections and their pages, leaf bundles, folders without _index", () => {
    for (const path of ['reseau/swarm.md', 'reseau/overlay/_index.mdx', 'reseau/overlay/vxlan.md', 'reseau/bundle/index.md', 'reseau/sans-index/page.md']) {
      expect(pageLab(path, frontMatterOf), path).toEqual({ machines: LAB, declaredIn: 'reseau/_index.md' });
    }
    expect(pageLab('reseau/_index.md', frontMatterOf)).toEqual({ machines: LAB, declaredIn: 'reseau/_index.md' });
  });

  it('gives no lab elsewhere (one machine, as before), and the home page declares one for the whole site', () => {
    expect(pageLab('seul/page.md', frontMatterOf)).toBeUndefined();
    expect(pageLab('_index.md', frontMatterOf)).toBeUndefined();
    expect(pageLab('seul/page.md', (path) => (path === '_index.md' ? { machines: ['m1'] } : tree[path]))).toEqual({
      machines: ['m1'],
      declaredIn: '_index.md',
    });
  });
});

describe("a Hugo site's labs, read from its files", () => {
  const root = mkdtempSync(join(tmpdir(), 'page-lab-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('config.toml', 'baseURL = "/"\ntitle = "Cours"\n');
  write('content/_index.md', '+++\ntitle = "Accueil"\n+++\n');
  write('content/reseau/_index.md', '+++\ntitle = "Réseau"\nmachines = ["node1", "node2", "node3"]\n+++\n');
  write('content/reseau/swarm.md', '+++\ntitle = "Swarm"\n+++\n\n```bash {machine=node2}\n$ hostname\n```\n\n```bash\n// Sur node4\n$ hostname\n```\n');
  write('content/seul/page.md', '---\ntitle: Seul\n---\n\n```bash {machine=node2}\n$ hostname\n```\n\n```bash\n// Sur node2\n$ hostname\n```\n');

  it('labOfFile finds the section that declares it, named as the author knows it', () => {
    expect(labOfFile(join(root, 'content/reseau/swarm.md'), join(root, 'content'), root)).toEqual({ machines: LAB, declaredIn: 'content/reseau/_index.md' });
    expect(labOfFile(join(root, 'content/seul/page.md'), join(root, 'content'), root)).toBeNull();
    expect(labOfFile('/elsewhere/page.md', join(root, 'content'), root)).toBeUndefined();
  });

  it("the content survey lists each block whose machine the page's lab lacks, at its line, with the fix", () => {
    const site = loadSiteConfig({ COURSE_SITE_DIR: root });
    const messages = surveyContent(site).problems.map((problem) => problem.message.replaceAll(`${root}/`, ''));
    expect(messages).toEqual([
      'content/reseau/swarm.md:9: "// Sur node4": the page\'s lab has no machine node4 (its machines are node1, node2, node3, from content/reseau/_index.md). Fix: write // Sur node1 (or another of node1, node2, node3), or add node4 to machines: in content/reseau/_index.md',
      "content/seul/page.md:5: {machine=node2}: this block runs on machine node2, but the page has no lab (no machines: in its front matter nor in its section's _index.md). Fix: add machines: [node1, node2] to the page's front matter (or its section's _index.md, for the whole chapter), or remove {machine=node2}",
    ]);
  });
});

describe('<Transcript machine> in an MDX page of this course', () => {
  const swarm = pathToFileURL(join(PROJECT_ROOT, 'content/docker_linux/swarm.mdx'));
  const transcript = (machine: string | undefined, code: string) => ({
    type: 'mdxJsxFlowElement',
    name: 'Transcript',
    position: { start: { line: 40, column: 1 } },
    attributes: [
      { type: 'mdxJsxAttribute', name: 'code', value: code, position: { start: { line: 40, column: 13 } } },
      ...(machine === undefined ? [] : [{ type: 'mdxJsxAttribute', name: 'machine', value: machine, position: { start: { line: 41, column: 1 } } }]),
    ],
  });
  const check = (node: unknown, fileURL: URL) =>
    (mdxComponentChecks.mdxJsxFlowElement as (node: unknown, context: { fileURL: URL }) => void)(node, { fileURL });

  it("is checked against the page's lab at its line (the Swarm page's: node1, node2, node3)", () => {
    expect(() => check(transcript('node2', '$ hostname'), swarm)).not.toThrow();
    expect(contentError(() => check(transcript('node7', '$ hostname'), swarm)).message).toBe(
      'content/docker_linux/swarm.mdx:41: <Transcript machine="node7">: the page\'s lab has no machine node7 (its machines are node1, node2, node3, from content/docker_linux/swarm.mdx). Fix: name one of node1, node2, node3, or add node7 to machines: in content/docker_linux/swarm.mdx',
    );
    expect(contentError(() => check(transcript(undefined, '// Sur node9\n$ hostname'), swarm)).line).toBe(40);
  });

  it('is an error on a page without a lab (the namespaces lesson)', () => {
    const namespaces = pathToFileURL(join(PROJECT_ROOT, 'content/docker_linux/namespaces.mdx'));
    expect(contentError(() => check(transcript('node2', '$ hostname'), namespaces)).reason).toMatch(
      /^<Transcript machine="node2">: this block runs on machine node2, but the page has no lab/,
    );
  });
});
