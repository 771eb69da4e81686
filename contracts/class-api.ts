// The class API: every request and reply between the browser (the lesson page
// of a student, the instructor's dashboard) and the server's classroom, as zod
// schemas. The server parses requests and builds replies through them
// (sandbox-server/src/classroom/*-api.ts); the browser parses replies with them
// (src/client/dashboard, src/client/classroom) instead of trusting a cast.
//
// Student, with their link's credential as `Authorization: Bearer eleve_…`:
//   GET  api/class/me                                   → MeReply
//   POST api/class/progress          ProgressRequest    → ProgressReply
// Instructor, with the key as `Authorization: Bearer prof_…`:
//   GET  api/class/classes                              → ClassListReply
//   POST api/class/classes           CreateClassRequest → 201 CreateClassReply (tokens are shown only now)
//   GET  api/class/classes/:id                          → ClassView
//   GET  api/class/classes/:id/progress.csv             → text/csv
//   POST api/class/classes/:id/machines/reset   StudentsRequest → MachinesReply
//   POST api/class/classes/:id/machines/destroy StudentsRequest → MachinesReply
//   POST api/class/classes/:id/students/:sid/link       → CreatedLink
//   POST api/class/classes/:id/students/:sid/revoke     → RevokeReply
//   POST api/class/classes/:id/students/:sid/viewers ViewerRequest → ViewerTicket
//   POST api/class/classes/:id/students/:sid/machines/:machine/reset → ResetMachinesResponse (protocol.ts)
// Errors on every route: ApiErrorBody (protocol.ts).
import { z } from 'zod';
import { LAB_MACHINES_CEILING, LabMachine, TerminalName } from './protocol.ts';

const isoTime = z.iso.datetime();
const isoTimeOrNull = isoTime.nullable();

// ───────────────────────── requests ─────────────────────────

export const MAX_CAPACITY = 500;
export const MAX_CLASS_NAME_LENGTH = 80;

/** A whole number, also when a form or the CLI gives it as text ("30"). */
const wholeNumber = (what: string, min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v),
    z
      .int({ error: `${what}: expected a whole number from ${min} to ${max}` })
      .min(min, `${what}: at least ${min}`)
      .max(max, `${what}: at most ${max}`),
  );

/** What an instructor gives to create a class (dashboard or CLI); sizes and durations are checked by the server's class-settings.ts. */
export const CreateClassRequest = z.strictObject({
  name: z
    .string({ error: 'name: give the class a name, e.g. "TP namespaces, groupe B"' })
    .trim()
    .min(1, 'name: give the class a name')
    .max(MAX_CLASS_NAME_LENGTH, `name: at most ${MAX_CLASS_NAME_LENGTH} characters`),
  capacity: wholeNumber('capacity', 1, MAX_CAPACITY).optional(),
  /** The students' names (a roster), or… */
  roster: z.array(z.string()).optional(),
  /** …a number of anonymous seats. */
  seats: wholeNumber('seats', 1, MAX_CAPACITY).optional(),
  lifetime: z.string().optional(),
  memory: z.union([z.string(), z.int()]).optional(),
  cpus: z.union([z.string(), z.number()]).optional(),
  pids: z.union([z.string(), z.int()]).optional(),
  docker: z.union([z.boolean(), z.stringbool()]).optional(),
  startPage: z
    .string()
    .regex(/^(?:[a-z0-9_-]+\/)*$/i, 'startPage: a page path relative to the site, ending with "/", e.g. "docker_linux/namespaces/"')
    .optional(),
  /** Each student's lab: these machines (names as terminal names, all different); absent: one machine each. */
  machines: z
    .array(TerminalName, { error: 'machines: a list of machine names, e.g. ["node1","node2","node3"]' })
    .min(1, 'machines: at least one machine')
    .max(LAB_MACHINES_CEILING, `machines: at most ${LAB_MACHINES_CEILING}`)
    .refine((names) => new Set(names).size === names.length, 'machines: the names must all differ')
    .optional(),
});
export type CreateClassRequest = z.input<typeof CreateClassRequest>;

/** A snippet the student ran on a page, with the exit statuses the shell's OSC 133 marks gave. */
export const ProgressRequest = z
  .strictObject({
    page: z.string().max(300),
    snippet: z.string().min(1).max(64),
    commands: z.array(z.string().max(4000)).min(1).max(100),
    statuses: z.array(z.int().min(-1).max(255).nullable()).max(100),
  })
  .refine((body) => body.statuses.length <= body.commands.length, { message: 'one status per command at most' });
export type ProgressRequest = z.infer<typeof ProgressRequest>;

/** Which students' machines to reset or end; all of the class's without a list. */
export const StudentsRequest = z.strictObject({ students: z.array(z.string().max(64)).max(1000).optional() });
export type StudentsRequest = z.infer<typeof StudentsRequest>;

/** The terminal to watch; `machine` picks a machine of the student's lab (absent: the first). */
export const ViewerRequest = z.strictObject({ terminal: TerminalName, machine: TerminalName.optional() });
export type ViewerRequest = z.infer<typeof ViewerRequest>;

// ───────────────────────── replies ─────────────────────────

