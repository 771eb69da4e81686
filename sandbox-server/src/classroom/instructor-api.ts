// The dashboard's API, with the instructor's key as `Authorization: Bearer prof_…`:
//
//   GET  api/class/classes                              the classes
//   POST api/class/classes                              create one: {name, capacity, roster | seats, lifetime, memory, cpus, pids, docker}
//                                                       → 201 {class, links: [{student, token}]} (tokens are shown only now)
//   GET  api/class/classes/:id                          the class as the dashboard shows it (class-view.ts)
// (requests and replies: contracts/class-api.ts)
//   GET  api/class/classes/:id/progress.csv             progress as CSV
//   POST api/class/classes/:id/machines/reset           {students?: [ids]}: fresh machines (all students without a list)
//   POST api/class/classes/:id/machines/destroy         {students?: [ids]}: end machines
//   POST api/class/classes/:id/students/:sid/link       a new link (the old one stops working) → {token}
//   POST api/class/classes/:id/students/:sid/revoke     the link stops working, the machine ends
//   POST api/class/classes/:id/students/:sid/viewers    {terminal}: a ticket to watch that terminal read-only
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { SandboxManager } from '../manager/sandbox-manager.ts';
import { clientKey } from '../http/client-key.ts';
import { sendError } from '../http/respond.ts';
import { ResetMachinesResponse } from '../../../contracts/protocol.ts';
import {
  ClassListReply,
  ClassView,
  CreateClassReply,
  CreatedLink,
  MachinesReply,
  RevokeReply,
  StudentsRequest,
  ViewerRequest,
  ViewerTicket,
} from '../../../contracts/class-api.ts';
import type { Classroom } from './classroom.ts';
import { ClassSettingsError, resolveClassRequest, type ClassDefaults } from './class-settings.ts';
import { buildClassView, describeClass } from './class-view.ts';
import { BadRequestError, bearer, readJson, sendBadRequest, sendRefusal, sendReply } from './http-helpers.ts';
import { instructorEvents } from './messages.ts';
import { progressCsv } from './progress-csv.ts';
import { ClassroomInputError, type ClassRecord, type StudentRecord } from './store.ts';
import type { ViewerEndpoint } from './viewer-endpoint.ts';

export interface InstructorApiOptions {
  classroom: Classroom;
  viewers: ViewerEndpoint;
  manager: SandboxManager;
  defaults: ClassDefaults;
  maxSandboxes: number;
  metrics: Metrics;
  log: Logger;
  clientIpHeader: string;
}

export class InstructorApi {
  readonly #options: InstructorApiOptions;

  constructor(options: InstructorApiOptions) {
    this.#options = options;
  }

  /** `rest` under the base path; false when it is not a dashboard route. */
  async handle(req: IncomingMessage, res: ServerResponse, rest: string, headers: Record<string, string>): Promise<boolean> {
    if (rest !== 'api/class/classes' && !rest.startsWith('api/class/classes/')) return false;
    const verdict = this.#options.classroom.auth.instructor(bearer(req), clientKey(req, this.#options.clientIpHeader));
    if (!verdict.ok) {
      req.resume();
      this.#options.metrics.rejected.inc({ reason: verdict.status === 429 ? 'rate-limited' : verdict.status === 401 ? 'unauthorized' : 'forbidden' });
      sendRefusal(res, verdict, headers);
      return true;
    }
    try {
      await this.#route(req, res, rest.slice('api/class/classes'.length), headers);
    } catch (error) {
      if (error instanceof BadRequestError || error instanceof ClassSettingsError || error instanceof ClassroomInputError) {
        sendBadRequest(res, error, headers);
        return true;
      }
      throw error;
    }
    return true;
  }

