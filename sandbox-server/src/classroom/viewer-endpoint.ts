// WS <base>api/class/viewers/:ticket — the instructor watches a student's
// terminal, read-only. The dashboard first asks for a ticket (instructor
// credential, REST), then opens the socket with it: single use, valid one
// minute, so the instructor's key never travels in a URL.
//
// Frames follow the terminal protocol (protocol.ts): a `ready` message, the
// recent output, then live output as binary frames; `exit` when the shell
// ends; an `error` frame and 4411 when its machine is being reset, 4410 when
// the student's machine is gone. Nothing the
// viewer sends ever reaches the terminal: incoming frames are dropped, and
// the first one is answered with an error frame saying so.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { clientKey } from '../http/client-key.ts';
import { CloseCode, MAX_SERVER_FRAME_BYTES, type ErrorInfo, type ServerMessage } from '../../../contracts/protocol.ts';
import { originRefusal, refuseSocket } from '../ws/upgrade-admission.ts';
import type { Classroom } from './classroom.ts';

const TICKET_TTL_MS = 60_000;
const TICKETS_KEPT = 1000;
/** A viewer this far behind is dropped rather than slowing anything down (it never pauses the student's shell). */
const VIEWER_BUFFER_LIMIT = 1024 * 1024;
const PATH = /^api\/class\/viewers\/([A-Za-z0-9_-]{43})$/;

interface Ticket {
  studentId: string;
  terminal: string;
  /** A machine of the student's lab (absent: the first). */
  machine?: string | undefined;
  expiresAt: number;
}

export interface ViewerEndpointOptions {
  classroom: Classroom;
  basePath: string;
  allowedOrigins: readonly string[];
  clientIpHeader: string;
  metrics: Metrics;
  log: Logger;
}

