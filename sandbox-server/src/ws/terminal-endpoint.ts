// WS <base>api/sandboxes/:id/terminals/:name?cols=…&rows=…[&token=…]
// Admits the socket (admitSandboxUpgrade: origin, sandbox, token), then attaches the
// socket to the named terminal (opening its shell on first use). Refusals are
// made after the upgrade, as an error frame plus a 4xxx close code, because a
// browser cannot read the HTTP status of a refused upgrade (it sees only 1006).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../log.ts';
import type { Metrics, RejectReason } from '../metrics.ts';
import { SandboxRetiredError, TooManyTerminalsError, labTerminalKey } from '../manager/managed-sandbox.ts';
import { clientKey } from '../http/client-key.ts';
import { describeTombstone } from '../http/tombstone-message.ts';
import { CloseCode, MAX_CLIENT_FRAME_BYTES, parseTerminalSize, type ErrorInfo } from '../../../contracts/protocol.ts';
import { TERMINAL_NAME_RULE, terminalNameProblem } from '../../../contracts/names.ts';
import { DEFAULT_TERMINAL_SIZE, type TerminalSize } from '../../../contracts/sizes.ts';
import { reportFailure } from '../contain.ts';
import { TerminalSocket } from './terminal-socket.ts';
import { admitSandboxUpgrade, refuseSocket as refuse, type SandboxAdmissionOptions } from './upgrade-admission.ts';

/** Frames beyond this are not even read: the connection closes with 1009. Below it, oversized frames get an error frame. */
const HARD_MAX_PAYLOAD = 16 * MAX_CLIENT_FRAME_BYTES;
/** Dead connections (laptop lid closed) would keep a terminal "attached" and the sandbox from idling out. */
const HEARTBEAT_MS = 30_000;

export interface TerminalEndpointOptions extends SandboxAdmissionOptions {
  basePath: string;
  clientIpHeader: string;
  metrics: Metrics;
  log: Logger;
}

// …/terminals/:name is the first machine's; …/machines/:machine/terminals/:name a lab's machine's.
const PATH_PATTERN = /^api\/sandboxes\/([^/]+)\/(?:machines\/([^/]+)\/)?terminals\/([^/]+)$/;

