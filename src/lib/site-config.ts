// The site's whole configuration, read once from environment variables and
// validated here so that astro.config.mjs, the content collection and the
// pages all agree. Tests build fixture sites by setting these variables.
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ContentError } from './hugo/errors.ts';
import { findRenderHooks, readHugoSiteConfig, type HugoSiteConfig } from './hugo/site-config-file.ts';

/** The repository root: relative paths in the variables are resolved against it. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const BOOLEAN_WORDS: Record<string, boolean> = {
  '1': true,
  true: true,
  yes: true,
  on: true,
  '0': false,
  false: false,
  no: false,
  off: false,
  '': false,
};

/** Every variable the site reads, with its documentation (shown in errors). */
export const SITE_ENV_VARS = {
  COURSE_SITE_DIR: 'root folder of the Hugo site: its config.toml/hugo.toml/config.yaml (or config/_default/), content/ and static/ (default: this repository)',
  COURSE_CONTENT_DIR: "folder of the Hugo content tree (default: the site's contentDir, content/)",
  COURSE_BASE_PATH: "URL path the site is served under, e.g. /tp-iut-docker/ (default: the path of the site's baseURL, else /)",
  COURSE_BUILD_DRAFTS: 'true to publish pages whose front matter says draft = true (default: false)',
  COURSE_SANDBOX_URL:
    'http(s) URL of the sandbox server the runnable snippets talk to, when it is on another origin than the site (default: the server that serves the page, under the base path)',
  COURSE_DEV_SANDBOX_URL:
    "in `npm run dev` only: http(s) URL of the sandbox server the preview forwards « Exécuter » to, under the page's own origin (default: http://127.0.0.1:8080)",
  COURSE_OUT_DIR: 'folder the built site is written to (default: dist/)',
  COURSE_MACHINE:
    "which machines Exécuter uses: auto (the sandbox server; a machine in the reader's browser when none answers), browser (static hosting: only the browser machine, no server asked), server (never a browser machine, none shipped) (default: auto)",
} as const;

type SiteEnvVar = keyof typeof SITE_ENV_VARS;

function directory(variable: SiteEnvVar, fallback: string) {
  return z
    .string()
    .optional()
    .transform((value) => resolve(PROJECT_ROOT, value === undefined || value === '' ? fallback : value))
    .superRefine((path, ctx) => {
      if (!existsSync(path) || !statSync(path).isDirectory()) {
        ctx.addIssue({
          code: 'custom',
          message: `${variable}=${path}: no such directory. Point it at an existing folder (${SITE_ENV_VARS[variable]}), or unset it.`,
        });
      }
    });
}

const basePath = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value === '' ? undefined : value))
  .superRefine((value, ctx) => {
    if (value === undefined) return;
    if (!value.startsWith('/') || /[?#\s\\]/.test(value) || value.includes('//')) {
      ctx.addIssue({
        code: 'custom',
        message: `COURSE_BASE_PATH=${JSON.stringify(value)}: must be a URL path starting with "/", without spaces, "?", "#" or "//" (e.g. /tp-iut-docker/), or unset for /.`,
      });
    }
  })
  // One spelling everywhere: leading and trailing slash, like Hugo's baseURL path.
  .transform((value) => (value === undefined || value.endsWith('/') ? value : `${value}/`));

const buildDrafts = z
  .string()
  .optional()
  .superRefine((value, ctx) => {
    if (value !== undefined && !(value.trim().toLowerCase() in BOOLEAN_WORDS)) {
      ctx.addIssue({
        code: 'custom',
        message: `COURSE_BUILD_DRAFTS=${JSON.stringify(value)}: expected true or false (also 1/0, yes/no, on/off), or unset for false.`,
      });
    }
  })
  .transform((value) => (value === undefined ? false : BOOLEAN_WORDS[value.trim().toLowerCase()] === true));

const httpUrl = (variable: SiteEnvVar, unset: string) =>
  z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      if (value === undefined || value === '') return;
      let url: URL | undefined;
      try {
        url = new URL(value);
      } catch {
        url = undefined;
      }
      if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
        ctx.addIssue({
          code: 'custom',
          message: `${variable}=${JSON.stringify(value)}: expected an http:// or https:// URL such as http://127.0.0.1:8080, or unset it ${unset}.`,
        });
      }
    })
    .transform((value) => (value === undefined || value === '' ? undefined : value.replace(/\/+$/, '')));

const sandboxUrl = httpUrl('COURSE_SANDBOX_URL', 'to use the server that serves the page');
const devSandboxUrl = httpUrl('COURSE_DEV_SANDBOX_URL', 'to use http://127.0.0.1:8080');

const outDir = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value === '' ? resolve(PROJECT_ROOT, 'dist') : resolve(PROJECT_ROOT, value)))
  .superRefine((path, ctx) => {
    if (!isAbsolute(path) || path === PROJECT_ROOT) {
      ctx.addIssue({ code: 'custom', message: `COURSE_OUT_DIR=${path}: must be a folder other than the project root.` });
    }
  });

const optionalDirectory = (variable: SiteEnvVar) =>
  z
    .string()
    .optional()
    .transform((value) => (value === undefined || value === '' ? undefined : resolve(PROJECT_ROOT, value)))
    .superRefine((path, ctx) => {
      if (path !== undefined && (!existsSync(path) || !statSync(path).isDirectory())) {
        ctx.addIssue({
          code: 'custom',
          message: `${variable}=${path}: no such directory. Point it at an existing folder (${SITE_ENV_VARS[variable]}), or unset it.`,
        });
      }
    });

