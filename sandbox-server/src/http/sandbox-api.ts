// REST for sandbox lifetimes: POST <base>api/sandboxes, GET and DELETE
// <base>api/sandboxes/:id. Streams (terminals) live on the WebSocket side.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { CapacityError, ShuttingDownError, type SandboxManager } from '../manager/sandbox-manager.ts';
import { ResetNotSupportedError, type ManagedSandbox } from '../manager/managed-sandbox.ts';
import { isSandboxId } from '../../../contracts/names.ts';
import { CreateSandboxRequest, apiPath, type CreateSandboxResponse, type ErrorInfo, type ResetMachinesResponse } from '../../../contracts/protocol.ts';
import { readJson } from '../classroom/http-helpers.ts';
import { LabsNotSupportedError } from '../drivers/driver.ts';
import { clientKey } from './client-key.ts';
import { newReaderId, presentedReader, readerCookie, readerKey } from './reader-cookie.ts';
import { sendEmpty, sendError, sendJson } from './respond.ts';
import { clearedTokenCookie, presentedToken, tokenCookie, type CookieSettings } from './sandbox-credential.ts';
import { describeTombstone } from './tombstone-message.ts';

/** Class mode's part in this API (classroom/class-mode.ts): who may get a sandbox, and keep using it. */
export interface ClassGate {
  /** Answers POST api/sandboxes for the student whose link the request carries. */
  createSandbox(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): Promise<void>;
  /** Why the holder of this sandbox's token may no longer use it (the student's link was revoked or expired). */
  attachRefusal(sandboxId: string): ErrorInfo | undefined;
}

export interface SandboxApiOptions {
  manager: SandboxManager;
  metrics: Metrics;
  log: Logger;
  cookie: CookieSettings;
  clientIpHeader: string;
  maxAgeMs: number;
  /** Most machines a lab may hold (MAX_MACHINES_PER_LAB). */
  maxMachinesPerLab?: number;
  /** Set in class mode. */
  classGate?: ClassGate | undefined;
}

export class SandboxApi {
  private readonly options: SandboxApiOptions;
  /** Creations under way, by reader: a second tab asking at the same moment waits for the first one's machine. */
  private readonly creating = new Map<string, ReturnType<SandboxManager['create']>>();

  constructor(options: SandboxApiOptions) {
    this.options = options;
  }

  /** Handle `rest` (the path after the base, e.g. "api/sandboxes/abc"); false when it is not an API route. */
  async handle(req: IncomingMessage, res: ServerResponse, rest: string, url: URL, headers: Record<string, string>): Promise<boolean> {
    if (rest === apiPath.sandboxes()) {
      if (req.method !== 'POST') return this.methodNotAllowed(res, 'POST', headers);
      if (this.options.classGate) await this.options.classGate.createSandbox(req, res, headers);
      else await this.create(req, res, headers);
      return true;
    }
    const reset = RESET_PATTERN.exec(rest);
    if (reset) {
      if (req.method !== 'POST') return this.methodNotAllowed(res, 'POST', headers);
      const managed = this.authorize(req, res, url, reset[1]!, headers);
      if (managed) await this.reset(res, managed, reset[2], headers);
      return true;
    }
    const match = /^api\/sandboxes\/([^/]+)$/.exec(rest);
    if (!match) return false;
    const id = match[1]!;
    if (req.method !== 'GET' && req.method !== 'DELETE') return this.methodNotAllowed(res, 'GET, DELETE', headers);
    const managed = this.authorize(req, res, url, id, headers);
    if (!managed) return true;
    if (req.method === 'GET') {
      sendJson(res, 200, managed.status(), headers);
      return true;
    }
    await this.options.manager.destroy(id, 'delete');
    sendEmpty(res, 204, { ...headers, 'set-cookie': clearedTokenCookie(this.options.cookie, id) });
    return true;
  }

