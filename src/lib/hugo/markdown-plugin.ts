/**
 * The one Sätteri mdast plugin that makes a Hugo course's pages read as Hugo
 * would publish them, in .md and .mdx alike:
 *
 * - Learn/Relearn shortcodes (.md; MDX pages use the components): shortcodes.ts;
 * - fenced shell blocks become runnable snippets, the same markup as
 *   <Transcript> (snippets/shell-fences.ts, snippets/transcript-html.ts);
 * - root-relative links and images get the base path, Learn's image
 *   parameters are honoured (links-images.ts).
 *
 * In .md pages the whole tree is transformed at once (`before`); in .mdx,
 * whose tree holds JSX and ESM, only the code, link and image nodes are
 * touched, and a shell fence becomes a <Transcript> element.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Code, Root, RootContent } from 'mdast';
import { markdownToMdast, type MdastPluginDefinition } from 'satteri';
import { FenceError, planShellBlock, type PlanOptions, type ShellBlockPlan } from '../snippets/shell-fences.ts';
import { transcriptHtml } from '../snippets/transcript-html.ts';
import { ContentError } from './errors.ts';
import { diagramHtml, MERMAID_SCRIPT } from './diagrams.ts';
import { parseFrontMatter } from './front-matter.ts';
import { imageParams, rewriteLinksAndImages, withBase } from './links-images.ts';
import { labOfFile } from './page-lab.ts';
import { preprocessShortcodes, transformHugoShortcodes } from './shortcodes.ts';
import { siteIndex } from './shortcodes/site-index.ts';
import type { ContentLanguages } from './content-tree-types.ts';

export interface HugoMarkdownOptions {
  basePath: string;
  /** Where the snippets' sandbox server is (default: the base path, same origin). */
  sandboxUrl: string;
  externalLinkTarget?: string | undefined;
  /** The repository root, to name files in errors relative to it. */
  projectRoot: string;
  /** What {{< siteparam >}}, {{< ref >}}, {{% children %}}, {{% include %}} read. */
  siteDir: string;
  contentDir: string;
  buildDrafts: boolean;
  disablePathToLower?: boolean | undefined;
  /** The site's [params], keys lower-cased. */
  siteParams: Record<string, unknown>;
  languages?: ContentLanguages | undefined;
}

function displayPath(fileURL: URL | undefined, projectRoot: string): string {
  if (!fileURL) return '<markdown>';
  const absolute = fileURLToPath(fileURL);
  const rel = path.relative(projectRoot, absolute);
  return rel && !rel.startsWith('..') ? rel.split(path.sep).join('/') : absolute;
}

/** Deep copy of a Sätteri tree as plain mdast (without its internal `_` fields). */
function plainTree(root: unknown): Root {
  return JSON.parse(JSON.stringify(root, (key, value: unknown) => (key.startsWith('_') ? undefined : value))) as Root;
}

/** The shell block's plan, or the build error naming the file, the line and the fix. */
function planOf(node: Pick<Code, 'lang' | 'meta' | 'value' | 'position'>, file: string, plan: PlanOptions): ShellBlockPlan {
  try {
    return planShellBlock(node.lang, node.meta, node.value, plan);
  } catch (error) {
    if (!(error instanceof FenceError)) throw error;
    throw new ContentError({ file, line: node.position?.start.line, reason: error.message, hint: error.hint });
  }
}

/**
 * Replaces the shell fences of a plain tree by snippet HTML, and mermaid and math fences by their rendering.
 * `render: false` (the content survey) only checks them: the snippet's HTML, highlighted by Shiki, is left out.
 */
function replaceFences(parent: { children: RootContent[] }, file: string, sandboxUrl: string, basePath: string, plan: PlanOptions, render: boolean): void {
  parent.children = parent.children.map((node) => {
    if (node.type === 'code') {
      const diagram = diagramHtml(node.lang, node.value, basePath, (reason, hint) => {
        throw new ContentError({ file, line: node.position?.start.line, reason, hint });
      });
      if (diagram !== undefined) return { type: 'html', value: diagram, position: node.position } as RootContent;
      const planned = planOf(node, file, plan);
      if (planned.kind === 'skip') return node;
      return { type: 'html', value: render ? snippetHtml(planned, sandboxUrl) : '', position: node.position } as RootContent;
    }
    if ('children' in node && Array.isArray(node.children)) replaceFences(node as { children: RootContent[] }, file, sandboxUrl, basePath, plan, render);
    return node;
  });
}

function snippetHtml(plan: Exclude<ShellBlockPlan, { kind: 'skip' }>, sandboxUrl: string): string {
  const transcript = plan.transcript ?? {
    lines: plan.code.split('\n').map((text) => ({ kind: 'output' as const, text })),
    commands: [],
    mode: 'transcript' as const,
  };
  return transcriptHtml({
    transcript,
    terminal: plan.terminal,
    machine: plan.machine,
    title: plan.title,
    sandboxUrl,
    runnable: plan.kind === 'run',
    copyOnlyReason: plan.kind === 'copy-only' ? plan.reason : undefined,
  });
}

const PARSE_OPTIONS = { features: { gfm: true, smartPunctuation: true }, position: true } as const;

/**
 * The whole .md page transformation (shortcodes, shell fences, links), given its
 * source and, when the caller already parsed it, its tree. Throws the page's
 * ContentError (file, line, fix). The build runs it through the plugin below;
 * the content survey runs it on every page before the build, so that one build
 * reports the problems of all pages at once. The survey passes `render: false`:
 * the same checks, without highlighting the snippets' commands (the build does
 * that once, for the page it publishes; highlighting finds no content error).
 */