export const MACHINE_MODES = ['auto', 'browser', 'server'] as const;

const machine = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value === '' ? 'auto' : value.trim().toLowerCase()))
  .superRefine((value, ctx) => {
    if (!(MACHINE_MODES as readonly string[]).includes(value)) {
      ctx.addIssue({ code: 'custom', message: `COURSE_MACHINE=${JSON.stringify(value)}: expected auto, browser or server (${SITE_ENV_VARS.COURSE_MACHINE}).` });
    }
  })
  .transform((value) => value as (typeof MACHINE_MODES)[number]);

const siteEnvSchema = z.object({
  COURSE_SITE_DIR: directory('COURSE_SITE_DIR', '.'),
  COURSE_CONTENT_DIR: optionalDirectory('COURSE_CONTENT_DIR'),
  COURSE_BASE_PATH: basePath,
  COURSE_BUILD_DRAFTS: buildDrafts,
  COURSE_SANDBOX_URL: sandboxUrl,
  COURSE_DEV_SANDBOX_URL: devSandboxUrl,
  COURSE_OUT_DIR: outDir,
  COURSE_MACHINE: machine,
});

export interface SiteConfig {
  /** Absolute path of the repository (Astro's root). */
  projectRoot: string;
  /** Absolute path of the Hugo site's root (COURSE_SITE_DIR). */
  siteDir: string;
  /** Absolute path of the Hugo content tree. */
  contentDir: string;
  /** Absolute path of the site's static/ folder, copied to the site root (it may not exist). */
  staticDir: string;
  /** What the site's Hugo configuration says (title, params, shortcuts…). */
  hugo: HugoSiteConfig;
  /** Markdown render hooks found in layouts/ (Go templates we do not run), relative to the site root. */
  renderHooks: string[];
  /** Always starts and ends with "/". */
  basePath: string;
  buildDrafts: boolean;
  /** Without trailing slash; undefined: the sandbox server is the one serving the page (same origin). */
  sandboxUrl: string | undefined;
  /** `npm run dev`: the sandbox server the preview forwards its API requests to (dev-sandbox-proxy.ts); without trailing slash. */
  devSandboxUrl: string;
  /** Absolute path of the build output. */
  outDir: string;
  /** Which machines Exécuter uses (COURSE_MACHINE). */
  machine: (typeof MACHINE_MODES)[number];
}

export class SiteConfigError extends Error {
  override name = 'SiteConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid site configuration (environment variables):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

/** Reads and validates the site configuration; throws SiteConfigError naming each bad variable and its fix. */
export function loadSiteConfig(env: Record<string, string | undefined> = process.env): SiteConfig {
  const picked = Object.fromEntries(Object.keys(SITE_ENV_VARS).map((name) => [name, env[name]]));
  const result = siteEnvSchema.safeParse(picked);
  if (!result.success) {
    throw new SiteConfigError(result.error.issues.map((issue) => issue.message));
  }
  const value = result.data;
  const siteDir = value.COURSE_SITE_DIR;
  let hugo: HugoSiteConfig;
  try {
    hugo = readHugoSiteConfig(siteDir);
  } catch (error) {
    if (!(error instanceof ContentError)) throw error;
    // Name the file as the author finds it from here (relative to the repository when inside it).
    const where = relative(PROJECT_ROOT, join(siteDir, error.file));
    throw new ContentError({ file: where.startsWith('..') ? join(siteDir, error.file) : where, line: error.line, reason: error.reason, hint: error.hint });
  }
  const contentDir = value.COURSE_CONTENT_DIR ?? resolve(siteDir, hugo.contentDir);
  if (!existsSync(contentDir) || !statSync(contentDir).isDirectory()) {
    throw new SiteConfigError([
      `COURSE_SITE_DIR=${siteDir}: it has no content folder ${hugo.contentDir}/. Point COURSE_SITE_DIR at the root of a Hugo site (the folder holding config.toml and content/), or set COURSE_CONTENT_DIR.`,
    ]);
  }
  return {
    projectRoot: PROJECT_ROOT,
    siteDir,
    contentDir,
    staticDir: resolve(siteDir, hugo.staticDir),
    hugo,
    renderHooks: findRenderHooks(siteDir),
    basePath: value.COURSE_BASE_PATH ?? hugo.baseURLPath,
    buildDrafts: value.COURSE_BUILD_DRAFTS,
    sandboxUrl: value.COURSE_SANDBOX_URL,
    devSandboxUrl: value.COURSE_DEV_SANDBOX_URL ?? 'http://127.0.0.1:8080',
    outDir: value.COURSE_OUT_DIR,
    machine: value.COURSE_MACHINE,
  };
}

/** Replaced at build time by astro.config.mjs (Vite `define`) with the configuration it loaded. */
declare const __COURSE_SITE_CONFIG__: SiteConfig | undefined;

/**
 * The configuration of the build in progress, for code that Astro bundles
 * (pages, content config): there import.meta.url no longer points into src/,
 * so the configuration loaded by astro.config.mjs is handed over as a constant.
 */
export function currentSiteConfig(): SiteConfig {
  return typeof __COURSE_SITE_CONFIG__ === 'object' && __COURSE_SITE_CONFIG__ !== null ? __COURSE_SITE_CONFIG__ : loadSiteConfig();
}
