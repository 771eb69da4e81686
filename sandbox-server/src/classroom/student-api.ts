// The student's side of the class API, with their link's credential as
// `Authorization: Bearer eleve_…`:
//
//   POST api/sandboxes     their machine (the same one on every call while it lives)
//   GET  api/class/me      who they are, their class, their exercises (✓ or not)
//   POST api/class/progress {page, snippet, commands, statuses}: a snippet they ran;
//                          answers with the exercises, checked right away
//
// Progress is reported by the page (it knows which snippet ran; the exit
// statuses come from the shell's OSC 133 marks): it is a record of what the
// student did, not proof. Proof is the checks, which the server runs itself
// in the machine whenever a command finishes there.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { clientKey } from '../http/client-key.ts';
import { sendError } from '../http/respond.ts';
import { tokenCookie, type CookieSettings } from '../http/sandbox-credential.ts';
import { apiPath, CreateSandboxResponse } from '../../../contracts/protocol.ts';
import { MeReply, ProgressReply, ProgressRequest } from '../../../contracts/class-api.ts';
import type { Classroom } from './classroom.ts';
import { MachineRefusedError } from './machine-allocator.ts';
import { BadRequestError, bearer, readJson, sendBadRequest, sendRefusal, sendReply } from './http-helpers.ts';

export interface StudentApiOptions {
  classroom: Classroom;
  metrics: Metrics;
  log: Logger;
  cookie: CookieSettings;
  clientIpHeader: string;
}

export class StudentApi {
  readonly #options: StudentApiOptions;

  constructor(options: StudentApiOptions) {
    this.#options = options;
  }

  /** POST api/sandboxes in class mode. */
  async createSandbox(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): Promise<void> {
    req.resume();
    const verdict = this.#verify(req);
    if (!verdict.ok) {
      sendRefusal(res, verdict, headers);
      return;
    }
    try {
      const { managed, token } = await this.#options.classroom.machineFor(verdict.student, verdict.classRecord, verdict.credential);
      const machines = managed.sandbox.machines;
      // A lab's machines, as POST api/sandboxes answers them outside class mode: the page routes its snippets by name.
      const body = {
        id: managed.id,
        token,
        expiresAt: managed.expiresAt.toISOString(),
        ...(machines ? { machines: machines.map(({ name, address }) => ({ name, address })) } : {}),
      };
      const maxAgeSeconds = (managed.expiresAt.getTime() - Date.now()) / 1000;
      sendReply(res, 201, CreateSandboxResponse, body, {
        ...headers,
        location: this.#options.cookie.basePath + apiPath.sandbox(managed.id),
        'set-cookie': tokenCookie(this.#options.cookie, managed.id, token, maxAgeSeconds),
      });
    } catch (error) {
      if (!(error instanceof MachineRefusedError)) throw error;
      this.#options.metrics.rejected.inc({ reason: error.status === 503 ? 'host-capacity' : 'bad-request' });
      const extra = error.retryAfterSeconds === undefined ? headers : { ...headers, 'retry-after': String(error.retryAfterSeconds) };
      sendError(res, error.status, error.info, extra);
    }
  }

  /** `rest` under the base path; false when it is not a student route. */
  async handle(req: IncomingMessage, res: ServerResponse, rest: string, headers: Record<string, string>): Promise<boolean> {
    if (rest !== 'api/class/me' && rest !== 'api/class/progress') return false;
    const verdict = this.#verify(req);
    if (!verdict.ok) {
      req.resume();
      sendRefusal(res, verdict, headers);
      return true;
    }
    const { classroom } = this.#options;
    const { student, classRecord } = verdict;
    if (rest === 'api/class/me') {
      if (req.method !== 'GET') return methodNotAllowed(res, 'GET', headers);
      sendReply(
        res,
        200,
        MeReply,
        {
          student: { name: student.name },
          class: { name: classRecord.name, expiresAt: new Date(classRecord.expiresAt).toISOString() },
          exercises: classroom.exerciseStates(student.id),
        },
        headers,
      );
      return true;
    }
    if (req.method !== 'POST') return methodNotAllowed(res, 'POST', headers);
    let run;
    try {
      run = await readJson(req, ProgressRequest);
    } catch (error) {
      if (!(error instanceof BadRequestError)) throw error;
      sendBadRequest(res, error, headers, 'Send {"page","snippet","commands":[…],"statuses":[…]}.');
      return true;
    }
    classroom.store.recordSnippetRun(student.id, run);
    const exercises = await classroom.evaluate(student.id).catch((error: unknown) => {
      this.#options.log.warn({ err: error, student: student.id }, 'exercise checks failed');
      return classroom.exerciseStates(student.id);
    });
    sendReply(res, 200, ProgressReply, { exercises }, headers);
    return true;
  }

  #verify(req: IncomingMessage) {
    const verdict = this.#options.classroom.auth.student(bearer(req), clientKey(req, this.#options.clientIpHeader));
    if (!verdict.ok)
      this.#options.metrics.rejected.inc({ reason: verdict.status === 429 ? 'rate-limited' : verdict.status === 401 ? 'unauthorized' : 'forbidden' });
    return verdict;
  }
}

function methodNotAllowed(res: ServerResponse, allow: string, headers: Record<string, string>): true {
  sendError(res, 405, { code: 'method-not-allowed', message: `Use ${allow} on this URL.` }, { ...headers, allow });
  return true;
}