/** One exercise of a lesson and whether the student's machine passed its check. */
export const ExerciseState = z.object({
  /** "page#heading-id", unique in the course. */
  key: z.string(),
  page: z.string(),
  /** Id of the exercise's heading on the page. */
  id: z.string(),
  section: z.string(),
  title: z.string(),
  /** When its check first passed, or null. */
  passedAt: isoTimeOrNull,
});
export type ExerciseState = z.infer<typeof ExerciseState>;

export const MeReply = z.object({
  student: z.object({ name: z.string() }),
  class: z.object({ name: z.string(), expiresAt: isoTime }),
  exercises: z.array(ExerciseState),
});
export type MeReply = z.infer<typeof MeReply>;

export const ProgressReply = z.object({ exercises: z.array(ExerciseState) });
export type ProgressReply = z.infer<typeof ProgressReply>;

export const ClassSummary = z.object({
  id: z.string(),
  name: z.string(),
  capacity: z.int(),
  students: z.int(),
  driver: z.string(),
  limits: z.object({ memoryBytes: z.number(), cpus: z.number(), pids: z.int() }),
  docker: z.boolean(),
  startPage: z.string(),
  /** Each student's lab (absent: one machine each). */
  machines: z.array(z.string()).optional(),
  createdAt: isoTime,
  expiresAt: isoTime,
});
export type ClassSummary = z.infer<typeof ClassSummary>;

export const ClassListReply = z.object({ classes: z.array(ClassSummary) });
export type ClassListReply = z.infer<typeof ClassListReply>;

/** A student's link, as the instructor hands it out; the token is shown only in this reply. */
export const CreatedLink = z.object({
  student: z.object({ id: z.string(), name: z.string(), seat: z.int() }),
  token: z.string(),
});
export type CreatedLink = z.infer<typeof CreatedLink>;

export const CreateClassReply = z.object({ class: ClassSummary, links: z.array(CreatedLink) });
export type CreateClassReply = z.infer<typeof CreateClassReply>;

export const LinkState = z.object({
  state: z.enum(['active', 'revoked', 'expired', 'none']),
  createdAt: isoTimeOrNull,
  lastUsedAt: isoTimeOrNull,
  until: isoTimeOrNull,
});
export type LinkState = z.infer<typeof LinkState>;

export const StudentStatus = z.enum(['online', 'idle', 'none']);
export type StudentStatus = z.infer<typeof StudentStatus>;

const MachineTerminal = z.object({ name: z.string(), attached: z.boolean(), cols: z.int(), rows: z.int() });

/** One machine of a student's lab, for the dashboard: its state and its own figures. */
export const LabMachineView = LabMachine.extend({
  /** "resetting" while it is being made anew. */
  state: z.enum(['running', 'resetting']),
  /** Its terminals by their own names ("1", "2"…). */
  terminals: z.array(MachineTerminal),
  cpuPercent: z.number().nullable(),
  memoryBytes: z.number().nullable(),
  pids: z.int().nullable(),
});
export type LabMachineView = z.infer<typeof LabMachineView>;

export const StudentMachine = z.object({
  id: z.string(),
  createdAt: isoTime,
  ageSeconds: z.number(),
  expiresAt: isoTime,
  terminals: z.array(z.object({ name: z.string(), attached: z.boolean(), cols: z.int(), rows: z.int() })),
  cpuPercent: z.number().nullable(),
  memoryBytes: z.number().nullable(),
  pids: z.int().nullable(),
  /** A lab: each machine (the figures above are the whole lab's; `terminals` lists other machines' as "node2/1"). */
  machines: z.array(LabMachineView).optional(),
});
export type StudentMachine = z.infer<typeof StudentMachine>;

export const StudentView = z.object({
  id: z.string(),
  name: z.string(),
  seat: z.int(),
  link: LinkState,
  status: StudentStatus,
  lastActivityAt: isoTimeOrNull,
  machine: StudentMachine.nullable(),
  /** Exercise key → when it passed, or null. */
  exercises: z.record(z.string(), isoTimeOrNull),
  commands: z.object({ ran: z.int(), failed: z.int(), snippets: z.int(), lastAt: isoTimeOrNull }),
});
export type StudentView = z.infer<typeof StudentView>;

/** What the dashboard shows of a class, in one document. */
export const ClassView = z.object({
  class: ClassSummary,
  exercises: z.array(ExerciseState.omit({ passedAt: true })),
  students: z.array(StudentView),
  events: z.array(z.object({ at: isoTime, student: z.string().nullable(), kind: z.string(), message: z.string() })),
  server: z.object({
    driver: z.string(),
    maxSandboxes: z.int(),
    sandboxes: z.object({ assigned: z.int(), pool: z.int(), creating: z.int() }),
  }),
});
export type ClassView = z.infer<typeof ClassView>;

export const MachinesReply = z.object({ machines: z.int() });
export type MachinesReply = z.infer<typeof MachinesReply>;

export const RevokeReply = z.object({ revoked: z.literal(true) });
export type RevokeReply = z.infer<typeof RevokeReply>;

/** A single-use ticket to watch a student's terminal read-only, and the WebSocket path that takes it. */
export const ViewerTicket = z.object({ ticket: z.string(), path: z.string(), expiresAt: isoTime });
export type ViewerTicket = z.infer<typeof ViewerTicket>;
