// The site's whole configuration, read once from environment variables and
// validated here so that astro.config.mjs, the content collection and the
// pages all agree. Tests build fixture sites by setting these variables.
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The repository root: relative paths in the variables are resolved against it. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const BOOLEAN_WORDS: Record<string, boolean> = {
  '1': true, true: true, yes: true, on: true,
  '0': false, false: false, no: false, off: false, '': false,
};

/** Every variable the site reads, with its documentation (shown in errors). */
export const SITE_ENV_VARS = {
  COURSE_CONTENT_DIR: 'folder of the Hugo content tree (default: content/)',
  COURSE_BASE_PATH: 'URL path the site is served under, e.g. /tp-iut-docker/ (default: /)',
  COURSE_BUILD_DRAFTS: 'true to publish pages whose front matter says draft = true (default: false)',
  COURSE_SANDBOX_URL: 'http(s) URL of the sandbox server the runnable snippets talk to, when it is on another origin than the site (default: the server that serves the page, under the base path)',
  COURSE_OUT_DIR: 'folder the built site is written to (default: dist/)',
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
  .transform((value) => (value === undefined || value === '' ? '/' : value))
  .superRefine((value, ctx) => {
    if (!value.startsWith('/') || /[?#\s\\]/.test(value) || value.includes('//')) {
      ctx.addIssue({
        code: 'custom',
        message: `COURSE_BASE_PATH=${JSON.stringify(value)}: must be a URL path starting with "/", without spaces, "?", "#" or "//" (e.g. /tp-iut-docker/), or unset for /.`,
      });
    }
  })
  // One spelling everywhere: leading and trailing slash, like Hugo's baseURL path.
  .transform((value) => (value.endsWith('/') ? value : `${value}/`));

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

const sandboxUrl = z
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
        message: `COURSE_SANDBOX_URL=${JSON.stringify(value)}: expected an http:// or https:// URL such as http://127.0.0.1:8080, or unset it to use the server that serves the page.`,
      });
    }
  })
  .transform((value) => (value === undefined || value === '' ? undefined : value.replace(/\/+$/, '')));

const outDir = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value === '' ? resolve(PROJECT_ROOT, 'dist') : resolve(PROJECT_ROOT, value)))
  .superRefine((path, ctx) => {
    if (!isAbsolute(path) || path === PROJECT_ROOT) {
      ctx.addIssue({ code: 'custom', message: `COURSE_OUT_DIR=${path}: must be a folder other than the project root.` });
    }
  });

const siteEnvSchema = z.object({
  COURSE_CONTENT_DIR: directory('COURSE_CONTENT_DIR', 'content'),
  COURSE_BASE_PATH: basePath,
  COURSE_BUILD_DRAFTS: buildDrafts,
  COURSE_SANDBOX_URL: sandboxUrl,
  COURSE_OUT_DIR: outDir,
});

export interface SiteConfig {
  /** Absolute path of the repository (Astro's root). */
  projectRoot: string;
  /** Absolute path of the Hugo content tree. */
  contentDir: string;
  /** Always starts and ends with "/". */
  basePath: string;
  buildDrafts: boolean;
  /** Without trailing slash; undefined: the sandbox server is the one serving the page (same origin). */
  sandboxUrl: string | undefined;
  /** Absolute path of the build output. */
  outDir: string;
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
  return {
    projectRoot: PROJECT_ROOT,
    contentDir: value.COURSE_CONTENT_DIR,
    basePath: value.COURSE_BASE_PATH,
    buildDrafts: value.COURSE_BUILD_DRAFTS,
    sandboxUrl: value.COURSE_SANDBOX_URL,
    outDir: value.COURSE_OUT_DIR,
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
