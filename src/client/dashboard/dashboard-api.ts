// The dashboard's calls to the class API (contracts/class-api.ts), with the
// instructor's key. Every reply is parsed with its schema; errors come back as
// DashboardApiError carrying the server's French message and hint.
import { inFrench } from '../../../contracts/messages.fr.ts';
import type { z } from 'zod';
import {
  ClassListReply,
  ClassView,
  CreateClassReply,
  type CreateClassRequest,
  CreatedLink,
  MachinesReply,
  RevokeReply,
  type StudentsRequest,
  ViewerTicket,
} from '../../../contracts/class-api.ts';
import { HintedError } from '../../../contracts/errors.ts';
import { ApiErrorBody, ResetMachinesResponse } from '../../../contracts/protocol.ts';
import { apiUrl, type SandboxEndpoint } from '../sandbox-endpoint.ts';

export type { ClassSummary, ClassView, CreatedLink, LabMachineView, StudentView } from '../../../contracts/class-api.ts';
export type NewClassForm = CreateClassRequest;

export class DashboardApiError extends HintedError<string | undefined> {
  override name = 'DashboardApiError';
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string, hint?: string) {
    super(message, hint);
    this.status = status;
    this.code = code;
  }
}

export class DashboardApi {
  readonly endpoint: SandboxEndpoint;
  readonly #key: () => string | undefined;

  constructor(endpoint: SandboxEndpoint, key: () => string | undefined) {
    this.endpoint = endpoint;
    this.#key = key;
  }

  async classes(): Promise<ClassListReply['classes']> {
    return (await this.#call(ClassListReply, 'GET', 'api/class/classes')).classes;
  }

  async createClass(form: NewClassForm): Promise<CreateClassReply> {
    return this.#call(CreateClassReply, 'POST', 'api/class/classes', form);
  }

  async classView(classId: string): Promise<ClassView> {
    return this.#call(ClassView, 'GET', `api/class/classes/${classId}`);
  }

  async machines(classId: string, action: 'reset' | 'destroy', students?: string[]): Promise<number> {
    const body: StudentsRequest = students ? { students } : {};
    return (await this.#call(MachinesReply, 'POST', `api/class/classes/${classId}/machines/${action}`, body)).machines;
  }

  async newLink(classId: string, studentId: string): Promise<CreatedLink> {
    return this.#call(CreatedLink, 'POST', `api/class/classes/${classId}/students/${studentId}/link`);
  }

  async revoke(classId: string, studentId: string): Promise<void> {
    await this.#call(RevokeReply, 'POST', `api/class/classes/${classId}/students/${studentId}/revoke`);
  }

  /** One machine of a student's lab made anew, the others untouched. */
  async resetLabMachine(classId: string, studentId: string, machine: string): Promise<void> {
    await this.#call(ResetMachinesResponse, 'POST', `api/class/classes/${classId}/students/${studentId}/machines/${encodeURIComponent(machine)}/reset`);
  }

  /** A single-use ticket and the WebSocket URL to watch a student's terminal (`machine`: of their lab). */
  async viewer(classId: string, studentId: string, terminal: string, machine?: string): Promise<string> {
    const { path } = await this.#call(ViewerTicket, 'POST', `api/class/classes/${classId}/students/${studentId}/viewers`, {
      terminal,
      ...(machine === undefined ? {} : { machine }),
    });
    const url = new URL(apiUrl(this.endpoint, path));
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.href;
  }

  /** The progress CSV, as a file the browser can save. */
  async progressCsv(classId: string): Promise<{ blob: Blob; filename: string }> {
    const response = await this.#request('GET', `api/class/classes/${classId}/progress.csv`);
    const filename = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'progression.csv';
    return { blob: await response.blob(), filename };
  }

  /** A call whose reply is parsed with its schema: a reply of another shape is an error, not a cast. */
  async #call<S extends z.ZodType>(schema: S, method: string, path: string, body?: unknown): Promise<z.output<S>> {
    const response = await this.#request(method, path, body);
    const parsed = schema.safeParse(await response.json().catch(() => undefined));
    if (parsed.success) return parsed.data;
    throw new DashboardApiError(
      response.status,
      'bad-reply',
      `Le serveur de la classe a envoyé une réponse inattendue à ${method} ${path}.`,
      'Rechargez la page ; si cela continue, le tableau de bord et le serveur ne sont sans doute pas de la même version.',
    );
  }

  async #request(method: string, path: string, body?: unknown): Promise<Response> {
    const key = this.#key();
    const headers: Record<string, string> = {};
    if (key !== undefined) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(apiUrl(this.endpoint, path), { method, headers, cache: 'no-store', body: body === undefined ? null : JSON.stringify(body) });
    } catch {
      throw new DashboardApiError(0, 'unreachable', `Le serveur de la classe ne répond pas (${this.endpoint.base}).`, "Vérifiez qu'il tourne, puis réessayez.");
    }
    if (response.ok) return response;
    const error = ApiErrorBody.safeParse(await response.json().catch(() => undefined)).data?.error;
    const words = error === undefined ? undefined : inFrench(error);
    throw new DashboardApiError(response.status, error?.code ?? 'unknown', words?.message ?? `Le serveur a répondu HTTP ${response.status}.`, words?.hint);
  }
}
