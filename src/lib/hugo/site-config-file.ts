/**
 * A Hugo site's own configuration (config.toml, hugo.toml, config.yaml,
 * hugo.yaml, *.json, or the config/_default/ folder), read with one zod
 * schema: the keys a course uses and that change what a reader sees.
 *
 * As Hugo does: keys are matched without regard to case (`baseURL` is
 * `baseurl`), hugo.* wins over config.*, config/_default/params.toml is the
 * `params` table and menus.toml the `menu` table, and every key we do not
 * know is ignored. A known key with a wrong value fails the build with the
 * file, the key and the fix.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import YAML from 'yaml';
import { z } from 'zod';
import { ContentError, show } from './errors.ts';

/** Root config files, in Hugo's order of preference. */
const ROOT_FILES = ['hugo.toml', 'hugo.yaml', 'hugo.yml', 'hugo.json', 'config.toml', 'config.yaml', 'config.yml', 'config.json'];
/** Files of config/_default/ that hold one top-level key (params.toml is `params`…). */
const KEY_FILES: Record<string, string> = { params: 'params', menus: 'menu', menu: 'menu', languages: 'languages', markup: 'markup' };

/** One entry of `[[menu.shortcuts]]`: Learn's links under the chapters. */
export interface MenuShortcut {
  name: string;
  url: string;
  /** Raw HTML before the name (Learn writes an icon there). */
  pre: string;
  post: string;
  weight: number;
}

/** What we take from the Hugo configuration (all optional in the file). */
export interface HugoSiteConfig {
  /** The file it came from, relative to the site root ("" when the site has none). */
  file: string;
  title: string | undefined;
  baseURL: string | undefined;
  /** The path of baseURL, "/" when absent: the default base path. */
  baseURLPath: string;
  languageCode: string | undefined;
  defaultContentLanguage: string;
  /** Hugo's contentDir and staticDir (relative to the site root). */
  contentDir: string;
  staticDir: string;
  disablePathToLower: boolean;
  /** Every language of a multilingual site ([languages.xx]); [] for a one-language site. */
  languages: string[];
  /** defaultContentLanguageInSubdir. */
  defaultContentLanguageInSubdir: boolean;
  params: LearnParams;
  shortcuts: MenuShortcut[];
  /** What it was read from (files and texts), as siteConfigSourcesDigest() gives it: another value, another configuration. */
  sourcesDigest: string;
}

/** Learn and Relearn parameters that change what a reader sees. */
export interface LearnParams {
  author: string | undefined;
  description: string | undefined;
  /** Learn: a link "Modifier cette page" is this + the content path. */
  editURL: string | undefined;
  showVisitedLinks: boolean;
  disableNextPrev: boolean;
  disableBreadcrumb: boolean;
  disableSearch: boolean;
  /** Learn's sidebar order: by weight (Hugo's default) or by title. */
  ordersectionsby: 'weight' | 'title';
  /** Relearn's / Learn's colour variant, mapped onto our light/dark: "auto" follows the reader's system. */
  themeVariant: 'auto' | 'light' | 'dark';
  /** Relearn: "_blank" opens external links in a new tab (our equivalent of a render-link hook). */
  externalLinkTarget: string | undefined;
  /** Every param as written (lower-cased keys), for {{< siteparam >}}. */
  all: Record<string, unknown>;
}

const boolish = z.preprocess((v) => (typeof v === 'string' && /^(true|false)$/i.test(v.trim()) ? v.trim().toLowerCase() === 'true' : v), z.boolean());
const text = z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string());

/** Learn's theme variants that are dark; every other name we map to light. */
const DARK_VARIANTS = /dark|neon|night|black|zen-dark|relearn-dark/i;

const shortcutSchema = z.looseObject({
  name: text,
  url: text.optional(),
  pageref: text.optional(),
  pre: text.optional(),
  post: text.optional(),
  weight: z.preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v), z.number().int()).optional(),
});

