// The class registry as machines reach it: one unix socket per machine, in a
// directory of its own that the driver bind-mounts (read-only) into that
// machine and no other. A connection's socket says which machine — hence
// which reader — asks; gate-rules.ts decides what it may do, and this
// forwards it to the right registry:
//   the class's images (read-only), then the pull-through cache if there is one;
//   the readers' registry, for requests inside the asking reader's namespace,
//   with the namespace's writes one at a time and counted against its quota.
// A VM reaches its machine's socket the same way, through whatever channel
// its driver forwards to a unix socket (the gate needs nothing else).
import { chmod, mkdir, rm } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { GATE_SOCKET_NAME } from './paths.ts';
import { MESSAGES, readerNamespace, routeRequest, type Route } from './gate-rules.ts';
import { namespaceBytes, removeNamespace, uploadDir } from './reader-storage.ts';

export type GateLog = (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;

/** What a driver needs of the class registry for its machines. */
export interface RegistryAccess {
  /**
   * Serves machine `machine` of reader `reader` (a lone machine's own id, or its
   * lab's): returns the directory to bind at /.sandbox/registry and the
   * reader's namespace. Called again after a server restart (adopt): same
   * directory, so a running machine finds the new socket where the old one was.
   */
  open(machine: { id: string; reader: string }): Promise<{ dir: string; namespace: string }>;
  /**
   * Stops serving the machine. `destroyed`: the machine is gone for good (its
   * directory goes; when it was its reader's last machine, its pushed images
   * go too). Otherwise the server is only stopping, and the machine stays.
   * `reader`: whose it was, for a machine this process never opened (a
   * leftover of a server that died).
   */
  close(machineId: string, options: { destroyed: boolean; reader?: string | undefined }): Promise<void>;
}

export interface GateBackends {
  /** The read-only registry of the class's images. */
  shared: string;
  /** The readers' registry (writable; its storage only holds readers' namespaces). */
  readers: string;
  readersStorageDir: string;
  /** The pull-through cache, asked when the class's images lack what a pull wants. */
  cache?: string | undefined;
  /** Most bytes one reader's namespace may hold. */
  quotaBytes: number;
}

interface Gate {
  machine: string;
  reader: string;
  namespace: string;
  socket: string;
  server: http.Server;
}

/** Bytes of a refused body read and thrown away before the connection is cut (so the client reads the refusal). */
const DRAIN_LIMIT = 64 * 1024 * 1024;

export class MachineGates implements RegistryAccess {
  readonly rootDir: string;
  #backends: GateBackends;
  #log: GateLog;
  #gates = new Map<string, Gate>();
  /** Per namespace, the tail of its queue of writes (one at a time, so the quota is checked against what is on disk). */
  #writes = new Map<string, Promise<void>>();

  constructor(rootDir: string, backends: GateBackends, log: GateLog = () => {}) {
    this.rootDir = rootDir;
    this.#backends = backends;
    this.#log = log;
  }

  machineDir(machineId: string): string {
    return join(this.rootDir, machineId);
  }

  async open({ id, reader }: { id: string; reader: string }): Promise<{ dir: string; namespace: string }> {
    await this.#closeServer(id);
    const dir = this.machineDir(id);
    const socket = join(dir, GATE_SOCKET_NAME);
    const namespace = readerNamespace(reader);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await rm(socket, { force: true });
    const gate: Gate = { machine: id, reader, namespace, socket, server: http.createServer() };
    gate.server.on('request', (request, response) => this.#handle(gate, request, response));
    gate.server.headersTimeout = 10_000;
    gate.server.requestTimeout = 10 * 60_000; // a 100 MB layer over a loaded host
    await new Promise<void>((resolve, reject) => {
      gate.server.once('error', reject);
      gate.server.listen(socket, () => resolve());
    });
    // Anyone may connect: the machine's root is an unprivileged host uid. Only this machine has the directory.
    await chmod(socket, 0o666);
    this.#gates.set(id, gate);
    return { dir, namespace };
  }

  async close(machineId: string, { destroyed, reader }: { destroyed: boolean; reader?: string | undefined }): Promise<void> {
    const whose = this.#gates.get(machineId)?.reader ?? reader;
    await this.#closeServer(machineId);
    if (!destroyed) return;
    await rm(this.machineDir(machineId), { recursive: true, force: true });
    if (whose === undefined || [...this.#gates.values()].some((other) => other.reader === whose)) return;
    // Its reader's last machine: what they pushed goes with them (after any write still in flight).
    const namespace = readerNamespace(whose);
    await (this.#writes.get(namespace) ?? Promise.resolve());
    await removeNamespace(this.#backends.readersStorageDir, namespace);
    this.#log('info', 'reader gone: their pushed images removed', { machine: machineId, namespace });
  }

  /** Stops every socket (the server is stopping); directories and images stay for the machines that stay. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#gates.keys()].map((id) => this.#closeServer(id)));
  }

  async #closeServer(machineId: string): Promise<void> {
    const gate = this.#gates.get(machineId);
    if (!gate) return;
    this.#gates.delete(machineId);
    gate.server.closeAllConnections();
    await new Promise((resolve) => gate.server.close(resolve));
    await rm(gate.socket, { force: true });
  }

  /** True when another live reader holds the same namespace (a hash collision): that gate serves nothing. */
  #collides(gate: Gate): boolean {
    return [...this.#gates.values()].some((other) => other.namespace === gate.namespace && other.reader !== gate.reader);
  }

  #handle(gate: Gate, request: http.IncomingMessage, response: http.ServerResponse): void {
    const route: Route = this.#collides(gate)
      ? { to: 'refuse', message: MESSAGES.namespaceInUse() }
      : routeRequest(request.method, request.url, gate.namespace);
    if (route.to === 'refuse') {
      this.#log('warn', 'registry gate refused a request', { machine: gate.machine, method: request.method, url: request.url?.slice(0, 200) });
      refuse(request, response, route.message);
      return;
    }
    if (route.to === 'shared') {
      const upstreams = [this.#backends.shared, ...(this.#backends.cache ? [this.#backends.cache] : [])];
      forward(request, response, upstreams, request.url ?? '/');
      return;
    }
    const path = route.stripMount ? withoutMount(request.url ?? '') : (request.url ?? '');
    if (!route.write) {
      forward(request, response, [this.#backends.readers], path);
      return;
    }
    // Writes of one namespace one after the other: each measures what the ones before left on disk.
    const previous = this.#writes.get(gate.namespace) ?? Promise.resolve();
    const done = previous.then(() => this.#write(gate, route, path, request, response));
    const tail = done.catch(() => {});
    this.#writes.set(gate.namespace, tail);
    void tail.then(() => {
      if (this.#writes.get(gate.namespace) === tail) this.#writes.delete(gate.namespace);
    });
  }

  #write(gate: Gate, route: Extract<Route, { to: 'reader' }>, path: string, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const { quotaBytes, readersStorageDir, readers } = this.#backends;
    if (request.destroyed) return Promise.resolve();
    const room = quotaBytes - namespaceBytes(readersStorageDir, gate.namespace);
    const overQuota = () => {
      this.#log('warn', 'reader namespace full: push refused', { machine: gate.machine, namespace: gate.namespace, quotaBytes });
      refuse(request, response, MESSAGES.quota(gate.namespace, quotaBytes));
    };
    // What a cut-off upload left must not count against the reader: removed once the registry let go of it.
    const dropUpload = () =>
      route.upload ? rm(uploadDir(readersStorageDir, route.repository, route.upload), { recursive: true, force: true }) : Promise.resolve();
    const declared = Number(request.headers['content-length'] ?? 0);
    if (room <= 0 || declared > room) {
      overQuota();
      return dropUpload();
    }
    return new Promise<void>((resolve) => {
      let sent = 0;
      let cut = false;
      let dropped = 0;
      // The refusal goes out once the reader's client has sent its whole body (read and dropped here, within
      // DRAIN_LIMIT): answered while it still writes, the connection closes under it, and docker reports
      // "broken pipe" and retries instead of printing the denial (seen on CI about once in five pushes).
      const bodyRead = new Promise<void>((done) => {
        if (request.complete) done();
        request.once('end', done);
        request.once('close', done);
      });
      // Beyond the quota, the body is ended where it stands (a chunked body may end anywhere) rather than the
      // connection dropped: the registry then finishes with the upload's files before the gate removes them.
      const refuseOnceDone = () =>
        void dropUpload()
          .then(() => bodyRead)
          .finally(overQuota);
      const upstream = send(request, readers, path, (answer) => {
        if (cut) {
          answer.resume();
          answer.once('end', refuseOnceDone);
          return;
        }
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      });
      request.on('data', (chunk: Buffer) => {
        if (cut) {
          dropped += chunk.length;
          if (dropped > DRAIN_LIMIT) request.destroy();
          return;
        }
        sent += chunk.length;
        if (sent > room) {
          cut = true;
          upstream.end();
          request.resume(); // the rest is read and dropped while the registry finishes
          return;
        }
        if (!upstream.write(chunk)) request.pause();
      });
      upstream.on('drain', () => {
        if (!cut) request.resume();
      });
      request.on('end', () => {
        if (!cut) upstream.end();
      });
      upstream.on('error', (error) => {
        if (cut) refuseOnceDone();
        else unavailable(response, error);
      });
      // The next write of this namespace waits until this one is answered (and a cut-off upload removed).
      finished(response)
        .catch(() => {})
        .finally(resolve);
    });
  }
}

/** A request to one registry's socket, with the reader's headers minus any credential. */
function send(request: http.IncomingMessage, socketPath: string, path: string, onAnswer: (answer: http.IncomingMessage) => void): http.ClientRequest {
  const headers = { ...request.headers };
  delete headers.authorization; // nothing to authenticate: the socket says who asks, the gate is the policy
  return http.request({ socketPath, method: request.method, path, headers }, onAnswer);
}

/** Forwards to the first registry that has what is asked (a 404 moves on to the next: the cache after the class's store). */
function forward(request: http.IncomingMessage, response: http.ServerResponse, upstreams: string[], path: string): void {
  const [first, ...rest] = upstreams;
  const outgoing = send(request, first!, path, (answer) => {
    if (answer.statusCode === 404 && rest.length > 0 && (request.method === 'GET' || request.method === 'HEAD')) {
      answer.resume();
      forward(request, response, rest, path);
      return;
    }
    response.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(response);
  });
  outgoing.on('error', (error) => unavailable(response, error));
  if (request.method === 'GET' || request.method === 'HEAD') outgoing.end();
  else request.pipe(outgoing);
}

function unavailable(response: http.ServerResponse, error: Error): void {
  if (!response.headersSent) response.writeHead(502, { 'content-type': 'application/json' });
  response.end(
    JSON.stringify({
      errors: [{ code: 'UNAVAILABLE', message: `le dépôt d'images de la classe ne répond pas (${error.message}) : réessayez dans un instant` }],
    }),
  );
}

/** A refusal docker prints as "denied: MESSAGE"; the rest of a body being sent is read and dropped, within a bound. */
function refuse(request: http.IncomingMessage, response: http.ServerResponse, message: string): void {
  if (!response.headersSent) {
    response.writeHead(403, { 'content-type': 'application/json', connection: 'close' });
    response.end(JSON.stringify({ errors: [{ code: 'DENIED', message }] }));
  }
  let drained = 0;
  request.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_LIMIT) request.destroy();
  });
  request.resume();
}

/** The upload-start URL without its cross-repository mount (distribution then starts a plain upload). */
function withoutMount(url: string): string {
  const [path, query = ''] = url.split('?', 2);
  const params = new URLSearchParams(query);
  params.delete('mount');
  params.delete('from');
  const rest = params.toString();
  return rest ? `${path}?${rest}` : path!;
}