  /**
   * POST api/sandboxes. A browser that presents its reader cookie gets the
   * machine it already has (200, from any tab or page), or a new one; a
   * browser seen for the first time gets a new machine and a reader cookie
   * (201). Concurrent requests of one reader share one creation.
   */
  private async create(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): Promise<void> {
    const { manager, metrics, log } = this.options;
    const address = clientKey(req, this.options.clientIpHeader);
    // The body, if any: which machines (a lab) the page needs.
    let machines: string[] | undefined;
    try {
      machines = (await readJson(req, CreateSandboxRequest)).machines;
    } catch (error) {
      sendError(
        res,
        400,
        { code: 'invalid-request', message: (error as Error).message, hint: 'Send no body for one machine, or {"machines":["node1","node2"]} for a lab.' },
        headers,
      );
      return;
    }
    const maxMachines = this.options.maxMachinesPerLab ?? 5;
    if (machines && machines.length > maxMachines) {
      sendError(
        res,
        400,
        {
          code: 'invalid-request',
          message: `A lab holds at most ${maxMachines} machines on this server; ${machines.length} were asked.`,
          hint: 'Ask for fewer machines, or raise MAX_MACHINES_PER_LAB in the server configuration.',
        },
        headers,
      );
      return;
    }
    const presented = presentedReader(req);
    const reader = presented ?? newReaderId();
    const client = readerKey(reader);
    const cookies = (id: string, token: string) => [
      tokenCookie(this.options.cookie, id, token, this.options.maxAgeMs / 1000),
      ...(presented === undefined ? [readerCookie(this.options.cookie, reader)] : []),
    ];
    try {
      // The reader's machine, or lab, of the same machines (a page of a chapter sharing one lab finds it again).
      const fits = (managed: ManagedSandbox) =>
        sameMachines(
          managed.sandbox.machines?.map(({ name }) => name),
          machines,
        );
      const pending = presented === undefined ? undefined : (await this.creating.get(client))?.sandbox;
      const existing = presented === undefined ? undefined : (manager.ownedSandbox(client, fits) ?? (pending && fits(pending) ? pending : undefined));
      if (existing?.state === 'running') {
        existing.claim();
        const token = existing.tokenForOwner();
        const body: CreateSandboxResponse = {
          id: existing.id,
          token,
          expiresAt: existing.expiresAt.toISOString(),
          ...machinesOf(existing),
          ...startedOf(existing),
        };
        sendJson(res, 200, body, {
          ...headers,
          location: this.options.cookie.basePath + apiPath.sandbox(existing.id),
          'set-cookie': cookies(existing.id, token),
        });
        return;
      }
      const creation = manager.create(client, { address, claimed: presented !== undefined, ...(machines ? { machines } : {}) });
      this.creating.set(client, creation);
      let created: Awaited<typeof creation>;
      try {
        created = await creation;
      } finally {
        if (this.creating.get(client) === creation) this.creating.delete(client);
      }
      const { sandbox, token } = created;
      const body: CreateSandboxResponse = { id: sandbox.id, token, expiresAt: sandbox.expiresAt.toISOString(), ...machinesOf(sandbox), ...startedOf(sandbox) };
      sendJson(res, 201, body, {
        ...headers,
        location: this.options.cookie.basePath + apiPath.sandbox(sandbox.id),
        'set-cookie': cookies(sandbox.id, token),
      });
    } catch (error) {
      if (error instanceof CapacityError) {
        metrics.rejected.inc({ reason: error.scope === 'host' ? 'host-capacity' : 'client-capacity' });
        log.warn({ client: address, reader: presented !== undefined, scope: error.scope }, 'sandbox refused: capacity');
        sendError(
          res,
          error.scope === 'host' ? 503 : 429,
          { code: error.scope === 'host' ? 'server-at-capacity' : 'too-many-sandboxes', message: error.message, hint: error.hint },
          { ...headers, 'retry-after': String(error.retryAfterSeconds) },
        );
      } else if (error instanceof LabsNotSupportedError) {
        sendError(res, 501, { code: 'sandbox-failed', message: error.message, hint: error.hint }, headers);
      } else if (error instanceof ShuttingDownError) {
        metrics.rejected.inc({ reason: 'shutting-down' });
        sendError(res, 503, { code: 'server-shutting-down', message: error.message, hint: 'Try again in a moment.' }, { ...headers, 'retry-after': '10' });
      } else {
        log.error({ client, err: error }, 'sandbox creation failed');
        sendError(
          res,
          500,
          {
            code: 'sandbox-failed',
            message: 'The server could not start a sandbox.',
            hint: 'Try again; if it keeps failing, the server log (message "sandbox creation failed") says why.',
          },
          headers,
        );
      }
    }
  }

  /**
   * POST …/machines/:machine/reset (one machine) or …/reset (every machine of
   * the lab): answers once the machines are made anew.
   */
  private async reset(res: ServerResponse, managed: ManagedSandbox, machine: string | undefined, headers: Record<string, string>): Promise<void> {
    const machines = managed.sandbox.machines;
    if (!machines && machine !== undefined) {
      sendError(
        res,
        404,
        {
          code: 'not-found',
          message: `This sandbox is a single machine: it has no machine ${JSON.stringify(machine.slice(0, 40))}.`,
          hint: `POST api/sandboxes/${managed.id}/reset makes the machine itself anew.`,
        },
        headers,
      );
      return;
    }
    if (!machines) return this.resetLoneMachine(res, managed, headers);
    if (machine !== undefined && !machines.some(({ name }) => name === machine)) {
      sendError(
        res,
        404,
        {
          code: 'not-found',
          message: `This lab has no machine ${JSON.stringify(machine.slice(0, 40))}.`,
          hint: `Its machines are ${machines.map(({ name }) => name).join(', ')}.`,
        },
        headers,
      );
      return;
    }
    try {
      const done = await this.options.manager.resetMachines(managed.id, machine === undefined ? machines.map(({ name }) => name) : [machine]);
      const body: ResetMachinesResponse = { machines: done.map(({ name, address }) => ({ name, address })) };
      sendJson(res, 200, body, headers);
    } catch (error) {
      if (error instanceof ResetNotSupportedError) {
        sendError(res, 501, { code: 'sandbox-failed', message: error.message, hint: 'Replace the whole lab with DELETE then POST api/sandboxes.' }, headers);
        return;
      }
      this.options.log.error({ sandbox: managed.id, machine, err: error }, 'lab reset failed');
      sendError(
        res,
        500,
        {
          code: 'sandbox-failed',
          message: 'The server could not make the machine anew; the lab was ended.',
          hint: 'Ask for a new lab (reload the page); if it keeps failing, the server log (message "lab reset failed") says why.',
        },
        headers,
      );
    }
  }

