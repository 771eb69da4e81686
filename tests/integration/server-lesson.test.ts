// The lesson "Les Namespaces" (tests/support/lesson-exercises.ts) typed
// through the sandbox server as the page does it: REST to get a sandbox, two
// terminals over WebSockets, binary frames for keys and screen,
// acknowledgements as xterm sends them. Then reattaching: the same shell
// comes back with its recent output.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../contracts/protocol.ts';
import { describeLessonExercises, waitForDockerd, type LessonTerminal } from '../support/lesson-exercises.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';
import { TerminalClient, attachTerminal, createSandbox, deleteSandbox, type AttachedTerminal, type CreatedSandbox } from '../support/server-client.ts';

let server: RunningServer;
let sandbox: CreatedSandbox;
let one: AttachedTerminal;
let two: AttachedTerminal;
let dockerdPid: string;

beforeAll(async () => {
  server = await startServer({ env: { SANDBOX_DOCKER: 'true' } });
  sandbox = await createSandbox(server);
  one = await attachTerminal(server, sandbox, '1');
  two = await attachTerminal(server, sandbox, '2');
  await one.reader.waitForPrompt();
  await two.reader.waitForPrompt();
  dockerdPid = await waitForDockerd(one.reader);
});

afterAll(async () => {
  if (sandbox) await deleteSandbox(server, sandbox);
  expect(await shutDown(server)).toEqual({ code: 0, sandboxesCreated: 1, leftovers: [] });
});

/** A terminal of the page, resized as xterm's ResizeObserver does: a resize message on its socket. */
function asLessonTerminal({ reader, client }: AttachedTerminal): LessonTerminal {
  return { reader, terminal: { resize: ({ cols, rows }) => client.control({ type: 'resize', cols, rows }) } };
}

describe('two terminals on one sandbox', () => {
  it('opens both at the requested size, as the student', async () => {
    expect(one.ready).toMatchObject({ terminal: '1', cols: 120, rows: 40, resumed: false, replayBytes: 0 });
    expect(two.ready).toMatchObject({ terminal: '2', resumed: false });
    expect((await two.reader.run('id -un')).output.trim()).toBe('student');
  });

  describeLessonExercises({ machine: () => ({ one: asLessonTerminal(one), two: asLessonTerminal(two), dockerdPid }) });
});

describe('reattaching', () => {
  it('returns to the same shell and replays its recent output', async () => {
    await one.reader.run('export LESSON_MARK=still-here-$((6*7))');
    await one.reader.run('echo visible-before-reload');
    await one.client.close();
    const again = await attachTerminal(server, sandbox, '1', { cols: 100, rows: 30 });
    expect(again.ready).toMatchObject({ terminal: '1', resumed: true, cols: 100, rows: 30 });
    expect(again.ready.replayBytes).toBeGreaterThan(0);
    await again.reader.waitFor('visible-before-reload');
    expect((await again.reader.run('echo $LESSON_MARK')).output.trim()).toBe('still-here-42');
    expect((await again.reader.run('stty size')).output.trim()).toBe('30 100');
    one = again;
  });

  it('takes over from a connection still attached (4409 to the old one)', async () => {
    const newer = await attachTerminal(server, sandbox, '2');
    expect(newer.ready.resumed).toBe(true);
    const closed = await two.client.closed;
    expect(closed.code).toBe(CloseCode.takenOver);
    expect(two.client.messages.at(-1)).toMatchObject({ type: 'error', code: 'taken-over' });
    expect((await newer.reader.run('echo took-over')).output.trim()).toBe('took-over');
    two = newer;
  });

  it("reports the shell's exit, closes 1000, and starts a new shell on the next attach", async () => {
    two.client.type('exit 3\r');
    expect(await two.client.waitForMessage('exit')).toMatchObject({ code: 3 });
    expect((await two.client.closed).code).toBe(CloseCode.normal);
    const fresh = await attachTerminal(server, sandbox, '2');
    expect(fresh.ready.resumed).toBe(false);
    await fresh.reader.waitForPrompt();
    // A new shell: what it replays, if it printed its prompt before the page was attached, is its own.
    expect(fresh.reader.text).not.toMatch(/took-over|exit 3/);
    await fresh.client.close();
  });

  it('keeps serving a reader who attaches by cookie, as the page on this origin does', async () => {
    const byCookie = await TerminalClient.connect(server, sandbox.id, '1', { cookie: sandbox.cookie });
    expect((await byCookie.waitForMessage('ready')).resumed).toBe(true);
    expect((await one.client.closed).code).toBe(CloseCode.takenOver);
    await byCookie.close();
  });
});
