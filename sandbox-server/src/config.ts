// The server's whole configuration: one zod schema, read once at start from
// the environment and, optionally, a JSON file named by SANDBOX_CONFIG
// (environment variables win over the file). Every field says what it does;
// every error names the variable, the value given and how to fix it.
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';

// ───────────────────────── value parsers shared by several fields ─────────────────────────

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** "500ms", "30s", "15m", "2h" → milliseconds; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/i.exec(text);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * DURATION_UNITS_MS[match[2]!.toLowerCase()]!);
}

/** "256MiB", "1G", "4096" → bytes; undefined when not a size. */
export function parseSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = SIZE_UNITS[match[2]!.toLowerCase()];
  return unit === undefined ? undefined : Math.round(Number(match[1]) * unit);
}

const integer = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v),
    z
      .int({ error: `expected an integer from ${min} to ${max}` })
      .min(min)
      .max(max),
  );

const decimal = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v),
    z
      .number({ error: `expected a number from ${min} to ${max}` })
      .min(min)
      .max(max),
  );

const boolean = () => z.union([z.boolean(), z.stringbool()], { error: 'expected true or false' });

const duration = (minMs: number) =>
  z.string({ error: 'expected a duration such as "30s", "15m" or "2h"' }).transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms < minMs) {
      ctx.addIssue({ code: 'custom', message: `expected a duration of at least ${minMs} ms, written with a unit: "500ms", "30s", "15m", "2h"` });
      return z.NEVER;
    }
    return ms;
  });

const size = (minBytes: number) =>
  z.union([z.int(), z.string()], { error: 'expected a size such as "256MiB" or "1G"' }).transform((value, ctx) => {
    const bytes = typeof value === 'number' ? value : parseSize(value);
    if (bytes === undefined || bytes < minBytes) {
      ctx.addIssue({ code: 'custom', message: `expected a size of at least ${minBytes} bytes, e.g. "256MiB", "1G" or a number of bytes` });
      return z.NEVER;
    }
    return bytes;
  });

const origin = z.string().transform((text, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== text.replace(/\/$/, '')) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not an origin: write scheme://host[:port] with no path, e.g. https://course.example.org` });
    return z.NEVER;
  }
  return url.origin;
});

const origins = z.preprocess(
  (v) =>
    typeof v === 'string'
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
      : v,
  z.array(origin, { error: 'expected a comma-separated list of origins' }),
);

const hostNames = z.preprocess(
  (v) =>
    typeof v === 'string'
      ? v
          .split(',')
          .map((s) => s.trim().toLowerCase())
          .filter((s) => s !== '')
      : v,
  z.array(
    z
      .string()
      .regex(
        /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/,
        'expected a DNS name without scheme or port, e.g. course.example.org',
      ),
    { error: 'expected a comma-separated list of host names' },
  ),
);

/** A registry's base URL: http(s), a host, maybe a port, nothing else (distribution's proxy.remoteurl). */
const registryUrl = z.string().transform((text, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.username || url.password || url.search || url.hash || !['', '/'].includes(url.pathname)) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected a registry base URL: http(s)://HOST[:PORT], no path, credentials or query, e.g. "https://mirror.example.org"',
    });
    return z.NEVER;
  }
  return `${url.protocol}//${url.host}`;
});

