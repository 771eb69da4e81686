// The dashboard's calls to the class API (sandbox-server/src/classroom/
// instructor-api.ts), with the instructor's key. Errors come back as
// DashboardApiError carrying the server's French message and hint.
import type { ClassView } from '../../../sandbox-server/src/classroom/class-view.ts';
import { apiUrl, type SandboxEndpoint } from '../sandbox-endpoint.ts';

export type { ClassView, StudentView } from '../../../sandbox-server/src/classroom/class-view.ts';
export type ClassSummary = ClassView['class'];

export interface CreatedLink {
  student: { id: string; name: string; seat: number };
  token: string;
}

export interface NewClassForm {
  name: string;
  capacity?: number;
  roster?: string[];
  seats?: number;
  lifetime?: string;
  memory?: string;
  cpus?: string;
  docker?: boolean;
}

export class DashboardApiError extends Error {
  override name = 'DashboardApiError';
  readonly status: number;
  readonly code: string;
  readonly hint: string | undefined;
  constructor(status: number, code: string, message: string, hint?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.hint = hint;
  }
}

export class DashboardApi {
  readonly endpoint: SandboxEndpoint;
  readonly #key: () => string | undefined;

  constructor(endpoint: SandboxEndpoint, key: () => string | undefined) {
    this.endpoint = endpoint;
    this.#key = key;
  }

  async classes(): Promise<ClassSummary[]> {
    return ((await this.#json('GET', 'api/class/classes')) as { classes: ClassSummary[] }).classes;
  }

  async createClass(form: NewClassForm): Promise<{ class: ClassSummary; links: CreatedLink[] }> {
    return (await this.#json('POST', 'api/class/classes', form)) as { class: ClassSummary; links: CreatedLink[] };
  }

  async classView(classId: string): Promise<ClassView> {
    return (await this.#json('GET', `api/class/classes/${classId}`)) as ClassView;
  }

  async machines(classId: string, action: 'reset' | 'destroy', students?: string[]): Promise<number> {
    return ((await this.#json('POST', `api/class/classes/${classId}/machines/${action}`, students ? { students } : {})) as { machines: number }).machines;
  }

  async newLink(classId: string, studentId: string): Promise<CreatedLink> {
    return (await this.#json('POST', `api/class/classes/${classId}/students/${studentId}/link`)) as CreatedLink;
  }

  async revoke(classId: string, studentId: string): Promise<void> {
    await this.#json('POST', `api/class/classes/${classId}/students/${studentId}/revoke`);
  }

  /** A single-use ticket and the WebSocket URL to watch a student's terminal. */
  async viewer(classId: string, studentId: string, terminal: string): Promise<string> {
    const { path } = (await this.#json('POST', `api/class/classes/${classId}/students/${studentId}/viewers`, { terminal })) as { path: string };
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

  async #json(method: string, path: string, body?: unknown): Promise<unknown> {
    return (await this.#request(method, path, body)).json();
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
      throw new DashboardApiError(0, 'unreachable', `Le serveur de la classe ne répond pas (${this.endpoint.base}).`, 'Vérifiez qu\'il tourne, puis réessayez.');
    }
    if (response.ok) return response;
    const error = ((await response.json().catch(() => undefined)) as { error?: { code: string; message: string; hint?: string } } | undefined)?.error;
    throw new DashboardApiError(response.status, error?.code ?? 'unknown', error?.message ?? `Le serveur a répondu HTTP ${response.status}.`, error?.hint);
  }
}