const paramsSchema = z.looseObject({
  author: z.union([text, z.looseObject({ name: text.optional() })]).optional(),
  description: text.optional(),
  editurl: text.optional(),
  showvisitedlinks: boolish.optional(),
  disablenextprev: boolish.optional(),
  disablebreadcrumb: boolish.optional(),
  disablesearch: boolish.optional(),
  ordersectionsby: z.enum(['weight', 'title']).optional(),
  themevariant: z.union([text, z.array(z.union([text, z.looseObject({ identifier: text.optional(), name: text.optional() })]))]).optional(),
  externallinktarget: text.optional(),
});

const configSchema = z.looseObject({
  title: text.optional(),
  baseurl: z
    .string()
    .refine((v) => v === '' || v.startsWith('/') || URL.canParse(v), 'must be a URL such as "https://cours.example/tp-linux/" or a path such as "/tp-linux/"')
    .optional(),
  languagecode: text.optional(),
  defaultcontentlanguage: text.optional(),
  contentdir: text.optional(),
  staticdir: z.union([text, z.array(text).min(1)]).optional(),
  disablepathtolower: boolish.optional(),
  defaultcontentlanguageinsubdir: boolish.optional(),
  languages: z.record(z.string(), z.looseObject({})).optional(),
  params: paramsSchema.optional(),
  menu: z.looseObject({ shortcuts: z.array(shortcutSchema).optional() }).optional(),
});

/** What to write for each known key, for the fix of an error. */
const EXAMPLES: Record<string, string> = {
  title: 'title = "Mon cours"',
  baseurl: 'baseURL = "https://cours.example/tp-linux/"',
  languagecode: 'languageCode = "fr-fr"',
  defaultcontentlanguage: 'defaultContentLanguage = "fr"',
  contentdir: 'contentDir = "content"',
  staticdir: 'staticDir = "static"',
  disablepathtolower: 'disablePathToLower = true',
  'params.author': '[params] author = "Prénom Nom"',
  'params.editurl': '[params] editURL = "https://forge.example/cours/edit/main/content/"',
  'params.showvisitedlinks': '[params] showVisitedLinks = true',
  'params.disablenextprev': '[params] disableNextPrev = true',
  'params.disablebreadcrumb': '[params] disableBreadcrumb = true',
  'params.disablesearch': '[params] disableSearch = true',
  'params.ordersectionsby': '[params] ordersectionsby = "weight"   (or "title")',
  'params.themevariant': '[params] themeVariant = "auto"',
  'params.externallinktarget': '[params] externalLinkTarget = "_blank"',
  'menu.shortcuts': '[[menu.shortcuts]] name = "Dépôt" url = "https://forge.example/cours" weight = 10',
};

/** Lower-cases every key, recursively, as Hugo matches keys without regard to case. */
function lowerKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(lowerKeys);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), lowerKeys(v)]));
  }
  return value;
}

/** One file the configuration is read from, with its text as read. */
interface ConfigSource {
  path: string;
  /** Relative to the site root, for messages. */
  shown: string;
  text: string;
  /** The root file (hugo.toml, config.toml…), not one of config/_default/. */
  root: boolean;
}

/** The files the configuration is read from now, in the order they apply (the root file, then config/_default/), each read once. */
function configSources(siteDir: string): ConfigSource[] {
  const source = (path: string, root: boolean): ConfigSource => ({ path, shown: relative(siteDir, path) || path, text: readFileSync(path, 'utf8'), root });
  const rootFile = ROOT_FILES.map((f) => join(siteDir, f)).find((p) => existsSync(p));
  const sources = rootFile ? [source(rootFile, true)] : [];
  const defaults = join(siteDir, 'config', '_default');
  if (existsSync(defaults) && statSync(defaults).isDirectory()) {
    const files = readdirSync(defaults)
      .filter((f) => /\.(toml|ya?ml|json)$/.test(f))
      .sort();
    // hugo.* / config.* first, then the one-key files over them.
    files.sort((x, y) => Number(/^(hugo|config)\./.test(y)) - Number(/^(hugo|config)\./.test(x)));
    for (const f of files) sources.push(source(join(defaults, f), false));
  }
  return sources;
}

