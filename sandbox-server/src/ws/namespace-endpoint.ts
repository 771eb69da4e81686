// WS <base>api/sandboxes/:id/namespaces[?token=…]: the « Vue des namespaces »
// panel of one machine. The same checks as a terminal (admitSandboxUpgrade:
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

const PATH_PATTERN = /^api\/sandboxes\/([^/]+)\/namespaces$/;
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
    return this.sandboxIdOf(req) !== undefined;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const id = this.sandboxIdOf(req)!;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.alive.add(ws);
      ws.on('pong', () => this.alive.add(ws));
      ws.on('error', (error) => this.options.log.debug({ err: error }, 'namespace websocket error'));
      try {
        this.open(ws, req, id);
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

  private sandboxIdOf(req: IncomingMessage): string | undefined {
    const url = new URL(req.url ?? '/', 'http://server.invalid');
    const { basePath } = this.options;
    if (!url.pathname.startsWith(basePath)) return undefined;
    return PATH_PATTERN.exec(url.pathname.slice(basePath.length))?.[1];
  }

  private open(ws: WebSocket, req: IncomingMessage, id: string): void {
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
    const take = managed.sandbox.processSnapshot?.bind(managed.sandbox);
    if (!take) {
      return reject('bad-request', CloseCode.badRequest, {
        code: 'namespaces-failed',
        message: 'This kind of machine cannot describe its processes.',
        hint: "The namespace view needs a machine with the course's agent.",
      });
    }
    const watch = this.watchOf(managed, take, log);
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
      if (watch.panels === 0 && this.watches.get(id) === watch) {
        watch.stop();
        this.watches.delete(id);
      }
      log.info('namespace panel closed');
    });
  }

  private watchOf(managed: ManagedSandbox, take: (maxProcesses: number) => Promise<ProcessSnapshot>, log: Logger): NamespaceWatch {
    const existing = this.watches.get(managed.id);
    if (existing) return existing;
    const watch = new NamespaceWatch({
      machine: managed.id,
      take,
      activity: managed.activity,
      log,
      ...(this.options.timing ? { timing: this.options.timing } : {}),
    });
    this.watches.set(managed.id, watch);
    managed.onRetire(() => {
      watch.stop();
      if (this.watches.get(managed.id) === watch) this.watches.delete(managed.id);
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
