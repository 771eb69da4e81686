// What a sandbox reaches of the class registry: an HTTP gate on a unix
// socket (bind-mounted into every sandbox) that lets through only what a
// `docker pull` needs — GET and HEAD of the API root, of a manifest and of a
// blob — and answers 403 to everything else (pushes, deletes, the catalogue,
// tag lists, the debug and health endpoints). The registry behind it is
// read-only as well: two locks, so that neither alone must be right.
import { chmod, mkdir, rm } from 'node:fs/promises';
import http from 'node:http';
import { dirname } from 'node:path';

// Repository names and references as distribution's own grammar defines them (reference/regexp.go).
const NAME_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const NAME = `${NAME_COMPONENT}(?:/${NAME_COMPONENT})*`;
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const DIGEST = 'sha256:[a-f0-9]{64}';
const ALLOWED_PATHS = [/^\/v2\/$/, new RegExp(`^/v2/${NAME}/manifests/(?:${TAG}|${DIGEST})$`), new RegExp(`^/v2/${NAME}/blobs/${DIGEST}$`)];

/** What a reader's refused request answers (shown by `docker push`). */
export const READ_ONLY_MESSAGE =
  "le dépôt d'images de la classe est en lecture seule : docker pull et docker run y trouvent les images, docker push n'y écrit pas (gardez vos images dans votre machine, ou docker save pour les emporter)";

/** True when a reader may make this request of the registry. */
export function isAllowedPull(method: string | undefined, url: string | undefined): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  if (!url || url.length > 512) return false;
  const path = url.split('?')[0] ?? '';
  return ALLOWED_PATHS.some((pattern) => pattern.test(path));
}

export interface GateOptions {
  /** The gate's socket (anyone may connect: sandboxes' roots are unprivileged host uids). */
  socket: string;
  /** The registry's own socket. */
  upstream: string;
  log: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
}

export class ReadOnlyGate {
  #server: http.Server | undefined;
  #options: GateOptions;

  constructor(options: GateOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    const { socket, upstream, log } = this.#options;
    await mkdir(dirname(socket), { recursive: true, mode: 0o755 });
    await rm(socket, { force: true });
    const server = http.createServer((request, response) => {
      if (!isAllowedPull(request.method, request.url)) {
        log('warn', 'registry gate refused a request', { method: request.method, url: request.url?.slice(0, 200) });
        response.writeHead(403, { 'content-type': 'application/json' });
        // Readers see this in `docker push` output: French, and saying what they can do instead.
        response.end(JSON.stringify({ errors: [{ code: 'DENIED', message: READ_ONLY_MESSAGE }] }));
        return;
      }
      const headers = { ...request.headers };
      delete headers.authorization; // nothing to authenticate: the gate is the policy
      const forward = http.request({ socketPath: upstream, method: request.method, path: request.url, headers }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      });
      forward.on('error', (error) => {
        if (!response.headersSent) response.writeHead(502, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            errors: [{ code: 'UNAVAILABLE', message: `le dépôt d'images de la classe ne répond pas (${error.message}) : réessayez dans un instant` }],
          }),
        );
      });
      request.pipe(forward);
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 10 * 60_000; // a 100 MB layer over a loaded host
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => resolve());
    });
    await chmod(socket, 0o666);
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await rm(this.#options.socket, { force: true });
  }
}
