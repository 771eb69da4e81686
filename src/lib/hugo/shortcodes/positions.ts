/** Source positions inside text nodes, and cutting text nodes around a removed tag. */
import type { Html, PhrasingContent, Text } from 'mdast';

export type Point = { line: number; column: number };

/** Approximate source point of `value[index]` in a text-like node: exact line, column exact on the node's first line. */
export function pointIn(node: { value: string; position?: { start: { line: number; column: number } } | undefined }, index: number): Point | undefined {
  const start = node.position?.start;
  if (!start) return undefined;
  const before = node.value.slice(0, index);
  const nl = before.lastIndexOf('\n');
  if (nl === -1) return { line: start.line, column: start.column + index };
  return { line: start.line + (before.match(/\n/g)?.length ?? 0), column: index - nl };
}

/** Cuts `node.value[a, b)` out of a text or html node, with an approximate position. */
export function cutText<T extends Text | Html>(node: T, a: number, b: number): T {
  const start = pointIn(node, a);
  const end = pointIn(node, b);
  const { position: _drop, ...rest } = node;
  return { ...rest, value: node.value.slice(a, b), ...(start && end ? { position: { start, end } } : {}) } as T;
}

/** Drops blank text and line breaks at both ends of a run of inline nodes (left around a removed tag). */
export function trimInline(nodes: PhrasingContent[]): PhrasingContent[] {
  const out = [...nodes];
  const blank = (n: PhrasingContent | undefined) => n !== undefined && ((n.type === 'text' && n.value.trim() === '') || n.type === 'break');
  while (blank(out[0])) out.shift();
  while (blank(out.at(-1))) out.pop();
  const first = out[0];
  if (first?.type === 'text' && /^\s/.test(first.value)) out[0] = { ...first, value: first.value.trimStart() };
  const last = out.at(-1);
  if (last?.type === 'text' && /\s$/.test(last.value)) out[out.length - 1] = { ...last, value: last.value.trimEnd() };
  return out;
}
