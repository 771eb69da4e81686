// Compile-time checks of the course components used in MDX pages, so that a
// wrong <Notice type> or a malformed <Transcript> stops the build with the
// file, the line and the fix. (At render time a component only knows the
// URL being built, not which file or line called it.)
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MdastPluginDefinition } from 'satteri';
import { ContentError } from '../lib/hugo/errors.ts';
import { isNoticeKind, NOTICE_KIND_NAMES } from '../lib/notice-kinds.ts';
import { parseTranscript, TranscriptError } from '../lib/snippets/transcript.ts';
import { BlockMachineError, blockMachine } from '../lib/snippets/block-machine.ts';
import { labOfFile } from '../lib/hugo/page-lab.ts';
import { currentSiteConfig, PROJECT_ROOT } from '../lib/site-config.ts';

interface Position {
  start: { line: number; column: number };
}
interface JsxAttribute {
  type: string;
  name?: string;
  value?: string | { type: string; value: string } | null;
  position?: Position;
}
interface JsxElement {
  name: string | null;
  attributes: JsxAttribute[];
  position?: Position;
}

function authorPath(fileURL: URL | undefined): string {
  if (fileURL === undefined) return '(unknown MDX file)';
  const path = fileURLToPath(fileURL);
  const inProject = relative(PROJECT_ROOT, path);
  return inProject.startsWith('..') ? path : inProject;
}

/** The text of a template literal without substitutions, e.g. {`$ ls`}; undefined for any other expression. */
export function staticTemplateLiteral(expression: string): string | undefined {
  const source = expression.trim();
  if (!/^`[\s\S]*`$/.test(source) || /(^|[^\\])\$\{/.test(source)) return undefined;
  return source.slice(1, -1).replace(/\\([\\`$])/g, '$1');
}

function stringAttribute(attribute: JsxAttribute | undefined): string | undefined {
  return typeof attribute?.value === 'string' ? attribute.value : undefined;
}

function attributeNamed(element: JsxElement, name: string): JsxAttribute | undefined {
  return element.attributes.find((attribute) => attribute.type === 'mdxJsxAttribute' && attribute.name === name);
}

function checkNotice(element: JsxElement, file: string): void {
  const typeAttribute = attributeNamed(element, 'type');
  const line = typeAttribute?.position?.start.line ?? element.position?.start.line;
  if (typeAttribute === undefined) {
    throw new ContentError({
      file,
      line,
      reason: '<Notice> has no type',
      hint: `add one of ${NOTICE_KIND_NAMES.map((kind) => `type="${kind}"`).join(', ')}`,
    });
  }
  const given = stringAttribute(typeAttribute);
  // An expression (type={kind}) can only be checked when the page renders.
  if (given === undefined || isNoticeKind(given)) return;
  const lower = given.trim().toLowerCase();
  throw new ContentError({
    file,
    line,
    reason: `<Notice type="${given}">: unknown notice type "${given}"; allowed types are ${NOTICE_KIND_NAMES.join(', ')}`,
    hint: isNoticeKind(lower) ? `write type="${lower}"` : `write e.g. type="tip" or type="warning"`,
  });
}

function checkTranscript(element: JsxElement, file: string, fileURL: URL | undefined): void {
  const codeAttribute = attributeNamed(element, 'code');
  const line = codeAttribute?.position?.start.line ?? element.position?.start.line;
  if (codeAttribute === undefined) {
    throw new ContentError({
      file,
      line,
      reason: '<Transcript> has no code',
      hint: 'give the transcript as a template literal: <Transcript code={`$ hostname`} />',
    });
  }
  const terminal = stringAttribute(attributeNamed(element, 'terminal'));
  if (terminal !== undefined && !/^[1-9][0-9]?$/.test(terminal)) {
    throw new ContentError({
      file,
      line: attributeNamed(element, 'terminal')?.position?.start.line ?? line,
      reason: `<Transcript terminal="${terminal}">: a terminal is named by a number`,
      hint: 'write terminal="1" or terminal="2"',
    });
  }
  const value = codeAttribute.value;
  const text = typeof value === 'string' ? value : value?.type === 'mdxJsxAttributeValueExpression' ? staticTemplateLiteral(value.value) : undefined;
  checkMachine(element, file, fileURL, text, line);
  if (text === undefined) return;
  try {
    parseTranscript(text);
  } catch (error) {
    if (!(error instanceof TranscriptError)) throw error;
    // The template literal starts on the attribute's line; parseTranscript counts from its first non-blank line.
    const leadingBlankLines = /^(\s*\n)*/.exec(text)![0].split('\n').length - 1;
    throw new ContentError({
      file,
      line: line === undefined ? undefined : line + leadingBlankLines + error.line - 1,
      reason: `<Transcript>: ${error.message.replace(/^transcript line \d+: /, '').replace(/;.*$/, '')}`,
      hint: error.message.includes(';') ? error.message.slice(error.message.indexOf(';') + 1).trim() : undefined,
    });
  }
}

/** <Transcript machine="node2"> or a "// Sur node2" first line: a machine of the page's lab (block-machine.ts). */
function checkMachine(element: JsxElement, file: string, fileURL: URL | undefined, text: string | undefined, line: number | undefined): void {
  const machineAttribute = attributeNamed(element, 'machine');
  const declared = stringAttribute(machineAttribute);
  // A fenced block turned into <Transcript> by markdown-plugin.ts was checked there.
  if (attributeNamed(element, 'fenced') !== undefined || fileURL === undefined) return;
  if (declared === undefined && text === undefined) return;
  const site = currentSiteConfig();
  const lab = labOfFile(fileURLToPath(fileURL), site.contentDir, site.projectRoot);
  let prompt: string | undefined;
  try {
    prompt = text === undefined ? undefined : parseTranscript(text).machine;
  } catch {
    prompt = undefined; // reported below with its line
  }
  try {
    blockMachine({ declared, declaredAs: `<Transcript machine="${declared}">`, code: text ?? '', prompt }, lab);
  } catch (error) {
    if (!(error instanceof BlockMachineError)) throw error;
    throw new ContentError({ file, line: machineAttribute?.position?.start.line ?? line, reason: error.message, hint: error.hint });
  }
}

/** Satteri mdast plugin for .mdx pages: validates <Notice> and <Transcript> where they are written. */
export const mdxComponentChecks: MdastPluginDefinition = {
  name: 'course-mdx-component-checks',
  options: { position: true },
  mdxJsxFlowElement(node, context) {
    const element = node as unknown as JsxElement;
    const file = authorPath(context.fileURL);
    if (element.name === 'Notice') checkNotice(element, file);
    if (element.name === 'Transcript') checkTranscript(element, file, context.fileURL);
  },
  mdxJsxTextElement(node, context) {
    const element = node as unknown as JsxElement;
    const file = authorPath(context.fileURL);
    if (element.name === 'Notice') checkNotice(element, file);
    if (element.name === 'Transcript') checkTranscript(element, file, context.fileURL);
  },
};