  /** POST …/reset of a lone machine: made anew in place (same id, token, end); answers its status, as GET does. */
  private async resetLoneMachine(res: ServerResponse, managed: ManagedSandbox, headers: Record<string, string>): Promise<void> {
    try {
      sendJson(res, 200, (await this.options.manager.resetSandbox(managed.id)).status(), headers);
    } catch (error) {
      if (error instanceof ResetNotSupportedError) {
        sendError(res, 501, { code: 'sandbox-failed', message: error.message, hint: 'Replace it with DELETE then POST api/sandboxes.' }, headers);
        return;
      }
      this.options.log.error({ sandbox: managed.id, err: error }, 'machine reset failed');
      sendError(
        res,
        500,
        {
          code: 'sandbox-failed',
          message: 'The server could not make the machine anew; it was ended.',
          hint: 'Ask for a new machine (reload the page); if it keeps failing, the server log (message "machine reset failed") says why.',
        },
        headers,
      );
    }
  }

  /** The sandbox if the request holds its token; otherwise answers 404/410/401/403 and returns undefined. */
  private authorize(req: IncomingMessage, res: ServerResponse, url: URL, id: string, headers: Record<string, string>): ManagedSandbox | undefined {
    const { manager, metrics } = this.options;
    const managed = isSandboxId(id) ? manager.get(id) : undefined;
    if (!managed) {
      const tombstone = isSandboxId(id) ? manager.tombstone(id) : undefined;
      if (tombstone) {
        metrics.rejected.inc({ reason: 'gone' });
        sendError(res, 410, describeTombstone(tombstone), headers);
      } else {
        metrics.rejected.inc({ reason: 'not-found' });
        sendError(
          res,
          404,
          { code: 'not-found', message: `No sandbox ${JSON.stringify(id)}.`, hint: 'Create one with POST /api/sandboxes (reloading the lesson page does it).' },
          headers,
        );
      }
      return undefined;
    }
    const token = presentedToken(req, url, false);
    if (token === undefined) {
      metrics.rejected.inc({ reason: 'unauthorized' });
      sendError(
        res,
        401,
        {
          code: 'unauthorized',
          message: 'This request carries no sandbox token.',
          hint: 'Send the token returned by POST /api/sandboxes as "Authorization: Bearer <token>" (pages on this server send the cookie automatically).',
        },
        { ...headers, 'www-authenticate': 'Bearer' },
      );
      return undefined;
    }
    if (!managed.tokenMatches(token)) {
      metrics.rejected.inc({ reason: 'forbidden' });
      sendError(
        res,
        403,
        {
          code: 'forbidden',
          message: 'This token does not belong to that sandbox.',
          hint: 'Use the token returned when this sandbox was created, or create your own sandbox.',
        },
        headers,
      );
      return undefined;
    }
    const refusal = this.options.classGate?.attachRefusal(id);
    if (refusal) {
      metrics.rejected.inc({ reason: 'forbidden' });
      sendError(res, 403, refusal, headers);
      return undefined;
    }
    return managed;
  }

  private methodNotAllowed(res: ServerResponse, allow: string, headers: Record<string, string>): true {
    sendError(res, 405, { code: 'method-not-allowed', message: `Use ${allow} on this URL.` }, { ...headers, allow });
    return true;
  }
}

/** POST api/sandboxes/:id/reset, or …/machines/:machine/reset. */
const RESET_PATTERN = /^api\/sandboxes\/([^/]+)\/(?:machines\/([^/]+)\/)?reset$/;

/** Whether a sandbox of machines `held` answers a request for `asked` (undefined: one machine). */
function sameMachines(held: readonly string[] | undefined, asked: readonly string[] | undefined): boolean {
  if (held === undefined || asked === undefined) return held === asked;
  return held.length === asked.length && held.every((name, index) => name === asked[index]);
}

function machinesOf(managed: ManagedSandbox): Pick<CreateSandboxResponse, 'machines'> {
  const machines = managed.sandbox.machines;
  return machines ? { machines: machines.map(({ name, address }) => ({ name, address })) } : {};
}

/** The warm pool's shell, prompt printed, that no page has shown yet: the page shows it at once (create and first prompt in one round trip). */
function startedOf(managed: ManagedSandbox): Pick<CreateSandboxResponse, 'started'> {
  const started = managed.startedAhead();
  return started ? { started: { terminal: started.terminal, output: started.output.toString('base64') } } : {};
}
