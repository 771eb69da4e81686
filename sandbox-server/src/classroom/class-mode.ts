// Class mode, put together for the server (http/server.ts): the database, the
// exercises, the driver wrapper that watches terminals, the classroom and
// its HTTP and WebSocket endpoints. Off by default (CLASS_MODE=false): one
// reader on their own machine needs none of it, and then every class URL
// answers that class mode is off.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from '../config.ts';
import type { SandboxDriver } from '../drivers/driver.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { SandboxManager } from '../manager/sandbox-manager.ts';
import { sendError } from '../http/respond.ts';
import type { ErrorInfo } from '../../../contracts/protocol.ts';
import { ClassAuth } from './class-auth.ts';
import { classDefaults } from './class-settings.ts';
import { Classroom } from './classroom.ts';
import { openClassroomDatabase } from './database.ts';
import { loadExercises, type Exercise } from './exercises.ts';
import { InstructorApi } from './instructor-api.ts';
import { instructorErrors } from './messages.ts';
import { ObservedDriver } from './observed-driver.ts';
import { CredentialRateLimiter } from './rate-limiter.ts';
import { ClassroomStore } from './store.ts';
import { StudentApi } from './student-api.ts';
import { ViewerEndpoint } from './viewer-endpoint.ts';

type Headers = Record<string, string>;

export class ClassMode {
  /** Give this driver to the sandbox manager: it is the server's driver, watched. */
  readonly driver: ObservedDriver;
  readonly store: ClassroomStore;
  readonly exercises: readonly Exercise[];
  readonly #config: Config;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  #classroom: Classroom | undefined;
  #students: StudentApi | undefined;
  #instructor: InstructorApi | undefined;
  #viewers: ViewerEndpoint | undefined;

  private constructor(config: Config, driver: SandboxDriver, store: ClassroomStore, exercises: readonly Exercise[], log: Logger, metrics: Metrics) {
    this.#config = config;
    this.#log = log;
    this.#metrics = metrics;
    this.store = store;
    this.exercises = exercises;
    // The classroom is made after the manager, which needs this driver first.
    this.driver = new ObservedDriver(driver, { commandFinished: (sandboxId) => this.#classroom?.commandFinished(sandboxId) });
  }

  /** Opens the database (migrating it) and reads the exercises; throws with what to fix. */
  static async open(config: Config, driver: SandboxDriver, log: Logger, metrics: Metrics): Promise<ClassMode> {
    const exercises = await loadExercises(config.contentDir);
    const store = new ClassroomStore(openClassroomDatabase(config.classDb));
    log.info({ db: config.classDb, exercises: exercises.map((exercise) => exercise.key) }, 'class mode on');
    return new ClassMode(config, driver, store, exercises, log, metrics);
  }

  /** Starts serving classes over `manager`. */
  start(manager: SandboxManager): void {
    const config = this.#config;
    const log = this.#log.child({ component: 'classroom' });
    const auth = new ClassAuth(this.store, new CredentialRateLimiter());
    const classroom = new Classroom({ store: this.store, auth, manager, driver: this.driver, exercises: this.exercises, config, log });
    this.#classroom = classroom;
    this.#viewers = new ViewerEndpoint({
      classroom,
      basePath: config.basePath,
      allowedOrigins: config.allowedOrigins,
      clientIpHeader: config.clientIpHeader,
      metrics: this.#metrics,
      log,
    });
    this.#students = new StudentApi({
      classroom,
      metrics: this.#metrics,
      log,
      cookie: { basePath: config.basePath, secure: config.cookieSecure },
      clientIpHeader: config.clientIpHeader,
    });
    this.#instructor = new InstructorApi({
      classroom,
      viewers: this.#viewers,
      manager,
      defaults: classDefaults(config, this.exercises[0]?.page ?? ''),
      maxSandboxes: config.maxSandboxes,
      metrics: this.#metrics,
      log,
      clientIpHeader: config.clientIpHeader,
    });
  }

  /** POST api/sandboxes: a machine for the student whose link the request carries. */
  createSandbox(req: IncomingMessage, res: ServerResponse, headers: Headers): Promise<void> {
    return this.#started().students.createSandbox(req, res, headers);
  }

  /** Routes under api/class/; false when `rest` is not one. */
  async handleApi(req: IncomingMessage, res: ServerResponse, rest: string, headers: Headers): Promise<boolean> {
    const { students, instructor } = this.#started();
    return (await students.handle(req, res, rest, headers)) || (await instructor.handle(req, res, rest, headers));
  }

  /** Why a client holding a sandbox token may not attach (its student's link no longer works). */
  attachRefusal(sandboxId: string): ErrorInfo | undefined {
    return this.#classroom?.attachRefusal(sandboxId);
  }

  /** The read-only viewers' WebSocket; false when the upgrade is not for it. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    return this.#viewers?.handleUpgrade(req, socket, head) ?? false;
  }

  /** Stop the timers and close the viewers (before the manager shuts down). */
  stop(): void {
    this.#classroom?.close();
    this.#viewers?.closeAll();
  }

  /** Close the database (after the manager has shut down). */
  close(): void {
    this.store.close();
  }

  #started(): { students: StudentApi; instructor: InstructorApi } {
    if (!this.#students || !this.#instructor) throw new Error('class mode used before start()');
    return { students: this.#students, instructor: this.#instructor };
  }
}

/** In open mode: every class URL says class mode is off, so the dashboard can explain it. */
export async function classModeOff(req: IncomingMessage, res: ServerResponse, rest: string, headers: Headers): Promise<boolean> {
  if (!rest.startsWith('api/class/')) return false;
  req.resume();
  sendError(res, 404, instructorErrors.classModeOff(), headers);
  return true;
}
