// WS <base>api/sandboxes/:id/namespaces[?token=…]: the « Vue des namespaces »
// panel of one machine (a lab's first); …/machines/:machine/namespaces is the
// panel of that machine of a lab. The same checks as a terminal (admitSandboxUpgrade:
// origin, sandbox, token, class link), refused the same way. Once open,
// the server pushes messages (protocol.ts: snapshot, diff, error) and the
// client sends nothing; closing the socket closes the panel, and a sandbox
// nobody looks at is never asked for a snapshot.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../log.ts';
import type { Metrics, RejectReason } from '../metrics.ts';
import type { ManagedSandbox } from '../manager/managed-sandbox.ts';
import { clientKey } from '../http/client-key.ts';
import { describeTombstone } from '../http/tombstone-message.ts';
import { NamespaceWatch, type NamespaceWatchTiming } from '../namespaces/namespace-watch.ts';
import { CloseCode, MAX_NAMESPACE_PANELS_PER_SANDBOX, type ErrorInfo } from '../../../contracts/protocol.ts';
import type { ProcessSnapshot } from '../../../contracts/process-snapshot.ts';
import { admitSandboxUpgrade, refuseSocket as refuse, type SandboxAdmissionOptions } from './upgrade-admission.ts';

const PATH_PATTERN = /^api\/sandboxes\/([^/]+)\/(?:machines\/([^/]+)\/)?namespaces$/;
/** A panel whose socket holds more than this unsent is skipped until it catches up. */
const CONGESTED_BYTES = 256 * 1024;
/** The client sends nothing: anything bigger than this is not worth reading. */
const MAX_CLIENT_PAYLOAD = 1024;
const HEARTBEAT_MS = 30_000;

export interface NamespaceEndpointOptions extends SandboxAdmissionOptions {
  basePath: string;
  clientIpHeader: string;
  metrics: Metrics;
  log: Logger;
  /** Tests and benchmarks may make it faster or slower. */
  timing?: NamespaceWatchTiming;
}

