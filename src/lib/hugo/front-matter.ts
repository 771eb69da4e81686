/**
 * Hugo front matter: YAML (`---`) or TOML (`+++`), validated by one zod schema.
 *
 * Known keys are those Hugo and the Learn/Relearn themes give a meaning to;
 * every other key is kept as it is (Hugo ignores what it does not know, and so
 * do we). Like Hugo, keys are matched without regard to case (`Title:` is
 * `title`), an empty value (`weight:`) is the same as no value, and
 * `draft: "true"` or `weight: "3"` are accepted.
 *
 * Errors name the file, the line of the offending key, what was given, what is
 * allowed and the fix:
 *   content/x.md:4: weight must be a whole number, got "abc". Fix: write weight: 3
 */
import { parse as parseToml, TomlError } from 'smol-toml';
import YAML from 'yaml';
import { z } from 'zod';
import { LAB_MACHINES_CEILING } from '../../../contracts/protocol.ts';
import { TERMINAL_NAME_PATTERN, TERMINAL_NAME_RULE as MACHINE_NAME_RULE } from '../../../contracts/names.ts';
import { ContentError, show } from './errors.ts';

export { ContentError, type ContentErrorInit } from './errors.ts';

export type FrontMatterFormat = 'yaml' | 'toml' | 'none';

/** What the author may write for a known key. `example` is a valid value, written the same in YAML and TOML. */
const FIELDS = {
  title: { expected: 'non-empty text', example: '"Les Namespaces"' },
  linkTitle: { expected: 'text', example: '"Namespaces"' },
  menuTitle: { expected: 'text', example: '"Namespaces"' },
  description: { expected: 'text', example: '"Isoler les processus"' },
  date: { expected: 'a date such as 2020-06-14 or 2020-06-14T11:39:32+02:00', example: '2020-06-14' },
  publishDate: { expected: 'a date such as 2020-06-14 or 2020-06-14T11:39:32+02:00', example: '2020-06-14' },
  lastmod: { expected: 'a date such as 2020-06-14 or 2020-06-14T11:39:32+02:00', example: '2020-06-14' },
  draft: { expected: 'true or false', example: 'false' },
  weight: { expected: 'a whole number', example: '3' },
  slug: { expected: 'text (one URL segment)', example: '"namespaces"' },
  url: { expected: 'text (a path such as /docker_linux/namespaces/)', example: '"/docker_linux/namespaces/"' },
  aliases: { expected: 'a list of paths', example: '["/ancienne/adresse/"]' },
  chapter: { expected: 'true or false', example: 'true' },
  hidden: { expected: 'true or false', example: 'false' },
  pre: { expected: 'text (HTML shown before the menu title)', example: '"<b>4. </b>"' },
  machines: { expected: `a list of different machine names (${MACHINE_NAME_RULE}), at most ${LAB_MACHINES_CEILING}`, example: '["node1", "node2", "node3"]' },
} as const;

type KnownKey = keyof typeof FIELDS;
const KNOWN_KEYS = Object.keys(FIELDS) as KnownKey[];
const CANONICAL_KEY = new Map<string, KnownKey>(KNOWN_KEYS.map((k) => [k.toLowerCase(), k]));

const mustBe = (key: KnownKey) => (iss: { input?: unknown }) =>
  iss.input === undefined ? `${key} is required` : `${key} must be ${FIELDS[key].expected}, got ${show(iss.input)}`;

// ── Coercions Hugo does (through its `cast` package) ────────────────────────

/** Numbers and booleans written where text is expected (`title: 2020`) become text. */
function scalarToString(v: unknown): unknown {
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : v;
}

const TRUE_WORDS = new Set(['true', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'off', '0']);
/** "true", "yes" (YAML 1.1), 1… become booleans; anything else is left to fail. */
function toBool(v: unknown): unknown {
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (TRUE_WORDS.has(s)) return true;
    if (FALSE_WORDS.has(s)) return false;
  }
  if (v === 1) return true;
  if (v === 0) return false;
  return v;
}