function digestOf(sources: readonly ConfigSource[]): string {
  const hash = createHash('sha256');
  for (const { shown, text } of sources) hash.update(`${shown}\0${text}\0`);
  return hash.digest('hex').slice(0, 32);
}

/**
 * A digest of what the site's configuration would be read from now (which files, their texts): the dev
 * server compares it with the one its configuration was read from (HugoSiteConfig.sourcesDigest).
 */
export function siteConfigSourcesDigest(siteDir: string): string {
  return digestOf(configSources(siteDir));
}

function parseFile({ path, shown, text: source }: ConfigSource): Record<string, unknown> {
  try {
    const data: unknown = path.endsWith('.toml') ? parseToml(source) : path.endsWith('.json') ? JSON.parse(source) : YAML.parse(source);
    if (data === null || data === undefined) return {};
    if (typeof data !== 'object' || Array.isArray(data)) throw new Error('the file is not a table of keys');
    return lowerKeys(data) as Record<string, unknown>;
  } catch (error) {
    const line = /line (\d+)/i.exec(String((error as Error).message))?.[1];
    throw new ContentError({
      file: shown,
      line: line === undefined ? undefined : Number(line),
      reason: `Hugo's configuration cannot be read: ${(error as Error).message.split('\n')[0]}`,
      hint: 'fix the syntax (hugo would refuse it too); `hugo config` shows what Hugo reads',
    });
  }
}

/** Merges b into a, deeply (config/_default files into the root table). */
function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      prev && v && typeof prev === 'object' && typeof v === 'object' && !Array.isArray(prev) && !Array.isArray(v)
        ? merge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** The tree's view of the site's languages (content-tree-types.ts), undefined for a one-language site. */
export function contentLanguages(c: HugoSiteConfig): { defaultLanguage: string; codes: string[]; inSubdir: boolean } | undefined {
  if (c.languages.length === 0) return undefined;
  return { defaultLanguage: c.defaultContentLanguage, codes: c.languages, inSubdir: c.defaultContentLanguageInSubdir };
}

/** Reads the raw configuration of the site at `siteDir`; `{}` when it has none. */
function readRawConfig(siteDir: string): { raw: Record<string, unknown>; file: string; sourcesDigest: string } {
  const sources = configSources(siteDir);
  let raw: Record<string, unknown> = {};
  let file = '';
  for (const source of sources) {
    const data = parseFile(source);
    if (source.root) raw = data;
    else {
      const base = basename(source.path)
        .replace(/\.(toml|ya?ml|json)$/, '')
        .toLowerCase();
      if (base === 'hugo' || base === 'config') raw = merge(raw, data);
      else if (KEY_FILES[base]) raw = merge(raw, { [KEY_FILES[base]]: data });
    }
    file ||= source.shown;
  }
  // Hugo accepts both `menu` and `menus`.
  if (raw.menus && !raw.menu) raw.menu = raw.menus;
  return { raw, file, sourcesDigest: digestOf(sources) };
}

/** The path of a baseURL, with leading and trailing slash ("/" when none). */
export function baseURLPath(baseURL: string | undefined): string {
  if (!baseURL) return '/';
  const path = baseURL.startsWith('/') ? baseURL : new URL(baseURL).pathname;
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '/' : `/${trimmed}/`;
}

function variantOf(v: unknown): LearnParams['themeVariant'] {
  const first = Array.isArray(v) ? v[0] : v;
  const name =
    typeof first === 'string' ? first : typeof first === 'object' && first !== null ? String((first as { identifier?: string }).identifier ?? '') : '';
  if (name === '' || /auto/i.test(name)) return 'auto';
  return DARK_VARIANTS.test(name) ? 'dark' : 'light';
}