const basePath = z.string().transform((text, ctx) => {
  if (!text.startsWith('/') || /[?#\s]/.test(text) || text.includes('//')) {
    ctx.addIssue({ code: 'custom', message: 'expected a URL path starting with "/", e.g. "/" or "/cours/"' });
    return z.NEVER;
  }
  return text.endsWith('/') ? text : `${text}/`;
});

// ───────────────────────── the schema ─────────────────────────

interface FieldSpec {
  /** Environment variable that sets it. */
  env: string;
  /** A valid value, shown in error messages and the README. */
  example: string;
  /** The default as a reader would write it, when the parsed value reads badly (milliseconds, bytes, absolute paths). */
  defaultText?: string;
}

/** Environment variable and example of every field; the keys are the JSON file's keys. */
export const CONFIG_FIELDS = {
  host: { env: 'HOST', example: '127.0.0.1' },
  port: { env: 'PORT', example: '4321' },
  basePath: { env: 'BASE_PATH', example: '/' },
  siteDir: { env: 'SITE_DIR', example: 'dist', defaultText: 'dist' },
  allowedOrigins: { env: 'ALLOWED_ORIGINS', example: 'https://course.example.org,http://localhost:4321' },
  clientIpHeader: { env: 'CLIENT_IP_HEADER', example: 'x-forwarded-for' },
  allowedHosts: { env: 'ALLOWED_HOSTS', example: 'course.example.org' },
  metricsToken: { env: 'METRICS_TOKEN', example: 'a-long-random-string-of-32-characters' },
  maxConnections: { env: 'MAX_CONNECTIONS', example: '4096' },
  maxConnectionsPerClient: { env: 'MAX_CONNECTIONS_PER_CLIENT', example: '256' },
  cookieSecure: { env: 'COOKIE_SECURE', example: 'true' },
  driver: { env: 'SANDBOX_DRIVER', example: 'namespace' },
  vmAccelerator: { env: 'VM_ACCELERATOR', example: 'auto' },
  warmPoolSize: { env: 'WARM_POOL_SIZE', example: '2' },
  maxSandboxes: { env: 'MAX_SANDBOXES', example: '20' },
  maxSandboxesPerClient: { env: 'MAX_SANDBOXES_PER_CLIENT', example: '3' },
  maxSandboxesPerAddress: { env: 'MAX_SANDBOXES_PER_ADDRESS', example: '40' },
  maxTerminalsPerSandbox: { env: 'MAX_TERMINALS_PER_SANDBOX', example: '8' },
  maxMachinesPerLab: { env: 'MAX_MACHINES_PER_LAB', example: '5' },
  idleTimeout: { env: 'IDLE_TIMEOUT', example: '15m', defaultText: '15m' },
  unclaimedIdleTimeout: { env: 'UNCLAIMED_IDLE_TIMEOUT', example: '1m', defaultText: '1m' },
  maxAge: { env: 'MAX_AGE', example: '2h', defaultText: '2h' },
  sandboxMemory: { env: 'SANDBOX_MEMORY', example: '512MiB', defaultText: '512MiB' },
  sandboxPids: { env: 'SANDBOX_PIDS', example: '1024' },
  sandboxCpus: { env: 'SANDBOX_CPUS', example: '0.5' },
  sandboxDisk: { env: 'SANDBOX_DISK', example: '128MiB', defaultText: '128MiB' },
  sandboxDocker: { env: 'SANDBOX_DOCKER', example: 'true' },
  sandboxDockerDisk: { env: 'SANDBOX_DOCKER_DISK', example: '1536MiB', defaultText: '1536MiB' },
  imageStoreReaderQuota: { env: 'IMAGE_STORE_READER_QUOTA', example: '512MiB', defaultText: '512MiB' },
  imageStoreUpstream: { env: 'IMAGE_STORE_UPSTREAM', example: 'https://mirror.example.org' },
  shutdownTimeout: { env: 'SHUTDOWN_TIMEOUT', example: '20s', defaultText: '20s' },
  logLevel: { env: 'LOG_LEVEL', example: 'info' },
  classMode: { env: 'CLASS_MODE', example: 'true' },
  classDb: { env: 'CLASS_DB', example: '/var/lib/cours-linux/classroom.sqlite', defaultText: '/var/lib/cours-linux/classroom.sqlite' },
  contentDir: { env: 'CONTENT_DIR', example: 'content', defaultText: 'content' },
  sandboxDb: { env: 'SANDBOX_DB', example: '/var/lib/cours-linux/sandboxes.sqlite', defaultText: 'sandboxes.sqlite beside CLASS_DB' },
  sandboxesOnExit: { env: 'SANDBOXES_ON_EXIT', example: 'keep' },
} as const satisfies Record<string, FieldSpec>;

export const ConfigSchema = z
  .strictObject({
    host: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe('Address the server listens on. 127.0.0.1 keeps it on this machine; 0.0.0.0 or :: opens it to the network.'),
    port: integer(0, 65535).default(4321).describe('TCP port the server listens on; 0 picks a free port (the chosen one is logged in the "listening" line).'),
    basePath: basePath
      .default('/')
      .describe(
        "URL path under which everything is served: the site, the API (<base>api/…), <base>healthz and <base>metrics. Must match the site's Astro `base`.",
      ),
    siteDir: z
      .string()
      .min(1)
      .default('dist')
      .transform((dir) => resolve(dir))
      .describe('Folder of the built static site (npm run build writes dist/); served under the base path. Relative to the working directory.'),
    allowedOrigins: origins
      .default([])
      .describe(
        'Other origins whose pages may use the API (CORS on REST, Origin check on the WebSocket), comma-separated. Pages served by this server are always allowed.',
      ),
    clientIpHeader: z
      .string()
      .trim()
      .toLowerCase()
      .default('')
      .describe(
        "Request header carrying the reader's address when a trusted reverse proxy sits in front (the last address of the list is used). Empty: the TCP peer address. Never set it without such a proxy: readers could forge it.",
      ),
    allowedHosts: hostNames
      .default([])
      .describe(
        'Names (DNS names, comma-separated, no port) this server answers to besides IP addresses and localhost: the public name readers type, e.g. behind a reverse proxy. A request for any other name gets 403 (a page on another name that resolves here: DNS rebinding).',
      ),
    metricsToken: z
      .string()
      .default('')
      .refine((token) => token === '' || /^[\x21-\x7e]{24,}$/.test(token), {
        message: 'expected at least 24 printable characters without spaces (e.g. the output of `openssl rand -hex 24`), or nothing',
      })
      .describe(
        'Bearer token for <base>metrics (Prometheus: `authorization: { credentials: … }`). Empty: metrics are served only to clients on this machine itself (loopback, not through the reverse proxy).',
      ),
    maxConnections: integer(16, 1_000_000)
      .default(4096)
      .describe(
        "Most open HTTP and WebSocket connections at once; beyond, new ones are closed at once. Keep it below the process's open-file limit (`ulimit -n`).",
      ),
    maxConnectionsPerClient: integer(4, 1_000_000)
      .default(256)
      .describe(
        'Most open connections from one client address (a school behind one NAT shares one: ≈ 4–8 per reader). Not applied with CLIENT_IP_HEADER (the reverse proxy is then the only peer; limit there).',
      ),
    cookieSecure: boolean()
      .default(false)
      .describe('Mark the token cookie Secure (send it over HTTPS only). Turn on when readers reach the server over HTTPS.'),
    driver: z
      .enum(['namespace', 'vm'], { error: 'expected "namespace" or "vm"' })
      .default('namespace')
      .describe('How sandboxes are made: "namespace" (Linux namespaces + cgroups on this host) or "vm" (a virtual machine per reader).'),
    vmAccelerator: z
      .enum(['auto', 'kvm', 'tcg'], { error: 'expected auto, kvm or tcg' })
      .default('auto')
      .describe(
        'How the vm driver runs its VMs: "auto" uses KVM when a probe boot under KVM works on this host (the answer is cached), else TCG emulation (≈ 10× slower); "kvm" refuses to start without working KVM instead of falling back; "tcg" always emulates. Unused by the namespace driver.',
      ),
    warmPoolSize: integer(0, 100)
      .default(2)
      .describe('Sandboxes kept ready in advance so a reader gets one at once; refilled one at a time in the background. 0 disables the pool.'),
    maxSandboxes: integer(1, 10_000)
      .default(20)
      .describe('Most sandboxes this host runs at once, warm pool included; beyond it creation answers 503 with Retry-After.'),
    maxSandboxesPerClient: integer(1, 1000)
      .default(3)
      .describe(
        'Most sandboxes one reader may hold at once; beyond it creation answers 429 with Retry-After. A reader is one browser (its reader cookie; every tab gets the same machine), or one address for clients that keep no cookie.',
      ),
    maxSandboxesPerAddress: integer(1, 10_000)
      .default(40)
      .describe(
        'Most sandboxes all readers behind one network address may hold at once (a classroom behind NAT is one address); beyond it creation answers 429. Must be at least MAX_SANDBOXES_PER_CLIENT.',
      ),
    maxMachinesPerLab: integer(1, 16)
      .default(5)
      .describe(
        'Most machines one lab may hold (POST api/sandboxes {"machines":[…]}); each counts against MAX_SANDBOXES and MAX_SANDBOXES_PER_ADDRESS (a lab larger than MAX_SANDBOXES is refused with 503).',
      ),
    maxTerminalsPerSandbox: integer(1, 64).default(8).describe('Most terminals open at once in one sandbox.'),
    idleTimeout: duration(1000)
      .default(15 * 60_000)
      .describe('A sandbox with no terminal attached for this long is destroyed. Written with a unit: "90s", "15m".'),
    unclaimedIdleTimeout: duration(1000)
      .default(60_000)
      .describe(
        'The idle timeout of a sandbox its reader cannot come back for yet: made for a browser seen for the first time, until a request carries its reader cookie (a browser that keeps no cookie loses its machine with its tab). IDLE_TIMEOUT when that is shorter.',
      ),
    maxAge: duration(1000)
      .default(2 * 3_600_000)
      .describe('A sandbox is destroyed this long after it was handed to a reader, attached or not. Written with a unit: "2h".'),
    sandboxMemory: size(16 * 1024 ** 2)
      .default(512 * 1024 ** 2)
      .describe('Memory limit of each sandbox (everything inside it together: its dockerd and containers too), e.g. "512MiB".'),
    sandboxPids: integer(300, 65_536)
      .default(1024)
      .describe(
        "Most tasks (processes and threads) in each sandbox; stops fork bombs. The namespace driver keeps ≈ 280 of them for the sandbox's own init, agent and dockerd.",
      ),
    sandboxCpus: decimal(0.05, 64).default(0.5).describe('CPU share of each sandbox, in cores (0.5 = half a core).'),
    sandboxDisk: size(1024 ** 2)
      .default(128 * 1024 ** 2)
      .describe("Size of each sandbox's private writable layer; keep it well below SANDBOX_MEMORY (it lives in memory)."),
    sandboxDocker: boolean()
      .default(true)
      .describe('Start a real Docker daemon in each sandbox (the namespaces lesson looks at dockerd). Costs ≈ 0.5 s and ≈ 30 MiB per sandbox.'),
    sandboxDockerDisk: size(256 * 1024 ** 2)
      .default(1536 * 1024 ** 2)
      .describe(
        "Size of each sandbox's Docker disk (/var/lib/docker: images, containers, volumes), a sparse ext4 image on the host's disk removed with the sandbox; the host pays only what is written. Both drivers (a VM gets it as a second disk); at most 64GiB.",
      ),
    imageStoreReaderQuota: size(16 * 1024 ** 2)
      .default(512 * 1024 ** 2)
      .describe(
        "Most bytes of images one reader may push into their namespace of the class registry (docker push $DEPOT/app). A push beyond it is refused with a French message; the reader's images go when their machine (or lab) is destroyed.",
      ),
    imageStoreUpstream: registryUrl
      .optional()
      .describe(
        "On a host with internet: a registry (Docker Hub, or a mirror of it) that the class store caches pulls from (distribution's proxy mode): an image the class's images lack is fetched there once, then served from the cache to every machine. Unset: the class's images only, offline. See docs/hosting.md.",
      ),
    shutdownTimeout: duration(100).default(20_000).describe('On SIGINT/SIGTERM, how long to wait for sandboxes to be destroyed before exiting anyway.'),
    logLevel: z
      .enum(['debug', 'info', 'warn', 'error'], { error: 'expected debug, info, warn or error' })
      .default('info')
      .describe('Least severe log level written (JSON lines on standard output).'),
    classMode: boolean()
      .default(false)
      .describe(
        "Serve a class (docs/hosting.md): creating or attaching to a sandbox needs a student's personal link, the instructor follows everyone on <base>instructeur/. Off: anyone who reaches the server gets a sandbox (one reader on their own machine).",
      ),
    classDb: z
      .string()
      .min(1)
      .default('/var/lib/cours-linux/classroom.sqlite')
      .transform((path) => resolve(path))
      .describe('SQLite file of the classes, links and progress (class mode); created with its folder if missing. `npm run class` uses the same file.'),
    contentDir: z
      .string()
      .min(1)
      .default('content')
      .transform((dir) => resolve(dir))
      .describe("The course's content tree; in class mode the exercises' checks are read from its *.checks.json files."),
    sandboxDb: z
      .string()
      .min(1)
      .optional()
      .transform((path) => (path === undefined ? undefined : resolve(path)))
      .describe(
        'SQLite file where the server writes down every machine it hands out (owner, token hashes, limits, clocks), so that a restart or a crash of the server loses none: the next start takes them over. Created with its folder if missing.',
      ),
    sandboxesOnExit: z
      .enum(['keep', 'destroy'], { error: 'expected keep or destroy' })
      .default('keep')
      .describe(
        'What SIGTERM/SIGINT does to the machines: "keep" leaves them running for the next start (a restart loses nothing; `npm run sandbox:cleanup` removes them for good once the server is stopped), "destroy" removes them all before exiting.',
      ),
  })
  .superRefine((config, ctx) => {
    if (config.maxSandboxesPerAddress < config.maxSandboxesPerClient) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxSandboxesPerAddress'],
        message: `must be at least MAX_SANDBOXES_PER_CLIENT (${config.maxSandboxesPerClient}): an address holds at least one reader`,
      });
    }
    const sandboxDb = sandboxRecordsPath(config);
    if (sandboxDb === config.classDb) {
      ctx.addIssue({ code: 'custom', path: ['sandboxDb'], message: 'must be another file than CLASS_DB (the class data has a schema of its own)' });
    }
    if (/^\/(proc|sys|dev)(\/|$)/.test(sandboxDb)) {
      ctx.addIssue({ code: 'custom', path: ['sandboxDb'], message: 'must be a file on a real disk, not under /proc, /sys or /dev' });
    } else if (isDirectory(sandboxDb)) {
      ctx.addIssue({
        code: 'custom',
        path: ['sandboxDb'],
        message: 'names a folder: give the path of a file in it, e.g. /var/lib/cours-linux/sandboxes.sqlite',
      });
    }
    // The writable layer lives in the sandbox's memory: a full disk must give ENOSPC, not an OOM kill of its init.
    if (config.sandboxDisk > config.sandboxMemory * 0.75) {
      ctx.addIssue({
        code: 'custom',
        path: ['sandboxDisk'],
        message: `must be at most 3/4 of SANDBOX_MEMORY (${config.sandboxMemory} bytes), since the writable layer is held in the sandbox's memory`,
      });
    }
  });