export class ViewerEndpoint {
  readonly #options: ViewerEndpointOptions;
  readonly #tickets = new Map<string, Ticket>();
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, perMessageDeflate: false });

  constructor(options: ViewerEndpointOptions) {
    this.#options = options;
  }

  /** A single-use ticket to watch `terminal` of a student; the path to open it (relative to the base). */
  issue(studentId: string, terminal: string, machine?: string): { ticket: string; path: string; expiresAt: string } {
    const now = Date.now();
    for (const [key, ticket] of this.#tickets) if (ticket.expiresAt <= now) this.#tickets.delete(key);
    if (this.#tickets.size >= TICKETS_KEPT) this.#tickets.delete(this.#tickets.keys().next().value!);
    const ticket = randomBytes(32).toString('base64url');
    this.#tickets.set(ticket, { studentId, terminal, machine, expiresAt: now + TICKET_TTL_MS });
    return { ticket, path: `api/class/viewers/${ticket}`, expiresAt: new Date(now + TICKET_TTL_MS).toISOString() };
  }

  /** For the HTTP server's 'upgrade' event: true when the request was ours. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://server.invalid');
    const rest = url.pathname.startsWith(this.#options.basePath) ? url.pathname.slice(this.#options.basePath.length) : '';
    if (!rest.startsWith('api/class/viewers/')) return false;
    const ticketText = PATH.exec(rest)?.[1];
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', (error) => this.#options.log.debug({ err: error }, 'viewer websocket error'));
      this.#attach(ws, req, ticketText);
    });
    return true;
  }

  #attach(ws: WebSocket, req: IncomingMessage, ticketText: string | undefined): void {
    // No sandbox token here (the ticket stands for it): of the sockets' admission, the Origin rule only.
    const origin = originRefusal(req, this.#options.allowedOrigins, (shown) => ({
      code: 'origin-not-allowed',
      message: `Les pages de ${shown} ne peuvent pas ouvrir cette vue.`,
      hint: 'Ouvrez le tableau de bord servi par ce serveur, ou ajoutez son origine à ALLOWED_ORIGINS.',
    }));
    if (origin) {
      this.#options.metrics.rejected.inc({ reason: origin.reason });
      return refuse(ws, origin.code, origin.error);
    }
    // Tickets are secrets too: the per-address limits on credential checks apply.
    const address = clientKey(req, this.#options.clientIpHeader);
    const limited = this.#options.classroom.auth.admit(address);
    if (limited) {
      this.#options.metrics.rejected.inc({ reason: 'rate-limited' });
      return refuse(ws, CloseCode.tryAgainLater, limited.error);
    }
    const ticket = ticketText === undefined ? undefined : this.#tickets.get(ticketText);
    if (ticketText !== undefined) this.#tickets.delete(ticketText);
    if (!ticket || ticket.expiresAt <= Date.now()) {
      this.#options.classroom.auth.failed(address);
      this.#options.metrics.rejected.inc({ reason: 'forbidden' });
      return refuse(ws, CloseCode.forbidden, {
        code: 'forbidden',
        message: 'Ce ticket de vue est inconnu, déjà utilisé ou expiré.',
        hint: 'Cliquez de nouveau sur « Voir » dans le tableau de bord.',
      });
    }
    const target = this.#options.classroom.viewerTarget(ticket.studentId, ticket.terminal, ticket.machine);
    if (!target) {
      return refuse(ws, CloseCode.notFound, {
        code: 'not-found',
        message: `Ce terminal (${ticket.terminal}) n'est pas ouvert sur la machine de cet élève.`,
        hint: 'Actualisez le tableau de bord : la liste des terminaux ouverts y est à jour.',
      });
    }
    const log = this.#options.log.child({ sandbox: target.sandboxId, terminal: ticket.terminal, viewer: true });
    const { session, stream } = target;
    const status = session.status();
    // Snapshot and subscription in the same tick: no output is lost or shown twice.
    const replay = session.recentOutput();
    const ready: ServerMessage = {
      type: 'ready',
      sandbox: target.sandboxId,
      terminal: ticket.terminal,
      cols: status.cols,
      rows: status.rows,
      resumed: true,
      replayBytes: replay.length,
    };
    ws.send(JSON.stringify(ready));
    for (let offset = 0; offset < replay.length; offset += MAX_SERVER_FRAME_BYTES)
      ws.send(replay.subarray(offset, offset + MAX_SERVER_FRAME_BYTES), { binary: true });
    const watching = stream.watch((chunk) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > VIEWER_BUFFER_LIMIT) {
        refuse(ws, CloseCode.tryAgainLater, {
          code: 'rate-limited',
          message: 'Ce terminal produit plus vite que votre connexion ne lit.',
          hint: 'Rouvrez la vue.',
        });
        return;
      }
      ws.send(chunk, { binary: true });
    });
    const exited = stream.onExit((exit) => {
      if (ws.readyState !== ws.OPEN) return;
      // The student's page hears 4411 or 4410 for these: so does the instructor, not a shell's plain exit.
      const ending = target.ending();
      if (ending?.kind === 'reset') {
        const which = ending.machine === undefined ? "La machine de l'élève" : `La machine ${ending.machine} de l'élève`;
        return refuse(ws, CloseCode.machineReset, {
          code: 'machine-reset',
          message: `${which} a été réinitialisée : ce terminal a été fermé.`,
          hint: "Cliquez de nouveau sur « Voir » quand l'élève aura rouvert ce terminal sur la machine neuve (le tableau de bord le montre).",
        });
      }
      if (ending?.kind === 'gone') {
        return refuse(ws, CloseCode.gone, {
          code: 'gone',
          message: "La machine de l'élève a été arrêtée : ce terminal n'existe plus.",
          hint: "Actualisez le tableau de bord : il montre la machine de l'élève quand il en a une nouvelle.",
        });
      }
      ws.send(JSON.stringify({ type: 'exit', code: exit.code, signal: exit.signal } satisfies ServerMessage));
      ws.close(CloseCode.normal, 'shell exited');
    });
    let told = false;
    ws.on('message', () => {
      // Read-only: whatever the viewer sends is dropped, never written to the terminal.
      if (told) return;
      told = true;
      ws.send(
        JSON.stringify({
          type: 'error',
          code: 'forbidden',
          message: "Vue en lecture seule : ce que vous tapez n'est pas envoyé à l'élève.",
        } satisfies ServerMessage),
      );
    });
    ws.on('close', () => {
      watching.dispose();
      exited.dispose();
      log.info('viewer closed');
    });
    log.info({ replayBytes: replay.length }, 'viewer attached');
  }

  /** Close every viewer (server shutdown). */
  closeAll(): void {
    for (const ws of this.#wss.clients)
      refuse(ws, CloseCode.goingAway, { code: 'server-shutting-down', message: "Le serveur s'arrête.", hint: 'Rouvrez la vue dans un moment.' });
    // Let the close handshakes finish, then drop whoever did not answer.
    setTimeout(() => {
      for (const ws of this.#wss.clients) ws.terminate();
      this.#wss.close();
    }, 200).unref();
  }
}

/** The class's own words are French: said so, for the dashboard to show them as they are. */
function refuse(ws: WebSocket, code: number, error: ErrorInfo): void {
  refuseSocket(ws, code, { lang: 'fr', ...error });
}
