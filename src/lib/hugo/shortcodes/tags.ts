/**
 * Hugo shortcode tags in a string: `{{< name params >}}`, `{{% name params %}}`,
 * their closing forms, and Hugo's escape `{{</* name *\/>}}` that shows a tag as
 * text. Parameters are positional or named (`key=value`), bare or quoted.
 */

export type Delimiter = '<' | '%';

/** A tag found in a string: a shortcode tag, or an escaped one (`{{</* x *\/>}}`) that stays text. */
export interface FoundTag {
  start: number;
  end: number;
  /** The tag as written, for messages. */
  raw: string;
  delimiter: Delimiter;
  /** What is between the delimiters, for a real tag; undefined for an escaped one. */
  inner: string | undefined;
}

/** Stands for a non-text node in a paragraph's flattened text: no tag may span it. */
export const PLACEHOLDER = '\uFFFC';

/** The character before `}}` that closes a tag opened with `{{<` or `{{%`. */
export const closer = (d: Delimiter) => (d === '<' ? '>' : '%');
export const tagSample = (d: Delimiter, inner: string) => `{{${d}${inner}${closer(d)}}}`;

/** The name of a tag's shortcode and whether it closes one: `/notice` → { name: 'notice', closing: true }. */
export function tagName(inner: string): { name: string | undefined; closing: boolean; rest: string; selfClosing: boolean } {
  let t = inner.trim();
  const closing = t.startsWith('/');
  if (closing) t = t.slice(1).trim();
  const selfClosing = !closing && t.endsWith('/');
  if (selfClosing) t = t.slice(0, -1).trim();
  const name = /^[\w./-]+/.exec(t)?.[0];
  return { name, closing, rest: name ? t.slice(name.length) : t, selfClosing };
}

/**
 * Finds shortcode tags in `s`. Calls `fail(reason, hint, index)` for a tag that
 * is never closed or contains Markdown formatting. `startsTag(index)` may
 * refuse a `{{` (one inside inline code, for instance).
 */
export function findTags(
  s: string,
  fail: (reason: string, hint: string, index: number) => never,
  startsTag: (index: number) => boolean = () => true,
): FoundTag[] {
  const out: FoundTag[] = [];
  let from = 0;
  for (;;) {
    const start = s.indexOf('{{', from);
    if (start === -1) return out;
    const d = s[start + 2];
    if ((d !== '<' && d !== '%') || !startsTag(start)) {
      from = start + 2;
      continue;
    }
    const close = `${closer(d)}}}`;
    // Escaped form: {{</* … */>}} is shown as {{< … >}}.
    const escaped = /^\s*\/\*/.exec(s.slice(start + 3));
    if (escaped) {
      const commentEnd = s.indexOf('*/', start + 3 + escaped[0].length);
      const after = commentEnd === -1 ? null : /^\s*/.exec(s.slice(commentEnd + 2));
      if (commentEnd !== -1 && after && s.startsWith(close, commentEnd + 2 + after[0].length)) {
        const end = commentEnd + 2 + after[0].length + close.length;
        out.push({ start, end, raw: s.slice(start, end), delimiter: d, inner: undefined });
        from = end;
        continue;
      }
    }
    const end = s.indexOf(close, start + 3);
    const placeholder = s.indexOf(PLACEHOLDER, start + 3);
    if (end === -1) {
      const name = /^\s*\/?\s*([\w./-]+)/.exec(s.slice(start + 3))?.[1];
      fail(
        `the shortcode tag ${name ? `"${name}" ` : ''}opened with {{${d} is never closed with ${close}`,
        `end the tag on the same line: ${tagSample(d, ` ${name ?? 'notice tip'} `)}`,
        start,
      );
    }
    if (placeholder !== -1 && placeholder < end) {
      fail(
        'a shortcode tag may not contain Markdown formatting (emphasis, code, links…)',
        `write its parameters as plain text, e.g. ${tagSample(d, ' notice tip "Mon titre" ')}`,
        start,
      );
    }
    out.push({ start, end: end + close.length, raw: s.slice(start, end + close.length), delimiter: d, inner: s.slice(start + 3, end) });
    from = end + close.length;
  }
}

/** Hugo's escaped tags shown as text: `{{</* notice *\/>}}` → `{{< notice >}}`. */
export function unescapeTags(s: string): string {
  if (!s.includes('{{')) return s;
  return s.replace(/\{\{([<%])\s*\/\*([\s\S]*?)\*\/\s*([>%])\}\}/g, (all, open: string, inner: string, closeD: string) =>
    closer(open as Delimiter) === closeD ? `{{${open}${inner}${closeD}}}` : all,
  );
}

const QUOTES: Record<string, string> = { '"': '"', '`': '`', '“': '”', '„': '“', '«': '»', '‘': '’' };

export interface Param {
  name: string | undefined;
  value: string;
}

/** Hugo's shortcode parameters: positional or named (`key=value`), values bare or quoted. */
export function parseParams(s: string, fail: (reason: string, hint: string) => never): Param[] {
  const params: Param[] = [];
  let i = 0;
  const readValue = (): string => {
    const q = s[i]!;
    const closeQ = QUOTES[q];
    if (closeQ) {
      let value = '';
      i++;
      while (i < s.length && s[i] !== closeQ) {
        if (q === '"' && s[i] === '\\' && i + 1 < s.length) i++;
        value += s[i];
        i++;
      }
      if (i >= s.length) fail(`a parameter opened with ${q} is never closed with ${closeQ}`, `close the quote: ${q}…${closeQ}`);
      i++;
      return q === '«' ? value.replace(/^[\s\u00a0\u202f]+|[\s\u00a0\u202f]+$/g, '') : value;
    }
    const m = /^[^\s]+/.exec(s.slice(i))!;
    i += m[0].length;
    return m[0];
  };
  for (;;) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (i >= s.length) return params;
    const named = /^([A-Za-z_][\w-]*)=/.exec(s.slice(i));
    if (named) {
      i += named[0].length;
      if (i >= s.length || /\s/.test(s[i]!)) fail(`the parameter ${named[1]}= has no value`, `write ${named[1]}="…"`);
      params.push({ name: named[1], value: readValue() });
    } else {
      params.push({ name: undefined, value: readValue() });
    }
  }
}

/** Named and positional parameters of a tag, with one lookup for both (Hugo allows one style per tag). */
export class TagParams {
  readonly positional: string[];
  readonly named: Map<string, string>;
  constructor(params: Param[]) {
    this.positional = params.filter((p) => p.name === undefined).map((p) => p.value);
    this.named = new Map(params.filter((p) => p.name !== undefined).map((p) => [p.name!.toLowerCase(), p.value]));
  }
  /** The named parameter `name`, else the positional one at `index`. */
  get(name: string, index?: number): string | undefined {
    return this.named.get(name.toLowerCase()) ?? (index === undefined ? undefined : this.positional[index]);
  }
  bool(name: string, fallback: boolean): boolean {
    const v = this.named.get(name.toLowerCase());
    return v === undefined ? fallback : /^(true|1|yes|on)$/i.test(v.trim());
  }
}
