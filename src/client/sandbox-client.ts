// The reader's machine, through the REST API (protocol.ts): created on the
// first Exécuter, reused for the whole visit, remembered across reloads
// (sandbox-memory.ts), destroyed and replaced by « Réinitialiser la machine ».
// On a page with `machines:` it is a lab: the same calls with the machines in
// the body of POST, a terminal URL per machine, and resets of one machine or
// of the whole lab that keep its id.
import { TOKEN_QUERY_PARAM, apiPath } from '../../contracts/wire.ts';
import { readApiError, readCreateSandboxResponse, readResetMachinesResponse } from '../../contracts/wire-readers.ts';
import type { TerminalSize } from '../../contracts/sizes.ts';
import { HintedError } from '../../contracts/errors.ts';
import { SandboxRefusedError, SandboxServerMissingError, statusWords } from './sandbox-errors.ts';
import { apiUrl, type SandboxEndpoint } from './sandbox-endpoint.ts';
import { forget, recall, remember, type KeyValueStore, type RememberedSandbox } from './sandbox-memory.ts';
import { classCredential } from './classroom/class-credential.ts';

export interface SandboxClientOptions {
  endpoint: SandboxEndpoint;
  /** The page's lab: these machines, made and kept together (absent: one machine). */
  machines?: readonly string[] | undefined;
  store?: KeyValueStore;
  fetch?: typeof fetch;
  now?: () => number;
}