/** "3" becomes 3; "abc" and 1.5 are left to fail. */
function toInt(v: unknown): unknown {
  if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) return Number(v);
  return v;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Parses the date formats Hugo accepts in practice: 2020-06-14,
 * 2020-06-14T11:39:32, 2020-06-14T11:39:32+02:00, 2020-06-14 11:39:32Z…
 * Without a time zone a date is UTC (Hugo's default `timeZone`).
 * Returns undefined for anything else.
 */
export function parseHugoDate(s: string): Date | undefined {
  const m = DATE_RE.exec(s.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', sec = '00', frac = '', tz = 'Z'] = m;
  const zone = tz.toUpperCase() === 'Z' ? 'Z' : tz.length === 5 ? `${tz.slice(0, 3)}:${tz.slice(3)}` : tz;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${sec}${frac.slice(0, 4)}${zone}`);
  if (Number.isNaN(date.getTime())) return undefined;
  // Reject impossible calendar dates that Date would roll over (2020-02-31).
  if (date.getUTCDate() !== Number(d) && zone === 'Z') return undefined;
  return date;
}

function toDate(v: unknown): unknown {
  if (v instanceof Date) return new Date(v.getTime()); // also turns smol-toml's TomlDate into a plain Date
  if (typeof v === 'string') return parseHugoDate(v) ?? v;
  return v;
}

const text = (key: KnownKey) => z.preprocess(scalarToString, z.string({ error: mustBe(key) })).optional();
const bool = (key: KnownKey) => z.preprocess(toBool, z.boolean({ error: mustBe(key) })).optional();
const date = (key: KnownKey) =>
  z
    .preprocess(
      toDate,
      z.date({ error: mustBe(key) }).refine((d) => !Number.isNaN(d.getTime()), { error: mustBe(key) }),
    )
    .optional();

/**
 * The front matter object, without key normalisation: use this to `.extend()`
 * it. Validate with `hugoFrontMatterSchema`, which also matches keys without
 * regard to case and drops empty values, as Hugo does.
 */
export const hugoFrontMatterObject = z.looseObject({
  title: z.preprocess(
    scalarToString,
    z
      .string({ error: mustBe('title') })
      .trim()
      .min(1, { error: 'title must be non-empty text, got ""' }),
  ),
  linkTitle: text('linkTitle'),
  /** Learn/Relearn: the title in the menu, when it differs from linkTitle/title. */
  menuTitle: text('menuTitle'),
  description: text('description'),
  date: date('date'),
  publishDate: date('publishDate'),
  lastmod: date('lastmod'),
  draft: bool('draft'),
  weight: z.preprocess(toInt, z.number({ error: mustBe('weight') }).int({ error: mustBe('weight') })).optional(),
  slug: text('slug'),
  url: text('url'),
  aliases: z
    .preprocess(
      (v) => (typeof v === 'string' ? [v] : v),
      z.array(z.string({ error: (iss) => `each alias must be a path, got ${show(iss.input)}` }), { error: mustBe('aliases') }),
    )
    .optional(),
  /** Learn: the section is a chapter (shown as a chapter title page). */
  chapter: bool('chapter'),
  /** Learn/Relearn: not in the menu nor in prev/next, but still built. */
  hidden: bool('hidden'),
  /** Learn: HTML before the title in the menu, e.g. "<b>4. </b>". */
  pre: text('pre'),
  /**
   * Ours: the page's lab, several machines of the reader on a private network
   * (`machines: [node1, node2, node3]`). In a section's `_index.md` it is the
   * lab of every page under it that names none (page-lab.ts). Names follow
   * the server's rule for machine names (contracts/names.ts).
   */
  machines: z
    .preprocess(
      (v) => (typeof v === 'string' ? v.split(/[\s,]+/).filter(Boolean) : v),
      z
        .array(z.string({ error: mustBe('machines') }).regex(TERMINAL_NAME_PATTERN, { error: mustBe('machines') }), { error: mustBe('machines') })
        .min(1, { error: mustBe('machines') })
        .max(LAB_MACHINES_CEILING, { error: mustBe('machines') })
        .refine((names) => new Set(names).size === names.length, { error: mustBe('machines') }),
    )
    .optional(),
});

/**
 * Hugo-style key normalisation: `Title` → `title`, `linktitle` → `linkTitle`;
 * known keys with an empty (null) value are dropped. Other keys are kept as they are.
 */
export function normalizeFrontMatterKeys(data: unknown): unknown {
  if (data === null || typeof data !== 'object' || Array.isArray(data) || data instanceof Date) return data;
  const out: Record<string, unknown> = {};
  const entries = Object.entries(data as Record<string, unknown>);
  // Exact spellings first, so `title` wins over a second `Title`.
  for (const [key, value] of entries) {
    if (CANONICAL_KEY.get(key.toLowerCase()) === key) {
      if (value !== null) out[key] = value;
    }
  }
  for (const [key, value] of entries) {
    const canonical = CANONICAL_KEY.get(key.toLowerCase());
    if (canonical === key) continue;
    if (canonical === undefined) out[key] = value;
    else if (!(canonical in out) && value !== null) out[canonical] = value;
  }
  return out;
}

/** The Hugo front matter schema (zod). Use it as an Astro collection schema too. */
export const hugoFrontMatterSchema = z.preprocess(normalizeFrontMatterKeys, hugoFrontMatterObject);

export type HugoFrontMatter = z.infer<typeof hugoFrontMatterSchema>;

// ── Parsing ─────────────────────────────────────────────────────────────────

export interface ParsedFrontMatter {
  /** The front matter as parsed (not validated; TOML dates are plain Dates). */
  data: Record<string, unknown>;
  /** Everything after the closing delimiter. */
  body: string;
  format: FrontMatterFormat;
  /** 1-based line of `source` on which `body` starts. */
  bodyStartLine: number;
}

const DELIMITERS = { yaml: '---', toml: '+++' } as const;

/**
 * Splits a content file into front matter and body, and parses the front
 * matter (YAML between `---` lines, TOML between `+++` lines).
 * @param file the file as the author knows it, for error messages (e.g. "content/x.md").
 * @throws ContentError for an unclosed block or a syntax error, with its line.
 */
export function parseFrontMatter(source: string, file: string): ParsedFrontMatter {
  const src = source.startsWith('\uFEFF') ? source.slice(1) : source;
  const lines = src.split('\n');
  const first = (lines[0] ?? '').replace(/\r$/, '').trimEnd();
  const format: FrontMatterFormat | undefined = first === '---' ? 'yaml' : first === '+++' ? 'toml' : undefined;
  if (format === undefined) return { data: {}, body: src, format: 'none', bodyStartLine: 1 };

  const delimiter = DELIMITERS[format];
  let close = -1;
  for (let i = 1; i < lines.length; i++) {
    if ((lines[i] ?? '').replace(/\r$/, '').trimEnd() === delimiter) {
      close = i;
      break;
    }
  }
  if (close === -1) {
    throw new ContentError({
      file,
      line: 1,
      reason: `the front matter opened with ${delimiter} on line 1 is never closed`,
      hint: `add a line with only ${delimiter} after the last front matter line`,
    });
  }
  const text = lines
    .slice(1, close)
    .map((l) => l.replace(/\r$/, ''))
    .join('\n');
  const body = lines.slice(close + 1).join('\n');
  const data = format === 'yaml' ? parseYaml(text, file) : parseTomlBlock(text, file);
  return { data, body, format, bodyStartLine: close + 2 };
}

function parseYaml(text: string, file: string): Record<string, unknown> {
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    throw new ContentError({
      file,
      line: pos ? pos.line + 1 : 1,
      column: pos?.col,
      reason: `the YAML front matter is not valid: ${firstLine(err.message)}`,
      hint: 'write one "key: value" per line, and put quotes around values that contain ": " or start with a special character such as [ { * & ! | > \' " % @ `',
    });
  }
  const data: unknown = doc.toJS();
  return asMapping(data, file, 'YAML', 'title: "Mon titre"');
}