/** The sandbox records' file: SANDBOX_DB, else sandboxes.sqlite beside the class data. */
export function sandboxRecordsPath(config: { sandboxDb?: string | undefined; classDb: string }): string {
  return config.sandboxDb ?? join(dirname(config.classDb), 'sandboxes.sqlite');
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false; // unreadable here: opening the file says why, with its own hint
  }
}

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigKey = keyof typeof CONFIG_FIELDS;

/** Environment variable naming the optional JSON configuration file. */
export const CONFIG_FILE_ENV = 'SANDBOX_CONFIG';

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

type Environment = Record<string, string | undefined>;

/**
 * Read the configuration from `env` (and the file it names in SANDBOX_CONFIG).
 * Throws ConfigError listing every problem at once.
 */
export function loadConfig(env: Environment = process.env, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): Config {
  const raw: Record<string, unknown> = {};
  const origin: Partial<Record<string, string>> = {};
  const problems: string[] = [];

  const file = env[CONFIG_FILE_ENV];
  if (file !== undefined && file.trim() !== '') {
    const fromFile = readConfigFile(file, readFile, problems);
    for (const [key, value] of Object.entries(fromFile)) {
      raw[key] = value;
      origin[key] = `"${key}" in ${file}`;
    }
  }
  for (const [key, spec] of Object.entries(CONFIG_FIELDS)) {
    const value = env[spec.env];
    if (value !== undefined && value !== '') {
      raw[key] = value;
      origin[key] = spec.env;
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const parsed = ConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    const key = issue.path[0];
    if (issue.code === 'unrecognized_keys') {
      const known = Object.keys(CONFIG_FIELDS).join(', ');
      problems.push(`${file}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}. Fix: remove them or use a known key: ${known}.`);
      continue;
    }
    if (typeof key !== 'string' || !(key in CONFIG_FIELDS)) {
      problems.push(issue.message);
      continue;
    }
    const spec = CONFIG_FIELDS[key as ConfigKey];
    const description = ConfigSchema.shape[key as ConfigKey].description ?? '';
    const where = origin[key] ?? spec.env;
    const item = issue.path.length > 1 ? ` (item ${String(issue.path[1])})` : '';
    problems.push(
      `${where}=${JSON.stringify(raw[key])}${item}: ${issue.message}. Fix: set ${spec.env} to a valid value, e.g. ${spec.env}=${spec.example}. (${description})`,
    );
  }
  throw new ConfigError(problems);
}

function readConfigFile(path: string, readFile: (path: string) => string, problems: string[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    problems.push(
      `${CONFIG_FILE_ENV}=${path}: cannot read the file (${(error as Error).message}). Fix: point ${CONFIG_FILE_ENV} at a readable JSON file, or unset it.`,
    );
    return {};
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    problems.push(
      `${CONFIG_FILE_ENV}=${path}: not valid JSON (${(error as Error).message}). Fix: write a JSON object such as {"port": 4321, "warmPoolSize": 2}.`,
    );
    return {};
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    problems.push(
      `${CONFIG_FILE_ENV}=${path}: expected a JSON object of settings, got ${Array.isArray(json) ? 'an array' : typeof json}. Fix: write e.g. {"port": 4321}.`,
    );
    return {};
  }
  return json as Record<string, unknown>;
}

/** One line per field: environment variable, JSON key, default, description (for the README and --help). */
export function describeConfig(): string {
  const defaults = ConfigSchema.parse({});
  return Object.entries(CONFIG_FIELDS)
    .map(([key, spec]) => {
      const description = ConfigSchema.shape[key as ConfigKey].description ?? '';
      const fallback = 'defaultText' in spec ? spec.defaultText : JSON.stringify(defaults[key as ConfigKey]);
      return `${spec.env} (file key "${key}", default ${fallback}): ${description}`;
    })
    .join('\n');
}