/**
 * Reads and validates the Hugo configuration of the site at `siteDir`.
 * @throws ContentError naming the file, the key, what was given and the fix.
 */
export function readHugoSiteConfig(siteDir: string): HugoSiteConfig {
  const read = readRawConfig(siteDir);
  const { file, sourcesDigest } = read;
  let raw = read.raw;
  // A multilingual site: the default language's own table (title, params, menu…) overrides the root, as in Hugo.
  const defaultLanguage = String(raw.defaultcontentlanguage ?? 'en').toLowerCase();
  const own = (raw.languages as Record<string, unknown> | undefined)?.[defaultLanguage];
  if (own && typeof own === 'object') raw = merge(raw, own as Record<string, unknown>);
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = issue.path.filter((p) => typeof p === 'string').join('.');
    let given: unknown = raw;
    for (const p of issue.path) given = (given as Record<string | number, unknown> | undefined)?.[p as string];
    throw new ContentError({
      file: file || 'config.toml',
      reason: `the key ${issue.path.join('.')} ${issue.message.startsWith('must') ? issue.message : `is invalid (${issue.message})`}, got ${show(given)}`,
      hint: `write it as ${EXAMPLES[key] ?? EXAMPLES[key.split('.').slice(0, 2).join('.')] ?? 'Hugo documents it'}, or remove it`,
    });
  }
  const c = result.data;
  const p = c.params ?? {};
  const author = typeof p.author === 'string' ? p.author : p.author?.name;
  const shortcuts = (c.menu?.shortcuts ?? [])
    .map((s) => ({ name: s.name, url: s.url ?? s.pageref ?? '', pre: s.pre ?? '', post: s.post ?? '', weight: s.weight ?? 0 }))
    .sort((a, b) => (a.weight || Infinity) - (b.weight || Infinity) || a.name.localeCompare(b.name));
  const staticDir = Array.isArray(c.staticdir) ? c.staticdir[0]! : (c.staticdir ?? 'static');
  return {
    file,
    title: c.title,
    baseURL: c.baseurl,
    baseURLPath: baseURLPath(c.baseurl),
    languageCode: c.languagecode,
    defaultContentLanguage: (c.defaultcontentlanguage ?? 'en').toLowerCase(),
    contentDir: c.contentdir ?? 'content',
    staticDir,
    disablePathToLower: c.disablepathtolower ?? false,
    languages: Object.keys(c.languages ?? {}).map((l) => l.toLowerCase()),
    defaultContentLanguageInSubdir: c.defaultcontentlanguageinsubdir ?? false,
    shortcuts,
    params: {
      author,
      description: p.description,
      editURL: p.editurl,
      showVisitedLinks: p.showvisitedlinks ?? false,
      disableNextPrev: p.disablenextprev ?? false,
      disableBreadcrumb: p.disablebreadcrumb ?? false,
      disableSearch: p.disablesearch ?? false,
      ordersectionsby: p.ordersectionsby ?? 'weight',
      themeVariant: variantOf(p.themevariant),
      externalLinkTarget: p.externallinktarget,
      all: p as Record<string, unknown>,
    },
    sourcesDigest,
  };
}

/** Markdown render hooks of the site (Go templates we cannot run), relative to the site root. */
export function findRenderHooks(siteDir: string): string[] {
  const found: string[] = [];
  const dirs = [join(siteDir, 'layouts', '_default', '_markup'), join(siteDir, 'layouts', '_markup')];
  const themes = join(siteDir, 'themes');
  if (existsSync(themes))
    for (const t of readdirSync(themes)) dirs.push(join(themes, t, 'layouts', '_default', '_markup'), join(themes, t, 'layouts', '_markup'));
  for (const d of dirs) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) if (/^render-.*\.html$/.test(f)) found.push(relative(siteDir, join(d, f)));
  }
  return found;
}
