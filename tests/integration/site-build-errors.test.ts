// Bad content and bad configuration stop `astro build` with a message that
// names the file (or variable), the line and the fix. Each build is of a
// small content tree of its own in a temporary folder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSite, makeTempDir, removeTempDir, writeContentTree, type BuildResult } from '../support/site.ts';

const HOME = '---\ntitle: "Accueil"\n---\nBonjour.\n';
const CHAPTER = '+++\ntitle = "Docker et Linux"\nweight = 4\nchapter = true\npre = "<b>4. </b>"\n+++\n\n# Docker et Linux\n';

let workDir: string;
let caseNumber = 0;

beforeAll(async () => {
  workDir = await makeTempDir('course-site-errors');
});
afterAll(() => {
  removeTempDir(workDir);
});

/** Builds a tree made of a valid home and chapter plus `files`. */
async function buildTree(files: Record<string, string>): Promise<{ result: BuildResult; contentDir: string }> {
  caseNumber += 1;
  const contentDir = `${workDir}/case-${caseNumber}/content`;
  writeContentTree(contentDir, { '_index.md': HOME, 'docker_linux/_index.md': CHAPTER, ...files });
  const result = await buildSite({ contentDir, outDir: `${workDir}/case-${caseNumber}/dist` });
  return { result, contentDir };
}

// Mistakes in Markdown pages are all found before the build proper and reported together ("N content
// problem(s) — fix them all"): one build of a tree holding the five of them serves the five tests below,
// and the count proves that each one, not just one of them, stopped the build.
const MARKDOWN_MISTAKES = {
  'docker_linux/namespaces.md': '---\ntitle: "Les Namespaces"\ndraft: false\nweight: "abc"\n---\nTexte.\n',
  'docker_linux/_index.md': '+++\ntitle = "Docker et Linux"\nweight = "abc"\n+++\n',
  'docker_linux/sans-titre.md': '---\nweight: 2\n---\nTexte.\n',
  'docker_linux/notice.md': '---\ntitle: "Notice"\n---\n\nIntro.\n\n{{% notice danger %}}\nAttention.\n{{% /notice %}}\n',
  'docker_linux/ouvert.md': '---\ntitle: "Ouvert"\n---\n\n{{% notice tip %}}\nJamais fermé.\n\nFin.\n',
};

describe('a content mistake fails the build with file, line and fix', () => {
  let markdown: { result: BuildResult; contentDir: string };
  beforeAll(async () => {
    markdown = await buildTree(MARKDOWN_MISTAKES);
  });

  it('every Markdown mistake at once, each counted', () => {
    expect(markdown.result.ok).toBe(false);
    expect(markdown.result.output).toMatch(new RegExp(`\\b${Object.keys(MARKDOWN_MISTAKES).length} content problem\\(s\\)`));
  });

  it('weight "abc" in YAML front matter', () => {
    expect(markdown.result.output).toContain(
      `${markdown.contentDir}/docker_linux/namespaces.md:4: weight must be a whole number, got "abc". Fix: write weight: 3`,
    );
  });

  it('weight "abc" in TOML front matter gets a fix in TOML syntax', () => {
    expect(markdown.result.output).toContain(
      `${markdown.contentDir}/docker_linux/_index.md:3: weight must be a whole number, got "abc". Fix: write weight = 3`,
    );
  });

  it('a missing title', () => {
    expect(markdown.result.output).toMatch(
      new RegExp(`${markdown.contentDir}/docker_linux/sans-titre\\.md:1: title is required.*Fix: add a line title: "Les Namespaces"`),
    );
  });

  it('an unknown notice kind in a Markdown shortcode', () => {
    expect(markdown.result.output).toContain(`${markdown.contentDir}/docker_linux/notice.md:7: unknown notice kind "danger"`);
    expect(markdown.result.output).toMatch(/allowed kinds: note, info, tip, warning, caution, important/);
    expect(markdown.result.output).toMatch(/Fix: write e\.g\. \{\{% notice warning %\}\}/);
  });

  it('an unclosed notice shortcode', () => {
    expect(markdown.result.output).toContain(`${markdown.contentDir}/docker_linux/ouvert.md:5: the notice "tip" opened here is never closed`);
    expect(markdown.result.output).toContain('Fix: add {{% /notice %}} on its own line');
  });

  // MDX pages are compiled by the build itself, which stops at the first: one build each.
  it('an unknown <Notice type> in an MDX page', async () => {
    const { result, contentDir } = await buildTree({
      'docker_linux/lecon.mdx': '---\ntitle: "Leçon"\n---\n\nTexte.\n\n<Notice type="Warning">\nAttention.\n</Notice>\n',
    });
    expect(result.ok).toBe(false);
    expect(result.output).toContain(
      `${contentDir}/docker_linux/lecon.mdx:7: <Notice type="Warning">: unknown notice type "Warning"; allowed types are note, info, tip, warning, caution, important. Fix: write type="warning"`,
    );
  });

  it('a transcript prompt without a command in an MDX page', async () => {
    const { result, contentDir } = await buildTree({
      'docker_linux/transcript.mdx': '---\ntitle: "Transcript"\n---\n\n<Transcript code={`\n$ id\nuid=1000(student)\n#\n`} />\n',
    });
    expect(result.ok).toBe(false);
    expect(result.output).toContain(`${contentDir}/docker_linux/transcript.mdx:8: <Transcript>: a prompt "#" with no command.`);
  });
});

describe('a configuration mistake fails the build naming the variable and the fix', () => {
  it('a base path without a leading slash', async () => {
    const result = await buildSite({ basePath: 'tp-iut-docker', outDir: `${workDir}/config-base/dist` });
    expect(result.ok).toBe(false);
    expect(result.output).toContain('COURSE_BASE_PATH="tp-iut-docker": must be a URL path starting with "/"');
    expect(result.output).toContain('(e.g. /tp-iut-docker/)');
  });

  it('a content folder that does not exist, and a build-drafts value that is not a boolean, reported together', async () => {
    const result = await buildSite({
      contentDir: `${workDir}/nowhere`,
      outDir: `${workDir}/config-dir/dist`,
      env: { COURSE_BUILD_DRAFTS: 'peut-être' },
    });
    expect(result.ok).toBe(false);
    expect(result.output).toContain(`COURSE_CONTENT_DIR=${workDir}/nowhere: no such directory.`);
    expect(result.output).toContain('COURSE_BUILD_DRAFTS="peut-être": expected true or false');
  });
});