export class NamespaceEndpoint {
  private readonly options: NamespaceEndpointOptions;
  private readonly wss: WebSocketServer;
  private readonly watches = new Map<string, NamespaceWatch>();
  private readonly alive = new WeakSet<WebSocket>();
  /** Which sandbox each open panel looks at. */
  private readonly owners = new WeakMap<WebSocket, string>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(options: NamespaceEndpointOptions) {
    this.options = options;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_PAYLOAD, perMessageDeflate: false });
    this.heartbeat = setInterval(() => {
      for (const ws of this.wss.clients) {
        if (!this.alive.has(ws)) ws.terminate();
        else {
          this.alive.delete(ws);
          ws.ping();
        }
      }
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Whether `req` is for this endpoint (else the terminals' endpoint answers it). */
  matches(req: IncomingMessage): boolean {
    return this.targetOf(req) !== undefined;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { id, machine } = this.targetOf(req)!;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.alive.add(ws);
      ws.on('pong', () => this.alive.add(ws));
      ws.on('error', (error) => this.options.log.debug({ err: error }, 'namespace websocket error'));
      try {
        this.open(ws, req, id, machine);
      } catch (error) {
        this.options.log.error({ err: error, sandbox: id }, 'namespace panel failed to open');
        refuse(ws, CloseCode.internalError, {
          code: 'internal',
          message: 'The server failed while opening the namespace view.',
          hint: 'Reopen the panel; the server log has the details.',
        });
      }
    });
  }

  closeAll(code: CloseCode, error: ErrorInfo): void {
    for (const watch of this.watches.values()) watch.stop();
    this.watches.clear();
    for (const ws of this.wss.clients) refuse(ws, code, error);
  }

  dispose(): void {
    clearInterval(this.heartbeat);
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private targetOf(req: IncomingMessage): { id: string; machine: string | undefined } | undefined {
    const url = new URL(req.url ?? '/', 'http://server.invalid');
    const { basePath } = this.options;
    if (!url.pathname.startsWith(basePath)) return undefined;
    const match = PATH_PATTERN.exec(url.pathname.slice(basePath.length));
    return match ? { id: match[1]!, machine: match[2] === undefined ? undefined : decodeURIComponent(match[2]) } : undefined;
  }

  private open(ws: WebSocket, req: IncomingMessage, id: string, machine: string | undefined): void {
    const { metrics } = this.options;
    const url = new URL(req.url ?? '/', 'http://server.invalid');
    const log = this.options.log.child({ client: clientKey(req, this.options.clientIpHeader), sandbox: id, panel: 'namespaces' });
    const reject = (reason: RejectReason, code: CloseCode, error: ErrorInfo) => {
      metrics.rejected.inc({ reason });
      log.info({ reason, closeCode: code }, 'namespace panel refused');
      refuse(ws, code, error);
    };
    const admission = admitSandboxUpgrade(this.options, { req, url, id, purpose: 'open the namespace view', mustBeRunning: true });
    if (!admission.admitted) return reject(admission.refusal.reason, admission.refusal.code, admission.refusal.error);
    const { managed } = admission;
    const { sandbox } = managed;
    if (machine !== undefined && !sandbox.machines?.some((known) => known.name === machine)) {
      // In the reader's words (lang fr): the catalogue's "the server does not know this machine,
      // reload for a new one" is wrong here — the machine is there and running, the page asked
      // for one it does not have, and the panel (which shows the message alone) says which it has.
      const shown = machine.slice(0, 40);
      const known = sandbox.machines?.map((each) => each.name);
      return reject('not-found', CloseCode.notFound, {
        code: 'not-found',
        lang: 'fr',
        message: known
          ? `Votre lab n'a pas de machine « ${shown} » : choisissez l'une des siennes (${known.join(', ')}) dans la liste « Machine » de la vue.`
          : `Votre machine est seule, sans lab : la vue des namespaces ne peut pas montrer une machine « ${shown} ». Fermez la vue puis rouvrez-la : elle montre votre machine.`,
        hint: known
          ? `Vos machines et vos terminaux continuent : seule cette vue n'a rien à montrer. Le chemin d'une machine du lab est …/machines/${known[0]}/namespaces.`
          : "Vos terminaux continuent : seule cette vue n'a rien à montrer. Le chemin de la vue d'une machine seule est …/namespaces.",
      });
    }
    // A lab's first machine is the lab itself (the old route): one watch for both paths.
    const other = machine !== undefined && machine !== sandbox.machines?.[0]?.name ? machine : undefined;
    // Looked up at each snapshot: a machine reset alone is a new one under the same name.
    // managed.sandbox, not `sandbox`: a lone machine made anew in place is a new sandbox object.
    const target = () => (other === undefined ? managed.sandbox : managed.sandbox.machine?.(other));
    if (!target()?.processSnapshot) {
      return reject('bad-request', CloseCode.badRequest, {
        code: 'namespaces-failed',
        message: 'This kind of machine cannot describe its processes.',
        hint: "The namespace view needs a machine with the course's agent.",
      });
    }
    const take = (maxProcesses: number): Promise<ProcessSnapshot> => {
      const current = target();
      if (!current?.processSnapshot) return Promise.reject(new Error(`machine ${other ?? id} is gone`));
      return current.processSnapshot(maxProcesses);
    };
    const key = other === undefined ? id : `${id}/${other}`;
    const watch = this.watchOf(managed, key, take, log);
    if (watch.panels >= MAX_NAMESPACE_PANELS_PER_SANDBOX) {
      return reject('terminal-capacity', CloseCode.tooManyTerminals, {
        code: 'too-many-panels',
        message: `This machine already has ${MAX_NAMESPACE_PANELS_PER_SANDBOX} namespace views open.`,
        hint: 'Close the panel in another tab or window.',
      });
    }
    const subscription = watch.add({
      send: (message) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
      },
      congested: () => ws.bufferedAmount > CONGESTED_BYTES,
    });
    this.owners.set(ws, id);
    log.info('namespace panel opened');
    ws.on('message', () => {
      metrics.rejected.inc({ reason: 'bad-frame' });
      if (ws.readyState === ws.OPEN)
        ws.send(
          JSON.stringify({
            type: 'error',
            code: 'unknown-type',
            message: 'The namespace view takes no messages.',
            hint: 'Close the socket to close the panel.',
          }),
        );
    });
    ws.on('close', () => {
      subscription.dispose();
      if (watch.panels === 0 && this.watches.get(key) === watch) {
        watch.stop();
        this.watches.delete(key);
      }
      log.info('namespace panel closed');
    });
  }

  /** The watch of one machine (`key`: the sandbox's id, or "<lab id>/<machine>" for a lab's other machines). */
  private watchOf(managed: ManagedSandbox, key: string, take: (maxProcesses: number) => Promise<ProcessSnapshot>, log: Logger): NamespaceWatch {
    const existing = this.watches.get(key);
    if (existing) return existing;
    const watch = new NamespaceWatch({
      machine: key,
      take,
      activity: managed.activity,
      log,
      ...(this.options.timing ? { timing: this.options.timing } : {}),
    });
    this.watches.set(key, watch);
    managed.onRetire(() => {
      watch.stop();
      if (this.watches.get(key) === watch) this.watches.delete(key);
      // The manager records why just after retiring: read it once it has.
      queueMicrotask(() => {
        const tombstone = this.options.manager.tombstone(managed.id);
        const shutdown = this.options.isShuttingDown();
        const error: ErrorInfo = tombstone
          ? describeTombstone(tombstone)
          : { code: 'gone', message: 'The sandbox was destroyed.', hint: 'Reload the page to get a new sandbox.' };
        for (const ws of this.wss.clients) if (this.owners.get(ws) === managed.id) refuse(ws, shutdown ? CloseCode.goingAway : CloseCode.gone, error);
      });
    });
    return watch;
  }
}