export function createHugoPageTransform(
  options: HugoMarkdownOptions,
  { render = true }: { render?: boolean } = {},
): (source: string, fileURL: URL | undefined, parsed?: unknown) => Root {
  const { basePath, sandboxUrl, externalLinkTarget, projectRoot } = options;
  const fileOf = (url: URL | undefined) => displayPath(url, projectRoot);
  const labOf = (url: URL | undefined) => (url === undefined ? undefined : labOfFile(fileURLToPath(url), options.contentDir, projectRoot));
  const index = () =>
    siteIndex({
      contentDir: options.contentDir,
      basePath,
      buildDrafts: options.buildDrafts,
      disablePathToLower: options.disablePathToLower,
      languages: options.languages,
    });
  /** Pass 1 of the shortcodes, on the page's source; undefined when nothing changed. */
  const preprocess = (source: string, fileURL: URL | undefined, file: string): string | undefined => {
    if (!/\{\{[<%]/.test(source)) return undefined;
    const absolute = fileURL ? fileURLToPath(fileURL) : undefined;
    const contentPath = absolute ? path.relative(options.contentDir, absolute).split(path.sep).join('/') : undefined;
    let pageParams: Record<string, unknown> = {};
    if (absolute) {
      try {
        pageParams = parseFrontMatter(readFileSync(absolute, 'utf8'), file).data as Record<string, unknown>;
      } catch {
        pageParams = {}; // the content loader reports front matter errors with their line
      }
    }
    const out = preprocessShortcodes(source, {
      file,
      contentPath: contentPath && !contentPath.startsWith('..') ? contentPath : undefined,
      basePath,
      siteParams: options.siteParams,
      pageParams,
      siteDir: options.siteDir,
      contentDir: options.contentDir,
      index,
    });
    return out === source ? undefined : out;
  };
  return (source, fileURL, parsed) => {
    const file = fileOf(fileURL);
    const changed = preprocess(source, fileURL, file);
    // Re-parsed when pass 1 changed the source (a ref inside a link's parentheses is a link only then).
    const tree = plainTree(changed === undefined ? (parsed ?? markdownToMdast(source, PARSE_OPTIONS)) : markdownToMdast(changed, PARSE_OPTIONS));
    transformHugoShortcodes(tree, { file });
    replaceFences(tree, file, sandboxUrl, basePath, { lab: labOf(fileURL) }, render);
    rewriteLinksAndImages(tree, { basePath, externalLinkTarget });
    return tree;
  };
}

export function createHugoMarkdownPlugin(options: HugoMarkdownOptions): MdastPluginDefinition {
  const { basePath, projectRoot } = options;
  const fileOf = (url: URL | undefined) => displayPath(url, projectRoot);
  const labOf = (url: URL | undefined) => (url === undefined ? undefined : labOfFile(fileURLToPath(url), options.contentDir, projectRoot));
  const pageTree = createHugoPageTransform(options);
  return {
    name: 'hugo-markdown',
    options: { position: true },
    before(root, ctx) {
      if (ctx.sourceFormat !== 'markdown') return;
      ctx.replaceNode(root, pageTree(ctx.source, ctx.fileURL, root) as never);
    },
    // MDX: the nodes one by one (the `before` pass above skips MDX).
    code(node, ctx) {
      if (ctx.sourceFormat === 'markdown') return;
      const file = fileOf(ctx.fileURL);
      const diagram = diagramHtml(node.lang, node.value, basePath, (reason, hint) => {
        throw new ContentError({ file, line: node.position?.start.line, reason, hint });
      });
      if (diagram !== undefined && node.lang === 'mermaid') {
        // MDX has no raw HTML: the same <pre class="mermaid"> as a JSX element.
        ctx.replaceNode(node, {
          type: 'mdxJsxFlowElement',
          name: 'pre',
          attributes: [
            { type: 'mdxJsxAttribute', name: 'className', value: 'mermaid' },
            { type: 'mdxJsxAttribute', name: 'data-mermaid-src', value: basePath + MERMAID_SCRIPT },
          ],
          children: [{ type: 'text', value: node.value.trim() }],
        } as never);
        return;
      }
      if (diagram !== undefined) return; // math in MDX: left as a code block (write it in a .md page)
      const plan = planOf(node as Code, file, { lab: labOf(ctx.fileURL) });
      if (plan.kind === 'skip') return;
      const attribute = (name: string, value: string | undefined) => (value === undefined ? [] : [{ type: 'mdxJsxAttribute', name, value }]);
      ctx.replaceNode(node, {
        type: 'mdxJsxFlowElement',
        name: 'Transcript',
        attributes: [
          ...attribute('code', plan.code),
          ...attribute('terminal', plan.terminal),
          ...attribute('machine', plan.machine),
          ...attribute('title', plan.title),
          ...attribute('copyOnly', plan.kind === 'copy-only' ? plan.reason : undefined),
          ...attribute('fenced', 'true'),
        ],
        children: [],
      } as never);
    },
    link(node, ctx) {
      if (ctx.sourceFormat === 'markdown') return;
      const url = withBase(node.url, basePath);
      if (url !== node.url) ctx.setProperty(node, 'url', url);
    },
    image(node, ctx) {
      if (ctx.sourceFormat === 'markdown') return;
      const p = imageParams(node.url);
      const style = [p.width && `width:${p.width}`, p.height && `height:${p.height}`].filter(Boolean).join(';');
      ctx.setProperty(node, 'url', withBase(p.src, basePath));
      ctx.setProperty(node, 'data', { hProperties: { className: ['course-image', ...p.classes], loading: 'lazy', ...(style ? { style } : {}) } });
    },
  };
}