function parseTomlBlock(text: string, file: string): Record<string, unknown> {
  try {
    return asMapping(plainDates(parseToml(text)), file, 'TOML', 'title = "Mon titre"');
  } catch (e) {
    if (e instanceof TomlError) {
      throw new ContentError({
        file,
        line: e.line + 1,
        column: e.column,
        reason: `the TOML front matter is not valid: ${firstLine(e.message)}`,
        hint: 'write one key = value per line, with text in double quotes (title = "Mon titre") and dates bare (date = 2020-06-14)',
        cause: e,
      });
    }
    throw e;
  }
}

/** smol-toml's TomlDate (which prints with its offset) → plain Date, deeply. */
function plainDates(v: unknown): unknown {
  if (v instanceof Date) return new Date(v.getTime());
  if (Array.isArray(v)) return v.map(plainDates);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainDates(x)]));
  return v;
}

function asMapping(data: unknown, file: string, lang: string, example: string): Record<string, unknown> {
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ContentError({
      file,
      line: 2,
      reason: `the ${lang} front matter must be a set of keys and values, got ${show(data)}`,
      hint: `write one key per line, e.g. ${example}`,
    });
  }
  return data as Record<string, unknown>;
}

/** The first line of a parser's message, without its own position (relative to the front matter, not the file). */
function firstLine(s: string): string {
  return (s.split('\n')[0] ?? s).replace(/\s*at line \d+,? column \d+:?\s*$/i, '').replace(/[.:]\s*$/, '');
}

// ── Validation ──────────────────────────────────────────────────────────────

/**
 * Validates parsed front matter against `hugoFrontMatterSchema`.
 * @param source the whole file, when known: used to find the offending key's
 *   line and to write the fix in the file's own syntax (YAML or TOML).
 * @throws ContentError naming the file, the line, what was given, what is allowed and the fix.
 */