/** ws(s)://…/api/sandboxes/:id/terminals/:name?cols&rows[&token], or …/machines/:machine/terminals/:name in a lab. */
export function terminalSocketUrl(endpoint: SandboxEndpoint, id: string, name: string, size: TerminalSize, token: string, machine?: string): string {
  const url = new URL(machine === undefined ? apiPath.terminal(id, name) : apiPath.machineTerminal(id, machine, name), endpoint.base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('cols', String(size.cols));
  url.searchParams.set('rows', String(size.rows));
  // Same origin: the HttpOnly cookie set by POST /api/sandboxes carries the token, so it stays out of URLs.
  if (endpoint.crossOrigin) url.searchParams.set(TOKEN_QUERY_PARAM, token);
  return url.href;
}

/** ws(s)://…/api/sandboxes/:id[/machines/:machine]/namespaces[?token]: the « Vue des namespaces » of that machine. */
export function namespaceSocketUrl(endpoint: SandboxEndpoint, id: string, token: string, machine?: string): string {
  const url = new URL(machine === undefined ? apiPath.namespaces(id) : apiPath.machineNamespaces(id, machine), endpoint.base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (endpoint.crossOrigin) url.searchParams.set(TOKEN_QUERY_PARAM, token);
  return url.href;
}

/** Statuses meaning "that sandbox is not (or no longer) yours": make a new one. */
const LOST = new Set([401, 403, 404, 410]);

/** A server that cannot reset a lab in place (older than these resets: no such route; or a driver that cannot): 404, 405, 501. */
const NO_RESET_IN_PLACE = new Set([404, 405, 501]);

/** This server cannot make one machine of a lab anew: the reader may reset the whole lab. */
export class MachineResetUnavailableError extends HintedError {
  override name = 'MachineResetUnavailableError';
  constructor(machine: string) {
    super(`Ce serveur ne sait pas réinitialiser ${machine} seule.`, 'Cliquez sur « Réinitialiser le lab » : toutes ses machines repartiront de zéro.');
  }
}

export class SandboxClient {
  readonly endpoint: SandboxEndpoint;
  private readonly store: KeyValueStore | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  /** The page's lab, or undefined for one machine. */
  readonly machines: readonly string[] | undefined;
  private sandbox: RememberedSandbox | undefined;
  /** The sandbox was created or checked by this page: no need to ask the server again. */
  private confirmed = false;
  private pending: Promise<RememberedSandbox> | undefined;
  /** What a terminal's shell printed before this page asked (the warm pool's), from the POST that made the sandbox; taken once. */
  private started: { id: string; terminal: string; bytes: Uint8Array } | undefined;

  constructor(options: SandboxClientOptions) {
    this.endpoint = options.endpoint;
    this.store = options.store;
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.now = options.now ?? Date.now;
    this.machines = options.machines;
    this.sandbox = recall(this.store, this.endpoint.base, this.now(), this.machines);
  }

  /** The sandbox this page uses or remembers, if any (not checked with the server). */
  get current(): RememberedSandbox | undefined {
    return this.sandbox;
  }

  /**
   * The reader's sandbox: the remembered one if the server still has it,
   * else a new one. Concurrent calls share one request.
   */
  ensure(): Promise<RememberedSandbox> {
    if (this.sandbox !== undefined && this.confirmed) return Promise.resolve(this.sandbox);
    this.pending ??= this.findOrCreate().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /**
   * A fresh machine (every machine of a lab): made anew in place when the
   * server can (same id, token, expiry and addresses: the page's links and
   * cookie stay good); else destroyed and made again.
   */
  async reset(): Promise<RememberedSandbox> {
    const sandbox = this.sandbox;
    if (sandbox !== undefined) {
      const response = await this.request(apiPath.labReset(sandbox.id), { method: 'POST', headers: this.authorization(sandbox) });
      if (response.ok && this.resetInPlace(sandbox, await response.json().catch(() => undefined))) return this.keep(sandbox);
      if (!response.ok && !NO_RESET_IN_PLACE.has(response.status) && !LOST.has(response.status)) throw await this.refusal(response);
    }
    await this.destroy();
    return this.ensure();
  }

  /** Makes machine `machine` of the lab anew, the others untouched; the lab keeps its id. */
  async resetMachine(machine: string): Promise<RememberedSandbox> {
    const sandbox = await this.ensure();
    const response = await this.request(apiPath.machineReset(sandbox.id, machine), { method: 'POST', headers: this.authorization(sandbox) });
    if (response.ok) return this.keep(sandbox);
    // A server older than these resets answers 404 (no such route); one whose driver cannot, 501.
    if (NO_RESET_IN_PLACE.has(response.status)) throw new MachineResetUnavailableError(machine);
    if (response.status === 410) this.drop();
    throw await this.refusal(response);
  }

  /** The answer of a reset in place: a lab's machines, or a single machine's status (as GET gives it). */
  private resetInPlace(sandbox: RememberedSandbox, body: unknown): boolean {
    if (this.machines !== undefined) return readResetMachinesResponse(body) !== undefined;
    return typeof body === 'object' && body !== null && (body as { id?: unknown }).id === sandbox.id;
  }

  private keep(sandbox: RememberedSandbox): RememberedSandbox {
    this.confirmed = true;
    return sandbox;
  }

  /** Destroys the current sandbox; a sandbox the server already lost counts as destroyed. */
  async destroy(): Promise<void> {
    const sandbox = this.sandbox;
    this.drop();
    if (sandbox === undefined) return;
    const response = await this.request(apiPath.sandbox(sandbox.id), { method: 'DELETE', headers: this.authorization(sandbox) });
    if (!response.ok && !LOST.has(response.status)) throw await this.refusal(response);
  }

  /** Forgets the current sandbox without asking the server (it told us the sandbox is gone). */
  drop(): void {
    this.sandbox = undefined;
    this.confirmed = false;
    forget(this.store, this.endpoint.base, this.machines);
  }

  /** Records which terminals are open, so that a reload reopens them. */
  rememberTerminals(names: readonly string[]): void {
    if (this.sandbox === undefined) return;
    this.sandbox = { ...this.sandbox, terminals: [...names] };
    remember(this.store, this.endpoint.base, this.sandbox, this.machines);
  }

  /** Terminal `name` of the sandbox, on machine `machine` of a lab (undefined: the first machine, or the only one). */
  terminalUrl(sandbox: RememberedSandbox, name: string, size: TerminalSize, machine?: string): string {
    return terminalSocketUrl(this.endpoint, sandbox.id, name, size, sandbox.token, machine);
  }

  /**
   * What terminal `name` of `sandbox` printed before the page asked for it
   * (the warm pool's shell, its prompt: the POST's answer carried it), once;
   * undefined for any other terminal, a lab's machine, or a second time.
   */
  takeStarted(sandbox: RememberedSandbox, name: string, machine?: string): Uint8Array | undefined {
    const started = this.started;
    if (started === undefined || machine !== undefined || started.id !== sandbox.id || started.terminal !== name) return undefined;
    this.started = undefined;
    return started.bytes;
  }

  /** The namespace view of the sandbox, of lab machine `machine` if given. */
  namespacesUrl(sandbox: RememberedSandbox, machine?: string): string {
    return namespaceSocketUrl(this.endpoint, sandbox.id, sandbox.token, machine);
  }

  /**
   * The remembered sandbox if the server still has it (forgotten otherwise);
   * never creates one. Used to reattach after a reload.
   */
  async check(): Promise<RememberedSandbox | undefined> {
    const known = this.sandbox;
    if (known === undefined) return undefined;
    if (this.confirmed) return known;
    const response = await this.request(apiPath.sandbox(known.id), { headers: this.authorization(known) });
    if (response.ok) {
      this.confirmed = true;
      return known;
    }
    if (!LOST.has(response.status)) throw await this.refusal(response);
    this.drop();
    return undefined;
  }

  private async findOrCreate(): Promise<RememberedSandbox> {
    return (await this.check()) ?? this.create();
  }

  private async create(): Promise<RememberedSandbox> {
    // In class mode the server gives a machine only to the holder of a student's link.
    const credential = classCredential(this.endpoint.base);
    const headers: Record<string, string> = credential === undefined ? {} : { authorization: `Bearer ${credential}` };
    // A lab asks for its machines; the server gives the same lab back to a reader who has it (reader cookie).
    const body = this.machines === undefined ? undefined : JSON.stringify({ machines: this.machines });
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.request(apiPath.sandboxes(), { method: 'POST', headers, ...(body === undefined ? {} : { body }) });
    // 201: a new machine; 200: the one this browser already has (its reader cookie; another tab or page made it).
    if (response.status !== 201 && response.status !== 200) throw await this.refusal(response);
    const answer = readCreateSandboxResponse(await response.json().catch(() => undefined));
    if (answer === undefined) throw new SandboxServerMissingError(this.endpoint.base, "la réponse n'est pas celle d'un serveur de machines");
    const { machines, started, ...sandbox } = answer;
    this.started = started && { id: sandbox.id, terminal: started.terminal, bytes: fromBase64(started.output) };
    this.sandbox = { ...sandbox, terminals: [], ...(machines === undefined ? {} : { machines }) };
    this.confirmed = true;
    remember(this.store, this.endpoint.base, this.sandbox, this.machines);
    return this.sandbox;
  }

  private async request(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(apiUrl(this.endpoint, path), { ...init, cache: 'no-store' });
    } catch {
      throw new SandboxServerMissingError(this.endpoint.base, 'connexion impossible');
    }
  }

  private authorization(sandbox: RememberedSandbox): Record<string, string> {
    return { authorization: `Bearer ${sandbox.token}` };
  }

  /** An error for a response that is not what we asked for. */
  private async refusal(response: Response): Promise<Error> {
    const error = readApiError(await response.json().catch(() => undefined));
    // A static host answers 404 or 405 with a page of its own: there is no sandbox server here.
    if (error === undefined) {
      return new SandboxServerMissingError(this.endpoint.base, `HTTP ${response.status} sans réponse d'API`);
    }
    const retryAfter = Number(response.headers.get('retry-after'));
    const words = await import('./refusal-words.ts').then(
      ({ refusalWords }) => refusalWords(response.status, error),
      () => statusWords(response.status),
    );
    return new SandboxRefusedError(response.status, error, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined, words);
  }
}

/** Bytes from standard base64 (the POST's answer checked the alphabet). */
function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}