export class TerminalEndpoint {
  private readonly options: TerminalEndpointOptions;
  private readonly wss: WebSocketServer;
  private readonly alive = new WeakSet<WebSocket>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(options: TerminalEndpointOptions) {
    this.options = options;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: HARD_MAX_PAYLOAD,
      perMessageDeflate: false,
      // Invalid UTF-8 in a text frame becomes a "bad-json" error frame rather than a 1007 close.
      skipUTF8Validation: true,
    });
    this.heartbeat = setInterval(() => this.checkHeartbeats(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** For the HTTP server's 'upgrade' event. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://server.invalid');
    const rest = url.pathname.startsWith(this.options.basePath) ? url.pathname.slice(this.options.basePath.length) : undefined;
    const match = rest === undefined ? null : PATH_PATTERN.exec(rest);
    if (!match) {
      socket.end(
        'HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nNo WebSocket endpoint here: terminals are at <base>api/sandboxes/:id/terminals/:name\n',
      );
      return;
    }
    const [, id, machine, name] = match as unknown as [string, string, string | undefined, string];
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.alive.add(ws);
      ws.on('pong', () => this.alive.add(ws));
      ws.on('error', (error) => this.options.log.debug({ err: error }, 'websocket error'));
      this.attach(ws, req, url, id, name, machine).catch((error: unknown) => {
        reportFailure(this.options.log, this.options.metrics.failuresContained, 'terminal-socket', error, { sandbox: id, terminal: name, during: 'attach' });
        try {
          refuse(ws, CloseCode.internalError, {
            code: 'internal',
            message: 'The server failed while opening this terminal.',
            hint: 'Reconnect; the server log has the details.',
          });
        } catch {
          ws.terminate();
        }
      });
    });
  }

  /** Close every connection (server shutdown). */
  closeAll(code: CloseCode, error: ErrorInfo): void {
    for (const ws of this.wss.clients) refuse(ws, code, error);
  }

  /** Stop the heartbeat and drop connections that did not close in time. */
  dispose(): void {
    clearInterval(this.heartbeat);
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private async attach(ws: WebSocket, req: IncomingMessage, url: URL, id: string, name: string, machine?: string): Promise<void> {
    const { manager, metrics } = this.options;
    const client = clientKey(req, this.options.clientIpHeader);
    const log = this.options.log.child({ client, sandbox: id, terminal: name });
    const reject = (reason: RejectReason, code: CloseCode, error: ErrorInfo) => {
      metrics.rejected.inc({ reason });
      log.info({ reason, closeCode: code }, 'terminal connection refused');
      refuse(ws, code, error);
    };

    const admission = admitSandboxUpgrade(this.options, { req, url, id, purpose: 'open terminals' });
    if (!admission.admitted) return reject(admission.refusal.reason, admission.refusal.code, admission.refusal.error);
    const { managed } = admission;
    if (terminalNameProblem(name) !== undefined) {
      return reject('bad-request', CloseCode.badRequest, {
        code: 'invalid-terminal-name',
        message: `Invalid terminal name ${JSON.stringify(name)}.`,
        hint: `Use ${TERMINAL_NAME_RULE}, e.g. "1" or "2".`,
      });
    }

    if (machine !== undefined && !managed.sandbox.machines?.some((known) => known.name === machine)) {
      // Said in the reader's words (lang fr): the catalogue's "reload the
      // page" would not help — a page asking for a lab the server does not
      // give (a class made without --machines, say) gets the same answer again.
      const known = managed.sandbox.machines?.map((each) => each.name) ?? [];
      return reject('bad-request', CloseCode.notFound, {
        code: 'not-found',
        lang: 'fr',
        message: `Votre ${known.length > 0 ? 'lab' : 'machine'} n'a pas de machine « ${machine.slice(0, 40)} »${known.length > 0 ? ` (il a : ${known.join(', ')})` : ''}.`,
        hint:
          "Cette page demande un lab que ce serveur ne vous donne pas. En classe, c'est le formateur qui choisit les machines de chacun " +
          '(npm run class -- create … --machines node1,node2,node3) ; ailleurs, les blocs de cette page qui nomment cette machine ne peuvent pas être exécutés ici.',
      });
    }
    const socket = new TerminalSocket(ws, log, metrics);
    const size = requestedSize(url, socket);
    let opened;
    try {
      opened = await managed.terminal(labTerminalKey(managed.sandbox, machine, name), size);
    } catch (error) {
      if (error instanceof TooManyTerminalsError) {
        return reject('terminal-capacity', CloseCode.tooManyTerminals, {
          code: 'too-many-terminals',
          message: error.message,
          hint: 'Close a terminal you no longer use (type exit in it).',
        });
      }
      const tombstone = manager.tombstone(id);
      if (error instanceof SandboxRetiredError || tombstone) {
        return reject(
          'gone',
          CloseCode.gone,
          tombstone
            ? describeTombstone(tombstone)
            : { code: 'gone', message: error instanceof Error ? error.message : 'The sandbox is gone.', hint: 'Reload the page to get a new sandbox.' },
        );
      }
      log.error({ err: error }, 'could not open terminal');
      refuse(ws, CloseCode.internalError, {
        code: 'terminal-failed',
        message: 'The terminal could not be opened.',
        hint: 'Reconnect; if it keeps failing, reload the page for a new sandbox.',
      });
      return;
    }
    if (ws.readyState !== ws.OPEN) {
      log.info('client left while its terminal was opening');
      return;
    }
    opened.session.attach(socket, size, opened.resumed);
    socket.bind(opened.session);
  }

  private checkHeartbeats(): void {
    for (const ws of this.wss.clients) {
      if (!this.alive.has(ws)) {
        ws.terminate();
        continue;
      }
      this.alive.delete(ws);
      ws.ping();
    }
  }
}

/** The size asked in the URL, or the default (with an error frame when the one asked was invalid). */
function requestedSize(url: URL, socket: TerminalSocket): TerminalSize {
  const cols = url.searchParams.get('cols');
  const rows = url.searchParams.get('rows');
  if (cols === null && rows === null) return { ...DEFAULT_TERMINAL_SIZE };
  const checked = parseTerminalSize(Number(cols ?? Number.NaN), Number(rows ?? Number.NaN));
  if (checked.ok) return checked.value;
  socket.sendError({ ...checked.error, hint: `${checked.error.hint ?? ''} Using ${DEFAULT_TERMINAL_SIZE.cols}×${DEFAULT_TERMINAL_SIZE.rows}.`.trim() });
  return { ...DEFAULT_TERMINAL_SIZE };
}
