// The class API of a real class-mode server against fuzzed requests: every
// route with every method, credentials right and wrong (the instructor's
// key, a student's link, garbage, none), bodies of the right shape with one
// field wrong, and garbage. Answers stay below 500 with a known error code,
// and a student's shell keeps answering throughout. (The instructor's key
// never goes with an order that ends machines or links: those are the
// dashboard's job, tested in tests/integration/classroom-server.test.ts.)
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerRequest, classFiles, createClass, startClassServer, type ClassFiles, type StudentLink } from '../support/classroom.ts';
import { serverLeftovers, type RunningServer } from '../support/server.ts';
import { attachTerminal, type AttachedTerminal } from '../support/server-client.ts';
import { messageLike, uriPart, weirdString, weirdValue } from './arbitraries.ts';
import { fuzz, newTally, reportTally } from './fuzz-run.ts';
import { expectApiAnswer } from './http-probe.ts';

const tally = newTally();
let files: ClassFiles;
let server: RunningServer;
let links: StudentLink[];
let key: string;
let classId: string;
let studentIds: string[];
let witness: AttachedTerminal;

beforeAll(async () => {
  files = classFiles();
  ({ links, instructorKey: key } = await createClass(files.db, ['--name', 'Classe de fuzz', '--seats', '3', '--lifetime', '2h']));
  server = await startClassServer(files.db, { env: { MAX_SANDBOXES: '4' } });
  const classes = await bearerRequest(server, 'GET', 'api/class/classes', key);
  classId = classes.body.classes[0].id;
  const view = await bearerRequest(server, 'GET', `api/class/classes/${classId}`, key);
  studentIds = view.body.students.map((student: { id: string }) => student.id);
  const machine = await bearerRequest(server, 'POST', 'api/sandboxes', links[0]!.token);
  expect(machine.status).toBe(201);
  witness = await attachTerminal(server, machine.body, '1');
  await witness.reader.waitForPrompt();
});

afterAll(async () => {
  reportTally('class-api', tally);
  await witness?.client.close();
  const { code } = (await server?.stop()) ?? { code: null };
  expect(code).toBe(0);
  if (server) expect(serverLeftovers(server)).toEqual([]);
  files?.remove();
});

let checks = 0;
async function studentStillWorks(): Promise<void> {
  if (++checks % 10 !== 0) return;
  expect(server.process.exitCode).toBeNull();
  expect((await witness.reader.run(`echo eleve-$((${checks}*2))`)).output.trim()).toBe(`eleve-${checks * 2}`);
}

describe('class API', () => {
  it("every request is answered below 500 with a known error code; the student's shell answers", async () => {
    // Built here, not at collection time: the ids come from beforeAll.
    const student = () => fc.oneof(fc.constantFrom(...studentIds), fc.constantFrom('0'.repeat(16), 'nope'), weirdString.map(uriPart));
    const klass = () => fc.oneof(fc.constant(classId), fc.constantFrom('0'.repeat(12), 'x'), weirdString.map(uriPart));
    const route = fc.oneof(
      fc.constantFrom('api/class/classes', 'api/class/me', 'api/class/progress', 'api/class/', 'api/class/viewers/x'),
      klass().map((c) => `api/class/classes/${c}`),
      klass().map((c) => `api/class/classes/${c}/progress.csv`),
      fc.tuple(klass(), fc.constantFrom('reset', 'destroy')).map(([c, verb]) => `api/class/classes/${c}/machines/${verb}`),
      fc.tuple(klass(), student(), fc.constantFrom('link', 'revoke', 'viewers', 'other')).map(([c, s, verb]) => `api/class/classes/${c}/students/${s}/${verb}`),
      weirdString.map((s) => `api/class/viewers/${uriPart(s)}`),
    );
    const body = fc.oneof(
      fc.constant(undefined),
      messageLike(fc.constant(undefined), {
        page: fc.constant('docker_linux/namespaces/'),
        snippet: fc.constant('1'),
        commands: fc.constant(['ls']),
        statuses: fc.constant([0]),
      }),
      messageLike(fc.constant(undefined), { students: fc.array(fc.constantFrom(...studentIds, 'x'), { maxLength: 3 }) }),
      messageLike(fc.constant(undefined), { terminal: fc.constantFrom('1', '2', '../x') }),
      messageLike(fc.constant(undefined), { name: weirdString, seats: fc.integer({ min: -1, max: 2000 }), lifetime: weirdString }),
      weirdValue,
    );
    const credential = fc.constantFrom('instructor', 'student', 'other-student', 'garbage', 'none');
    await fuzz(tally, 150, fc.tuple(fc.constantFrom('GET', 'POST', 'DELETE', 'PUT'), route, credential, body), async ([method, path, who, payload]) => {
      const destructive = /\/machines\/|\/revoke$/.test(path) || (path === 'api/class/classes' && method === 'POST');
      const token =
        who === 'instructor'
          ? destructive
            ? 'prof_' + 'x'.repeat(43)
            : key
          : who === 'student'
            ? links[0]!.token
            : who === 'other-student'
              ? links[1]!.token
              : who === 'garbage'
                ? 'eleve_' + 'A'.repeat(43)
                : undefined;
      const response = await bearerRequest(server, method, path, token, method === 'GET' ? undefined : payload);
      const text = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
      expectApiAnswer(response.status, path.endsWith('.csv') && response.status === 200 ? '' : text, `${method} ${path} as ${who}`);
      await studentStillWorks();
    });
  });
});