  async #route(req: IncomingMessage, res: ServerResponse, path: string, headers: Record<string, string>): Promise<void> {
    const { classroom } = this.#options;
    const { store } = classroom;
    if (path === '') {
      if (req.method === 'GET') {
        sendReply(res, 200, ClassListReply, { classes: store.listClasses().map((record) => describeClass(record, record.students)) }, headers);
      } else if (req.method === 'POST') {
        // resolveClassRequest parses the body with CreateClassRequest and words each problem itself.
        const { newClass, names } = resolveClassRequest(await readJson(req, z.unknown()), this.#options.defaults);
        const { classRecord, links } = store.createClass(newClass, names);
        this.#options.log.info({ class: classRecord.id, students: links.length }, 'class created from the dashboard');
        sendReply(
          res,
          201,
          CreateClassReply,
          {
            class: describeClass(classRecord, links.length),
            links: links.map(({ student, token }) => ({ student: { id: student.id, name: student.name, seat: student.seat }, token })),
          },
          headers,
        );
      } else {
        methodNotAllowed(res, 'GET, POST', headers);
      }
      return;
    }
    const match = /^\/([0-9a-f]{12})(\/.*)?$/.exec(path);
    const classRecord = match ? store.getClass(match[1]!) : undefined;
    if (!match || !classRecord) {
      req.resume();
      sendError(
        res,
        404,
        { code: 'not-found', lang: 'fr', message: "Cette classe n'existe pas (ou plus).", hint: 'Choisissez une classe dans la liste.' },
        headers,
      );
      return;
    }
    const sub = match[2] ?? '';
    if (sub === '') {
      if (req.method !== 'GET') return methodNotAllowed(res, 'GET', headers);
      const view = await buildClassView(classroom, classRecord, {
        driver: this.#options.defaults.driver,
        maxSandboxes: this.#options.maxSandboxes,
        sandboxes: this.#options.manager.sandboxes(),
      });
      sendReply(res, 200, ClassView, view, headers);
      return;
    }
    if (sub === '/progress.csv') {
      if (req.method !== 'GET') return methodNotAllowed(res, 'GET', headers);
      const csv = progressCsv(store, classRecord, classroom.exercises);
      const filename = `progression-${
        classRecord.name
          .normalize('NFD')
          .replace(/[^A-Za-z0-9]+/g, '-')
          .replace(/^-|-$/g, '') || classRecord.id
      }.csv`;
      res.writeHead(200, {
        ...headers,
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${filename}"`,
        'cache-control': 'no-store',
      });
      res.end(csv);
      return;
    }
    if (sub === '/machines/reset' || sub === '/machines/destroy') {
      if (req.method !== 'POST') return methodNotAllowed(res, 'POST', headers);
      const body = await readJson(req, StudentsRequest);
      const students = this.#pick(classRecord, body.students);
      const count = await classroom.resetMachines(classRecord, students, sub === '/machines/reset');
      sendReply(res, 200, MachinesReply, { machines: count }, headers);
      return;
    }
    const machineReset = /^\/students\/([0-9a-f]{16})\/machines\/([^/]+)\/reset$/.exec(sub);
    if (machineReset) {
      await this.#resetLabMachine(req, res, classRecord, machineReset[1]!, decodeURIComponent(machineReset[2]!), headers);
      return;
    }
    const studentMatch = /^\/students\/([0-9a-f]{16})\/(link|revoke|viewers)$/.exec(sub);
    const student = studentMatch ? store.student(studentMatch[1]!) : undefined;
    if (!studentMatch || !student || student.classId !== classRecord.id) {
      req.resume();
      sendError(res, 404, { code: 'not-found', lang: 'fr', message: "Pas d'élève ni d'action à cette adresse dans cette classe." }, headers);
      return;
    }
    if (req.method !== 'POST') return methodNotAllowed(res, 'POST', headers);
    switch (studentMatch[2]) {
      case 'link': {
        req.resume();
        const { token } = store.issueStudentLink(student.id);
        store.addEvent(classRecord.id, student.id, 'new-link', instructorEvents.newLink(student.name));
        sendReply(res, 200, CreatedLink, { student: { id: student.id, name: student.name, seat: student.seat }, token }, headers);
        return;
      }
      case 'revoke':
        req.resume();
        await classroom.revoke(classRecord, [student]);
        sendReply(res, 200, RevokeReply, { revoked: true }, headers);
        return;
      default: {
        const { terminal, machine } = await readJson(req, ViewerRequest);
        if (!classroom.viewerTarget(student.id, terminal, machine)) {
          sendError(
            res,
            404,
            {
              code: 'not-found',
              lang: 'fr',
              message: `Le terminal ${terminal}${machine === undefined ? '' : ` de la machine ${machine}`} de ${student.name} n'est pas ouvert.`,
              hint: 'Actualisez : la liste des terminaux ouverts y est à jour.',
            },
            headers,
          );
          return;
        }
        sendReply(res, 200, ViewerTicket, this.#options.viewers.issue(student.id, terminal, machine), headers);
      }
    }
  }

  /** POST …/students/:sid/machines/:machine/reset: one machine of the student's lab made anew, the others untouched. */
  async #resetLabMachine(
    req: IncomingMessage,
    res: ServerResponse,
    classRecord: ClassRecord,
    studentId: string,
    machine: string,
    headers: Record<string, string>,
  ): Promise<void> {
    req.resume();
    if (req.method !== 'POST') return methodNotAllowed(res, 'POST', headers);
    const student = this.#options.classroom.store.student(studentId);
    if (!student || student.classId !== classRecord.id) {
      sendError(res, 404, { code: 'not-found', lang: 'fr', message: "Pas d'élève à cette adresse dans cette classe." }, headers);
      return;
    }
    try {
      const machines = await this.#options.classroom.resetLabMachine(classRecord, student, machine);
      sendReply(res, 200, ResetMachinesResponse, { machines }, headers);
    } catch (error) {
      if (error instanceof RangeError) {
        sendError(
          res,
          404,
          {
            code: 'not-found',
            lang: 'fr',
            message: `${student.name} n'a pas de machine ${machine.slice(0, 40)} en marche.`,
            hint: 'Actualisez : le tableau de bord montre les machines de chaque lab.',
          },
          headers,
        );
        return;
      }
      this.#options.log.error({ err: error, student: student.id, machine }, 'lab machine reset failed');
      sendError(
        res,
        500,
        {
          code: 'sandbox-failed',
          lang: 'fr',
          message: `La machine ${machine.slice(0, 40)} de ${student.name} n'a pas pu être refaite : son lab a été arrêté.`,
          hint: "L'élève en obtient un nouveau en cliquant sur Exécuter ; le journal du serveur dit pourquoi.",
        },
        headers,
      );
    }
  }

  /** The class's students named by id, or all of them. */
  #pick(classRecord: ClassRecord, ids: string[] | undefined): StudentRecord[] {
    const students = this.#options.classroom.store.students(classRecord.id);
    if (ids === undefined) return students;
    const wanted = new Set(ids);
    const picked = students.filter((student) => wanted.has(student.id));
    if (picked.length !== wanted.size) throw new BadRequestError('Some of these students are not in this class.');
    return picked;
  }
}

function methodNotAllowed(res: ServerResponse, allow: string, headers: Record<string, string>): void {
  sendError(res, 405, { code: 'method-not-allowed', message: `Use ${allow} on this URL.` }, { ...headers, allow });
}