export function validateFrontMatter(data: unknown, file: string, source?: string): HugoFrontMatter {
  const result = hugoFrontMatterSchema.safeParse(data);
  if (result.success) return result.data;

  const issue = result.error.issues[0]!;
  const format: FrontMatterFormat = source ? detectFormat(source) : 'yaml';
  const key = typeof issue.path[0] === 'string' ? issue.path[0] : undefined;
  const normalized = normalizeFrontMatterKeys(data) as Record<string, unknown> | undefined;
  const given = key !== undefined && normalized && typeof normalized === 'object' ? valueAt(normalized, issue.path) : data;
  const known = key !== undefined && Object.hasOwn(FIELDS, key) ? (key as KnownKey) : undefined;
  const assign = format === 'toml' ? ' = ' : ': ';

  if (key === undefined || typeof normalized !== 'object' || normalized === null) {
    throw new ContentError({
      file,
      line: 1,
      reason: `the front matter must be a set of keys and values, got ${show(data)}`,
      hint: `start the file with ---, then title: "Mon titre", then ---`,
    });
  }

  const line = source ? findKeyLine(source, key, format) : undefined;
  if (known === 'title' && given === undefined) {
    const reason = format === 'none' && source !== undefined ? 'title is required, but the file has no front matter' : 'title is required, got nothing';
    const hint =
      format === 'none' && source !== undefined
        ? 'start the file with three lines: ---, title: "Mon titre", ---'
        : `add a line title${assign}${FIELDS.title.example} to the front matter`;
    throw new ContentError({ file, line: line ?? 1, reason, hint });
  }

  const reason = known
    ? issue.path.length > 1
      ? `${key} must be ${FIELDS[known].expected}, but item ${Number(issue.path[1]) + 1} is ${show(given)}`
      : `${key} must be ${FIELDS[known].expected}, got ${show(given)}`
    : `${key}: ${issue.message}`;
  const hint = known ? `write ${displayKey(source, key, format)}${assign}${FIELDS[known].example}` : undefined;
  throw new ContentError({ file, line: line ?? 1, reason, hint });
}

/** parseFrontMatter + validateFrontMatter. */
export function parseHugoPage(source: string, file: string): { frontMatter: HugoFrontMatter; body: string; format: FrontMatterFormat; bodyStartLine: number } {
  const { data, body, format, bodyStartLine } = parseFrontMatter(source, file);
  return { frontMatter: validateFrontMatter(data, file, source), body, format, bodyStartLine };
}

function valueAt(data: Record<string, unknown>, path: readonly PropertyKey[]): unknown {
  let v: unknown = data;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function detectFormat(source: string): FrontMatterFormat {
  const first = source
    .replace(/^\uFEFF/, '')
    .split('\n', 1)[0]
    ?.trimEnd();
  return first === '---' ? 'yaml' : first === '+++' ? 'toml' : 'none';
}

/** The front matter lines (1-based numbers) of a source, or [] without front matter. */
function frontMatterLines(source: string, format: FrontMatterFormat): Array<{ n: number; text: string }> {
  if (format === 'none') return [];
  const lines = source.replace(/^\uFEFF/, '').split('\n');
  const delimiter = DELIMITERS[format];
  const out: Array<{ n: number; text: string }> = [];
  for (let i = 1; i < lines.length; i++) {
    const text = (lines[i] ?? '').replace(/\r$/, '');
    if (text.trimEnd() === delimiter) break;
    out.push({ n: i + 1, text });
  }
  return out;
}

function keyLineRe(key: string, format: FrontMatterFormat): RegExp {
  const k = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^(\\s*)(["']?)(${k})\\2\\s*${format === 'toml' ? '=' : ':'}`, 'i');
}

/** Line of a top-level key in the front matter (matched without regard to case), if found. */
function findKeyLine(source: string, key: string, format: FrontMatterFormat): number | undefined {
  const re = keyLineRe(key, format);
  let best: { n: number; indent: number } | undefined;
  for (const { n, text } of frontMatterLines(source, format)) {
    if (format === 'toml' && /^\s*\[/.test(text)) break; // top-level keys come before the first [table]
    const m = re.exec(text);
    if (m && (best === undefined || m[1]!.length < best.indent)) best = { n, indent: m[1]!.length };
  }
  return best?.n;
}

/** The key as the author spelled it (e.g. `Weight`), for the fix. */
function displayKey(source: string | undefined, key: string, format: FrontMatterFormat): string {
  if (!source) return key;
  const re = keyLineRe(key, format);
  for (const { text } of frontMatterLines(source, format)) {
    const m = re.exec(text);
    if (m) return m[3]!;
  }
  return key;
}
