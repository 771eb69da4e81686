// A class of five on the real server: real SQLite file, real CLI, real
// namespace sandboxes (Docker off: the lesson's checks do not need it), real
// WebSockets. Each link gets its own machine; links cannot reach another
// student's machine nor the dashboard; the checks run in the machines and
// show on the dashboard; the instructor watches a terminal read-only, resets
// a machine, revokes a link; expired links are refused; and everything but
// the machines survives a restart.
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { hashCredential, newCredential } from '../../sandbox-server/src/classroom/credentials.ts';
import { parseServerMessage, type ServerMessage } from '../../contracts/protocol.ts';
import { ClassListReply, ClassView, MeReply, ProgressReply, type StudentView, ViewerTicket } from '../../contracts/class-api.ts';
import { bearerRequest, classCli, classFiles, createClass, startClassServer, type ClassFiles, type StudentLink } from '../support/classroom.ts';
import { serverLeftovers, type RunningServer } from '../support/server.ts';
import { TerminalClient, apiRequest, attachTerminal, type AttachedTerminal } from '../support/server-client.ts';

let files: ClassFiles;
let server: RunningServer;
let links: StudentLink[];
let key: string;
let classId: string;
const stopped: RunningServer[] = [];
const machines = new Map<string, { id: string; token: string }>();

async function machineFor(link: StudentLink, expected = 201): Promise<{ id: string; token: string; expiresAt: string }> {
  const response = await bearerRequest(server, 'POST', 'api/sandboxes', link.token);
  expect(response.status, JSON.stringify(response.body)).toBe(expected);
  return response.body;
}

/** The dashboard's view of the class, read with the schema the dashboard reads it with. */
async function dashboard(): Promise<ClassView> {
  const response = await bearerRequest(server, 'GET', `api/class/classes/${classId}`, key);
  expect(response.status).toBe(200);
  return ClassView.parse(response.body);
}

function studentRow(view: ClassView, name: string): StudentView {
  const row = view.students.find((student) => student.name === name);
  if (!row) throw new Error(`no student ${name} on the dashboard`);
  return row;
}

/** Polls `read` until `accept` holds (the server applies CLI changes within seconds). */
async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still not true after ${timeoutMs} ms; last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

beforeAll(async () => {
  files = classFiles();
  ({ links, instructorKey: key } = await createClass(files.db, ['--name', 'Classe de test', '--seats', '5', '--lifetime', '2h']));
  expect(links.map((link) => link.name)).toEqual(['Élève 1', 'Élève 2', 'Élève 3', 'Élève 4', 'Élève 5']);
  server = await startClassServer(files.db, { env: { MAX_SANDBOXES: '6', CLIENT_IP_HEADER: 'x-forwarded-for' } });
  const classes = await bearerRequest(server, 'GET', 'api/class/classes', key);
  classId = ClassListReply.parse(classes.body).classes[0]!.id;
});

afterAll(async () => {
  for (const running of [server, ...stopped]) await running?.stop();
  try {
    for (const running of [server, ...stopped]) if (running) expect(serverLeftovers(running)).toEqual([]);
  } finally {
    files?.remove();
  }
});

describe('a class of five', () => {
  it('refuses a machine to a page without a link, in French', async () => {
    const response = await bearerRequest(server, 'POST', 'api/sandboxes', undefined);
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('class-link-required');
    expect(response.body.error.message).toMatch(/ouvrez le lien personnel/);
  });

  it('gives each student a machine of their own, the same one on every request', async () => {
    for (const link of links) machines.set(link.name, await machineFor(link));
    expect(new Set([...machines.values()].map((machine) => machine.id)).size).toBe(5);
    const again = await machineFor(links[0]!);
    expect(again.id).toBe(machines.get('Élève 1')!.id);
    expect(again.token).toBe(machines.get('Élève 1')!.token);
    const view = await dashboard();
    expect(view.students.every((student) => student.machine !== null)).toBe(true);
  });

  it("keeps a student out of another student's machine and out of the dashboard", async () => {
    const mine = machines.get('Élève 1')!;
    const theirs = machines.get('Élève 2')!;
    expect((await apiRequest(server, 'GET', `api/sandboxes/${theirs.id}`, { token: mine.token })).status).toBe(403);
    expect((await apiRequest(server, 'DELETE', `api/sandboxes/${theirs.id}`, { token: links[0]!.token })).status).toBe(403);
    const socket = await TerminalClient.connect(server, theirs.id, '1', { token: mine.token });
    expect((await socket.closed).code).toBe(4403);
    const onDashboard = await bearerRequest(server, 'GET', 'api/class/classes', links[0]!.token);
    expect(onDashboard.status).toBe(403);
    expect(onDashboard.body.error.message).toMatch(/n'ouvre pas le tableau de bord/);
    expect((await bearerRequest(server, 'GET', `api/class/classes/${classId}`, undefined)).status).toBe(401);
  });
});

describe('progress and checks', () => {
  let alice: AttachedTerminal;

  it("checks the UTS exercise inside the student's machine and shows it on the dashboard", async () => {
    alice = await attachTerminal(server, machines.get('Élève 1')!, '1');
    await alice.reader.waitForPrompt();
    const commands = ['hostname', 'sudo unshare --uts /bin/bash', 'hostname my.name.is.bob'];
    const statuses: (number | null)[] = [];
    for (const command of commands) statuses.push((await alice.reader.run(command)).exitCode ?? null);
    const progress = await bearerRequest(server, 'POST', 'api/class/progress', links[0]!.token, {
      page: 'docker_linux/namespaces/',
      snippet: '1',
      commands,
      statuses,
    });
    expect(progress.status).toBe(200);
    const { exercises } = ProgressReply.parse(progress.body);
    expect(exercises.find((exercise) => exercise.id === 'uts')?.passedAt).not.toBeNull();
    expect(exercises.filter((exercise) => exercise.passedAt !== null)).toHaveLength(1);

    const view = await dashboard();
    const row = studentRow(view, 'Élève 1');
    expect(row.exercises['docker_linux/namespaces/#uts']).not.toBeNull();
    expect(row.commands).toMatchObject({ ran: 3, snippets: 1 });
    expect(row.status).toBe('online');
    expect(row.machine?.terminals).toEqual([{ name: '1', attached: true, cols: 120, rows: 40 }]);
    expect(row.machine?.memoryBytes).toBeGreaterThan(0);
    expect(studentRow(view, 'Élève 2').exercises['docker_linux/namespaces/#uts']).toBeNull();
    const me = await bearerRequest(server, 'GET', 'api/class/me', links[0]!.token);
    const mine = MeReply.parse(me.body);
    expect(mine.student.name).toBe('Élève 1');
    expect(mine.exercises.find((exercise) => exercise.id === 'uts')?.passedAt).not.toBeNull();
  });

  it('notices an exercise typed by hand, with no report from the page', async () => {
    const bob = await attachTerminal(server, machines.get('Élève 2')!, '1');
    try {
      await bob.reader.waitForPrompt();
      await bob.reader.run('sudo unshare --mount /bin/bash');
      await bob.reader.run('mount -t tmpfs none /tmp');
      const view = await eventually(
        dashboard,
        (v) => studentRow(v, 'Élève 2').exercises['docker_linux/namespaces/#mnt'] !== null,
        'mnt passed on the dashboard',
      );
      expect(studentRow(view, 'Élève 2').commands.ran).toBe(0);
    } finally {
      await bob.client.close();
    }
  });

  it('lets the instructor watch a terminal read-only: output arrives, input never reaches it', async () => {
    const ticket = await bearerRequest(server, 'POST', `api/class/classes/${classId}/students/${studentRow(await dashboard(), 'Élève 1').id}/viewers`, key, {
      terminal: '1',
    });
    expect(ticket.status).toBe(200);
    const url = new URL(ViewerTicket.parse(ticket.body).path, server.url);
    url.protocol = 'ws:';
    const viewer = new WebSocket(url, { origin: server.origin });
    const messages: ServerMessage[] = [];
    let seen = '';
    viewer.on('message', (data, binary) => {
      if (binary) seen += data.toString();
      else {
        const parsed = parseServerMessage(data.toString());
        if (parsed.ok) messages.push(parsed.value);
      }
    });
    await new Promise((resolve) => viewer.once('open', resolve));
    await eventually(
      async () => seen,
      (text) => text.includes('my.name.is.bob'),
      'the replay reaches the viewer',
    );
    expect(messages[0]).toMatchObject({ type: 'ready', terminal: '1', cols: 120, rows: 40 });

    await alice.reader.run('echo LIVE-$((6*7))');
    await eventually(
      async () => seen,
      (text) => text.includes('LIVE-42'),
      'live output reaches the viewer',
    );

    viewer.send(Buffer.from('touch /tmp/viewer-was-here\r'), { binary: true });
    viewer.send(JSON.stringify({ type: 'resize', cols: 10, rows: 5 }));
    await eventually(
      async () => messages,
      (list) => list.some((message) => message.type === 'error'),
      'the viewer is told it is read-only',
    );
    expect(messages.find((message) => message.type === 'error')).toMatchObject({ message: expect.stringMatching(/lecture seule/) });
    const check = await alice.reader.run('ls /tmp/viewer-was-here');
    expect(check.exitCode).not.toBe(0);
    expect(check.output).toMatch(/No such file/);
    // Nor did its resize message reach the terminal.
    expect((await alice.reader.run('stty size')).output.trim()).toBe('40 120');
    viewer.close();

    const reused = new WebSocket(url, { origin: server.origin });
    const closed = await new Promise<number>((resolve) => reused.once('close', (code) => resolve(code)));
    expect(closed).toBe(4403);
  });

  it('gives a fresh machine when the instructor resets one', async () => {
    await alice.reader.run('exit');
    expect((await alice.reader.run('touch /tmp/before-reset')).exitCode).toBe(0);
    const old = machines.get('Élève 1')!;
    const aliceId = studentRow(await dashboard(), 'Élève 1').id;
    const goodbye = alice.client.waitForMessage('error');
    const reset = await bearerRequest(server, 'POST', `api/class/classes/${classId}/machines/reset`, key, { students: [aliceId] });
    expect(reset.body).toEqual({ machines: 1 });
    expect((await goodbye).message).toMatch(/Votre formateur a réinitialisé/);
    expect((await alice.client.closed).code).toBe(4410);
    expect((await apiRequest(server, 'GET', `api/sandboxes/${old.id}`, { token: old.token })).status).toBe(410);

    const fresh = await machineFor(links[0]!);
    expect(fresh.id).not.toBe(old.id);
    machines.set('Élève 1', fresh);
    const again = await attachTerminal(server, fresh, '1');
    try {
      await again.reader.waitForPrompt();
      expect((await again.reader.run('ls /tmp/before-reset')).exitCode).not.toBe(0);
      expect((await again.reader.run('hostname')).output.trim()).toBe('tp-docker');
    } finally {
      await again.client.close();
    }
    // Passed exercises stay passed.
    expect(studentRow(await dashboard(), 'Élève 1').exercises['docker_linux/namespaces/#uts']).not.toBeNull();
  });
});

describe('links that no longer work', () => {
  it('refuses a revoked link with a clear French message, and ends its machine', async () => {
    const bob = machines.get('Élève 2')!;
    const socket = await attachTerminal(server, bob, '1');
    await classCli(files.db, ['revoke', '--class', 'Classe de test', '--student', 'Élève 2']);
    expect((await socket.client.closed).code).toBe(4410);
    const refused = await bearerRequest(server, 'POST', 'api/sandboxes', links[1]!.token);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('class-link-revoked');
    expect(refused.body.error.message).toMatch(/^Ce lien a été révoqué par votre formateur le \d{1,2} \S+ \d{4} à \d\d:\d\d\.$/);
    expect(refused.body.error.hint).toMatch(/nouveau lien/);
    expect((await apiRequest(server, 'GET', `api/sandboxes/${bob.id}`, { token: bob.token })).status).toBe(410);
  });

  it('refuses an expired link, saying since when', async () => {
    const db = new DatabaseSync(files.db);
    try {
      db.prepare('UPDATE credentials SET expires_at = ? WHERE hash = ?').run(Date.now() - 60_000, hashCredential(links[2]!.token));
    } finally {
      db.close();
    }
    const refused = await bearerRequest(server, 'POST', 'api/sandboxes', links[2]!.token);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('class-link-expired');
    expect(refused.body.error.message).toMatch(/^Ce lien a expiré le /);
    // Its machine ends too, and its token stops opening terminals.
    const machine = machines.get('Élève 3')!;
    await eventually(
      async () => (await apiRequest(server, 'GET', `api/sandboxes/${machine.id}`, { token: machine.token })).status,
      (status) => status === 410 || status === 403,
      "expired student's machine refused",
    );
  });

  it('slows an address that keeps guessing links down with 429 and Retry-After, never a valid link from it', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let attempt = 0; attempt < 24; attempt++) {
      const response = await bearerRequest(server, 'GET', 'api/class/me', newCredential('student'), undefined, { 'x-forwarded-for': '10.0.113.5' });
      statuses.push(response.status);
      retryAfter ??= response.headers.get('retry-after');
    }
    expect(statuses.slice(0, 20).every((status) => status === 403)).toBe(true);
    expect(statuses.slice(20).every((status) => status === 429)).toBe(true);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect((await bearerRequest(server, 'GET', 'api/class/me', links[3]!.token, undefined, { 'x-forwarded-for': '10.0.113.5' })).status).toBe(200);
    expect((await bearerRequest(server, 'GET', 'api/class/me', links[3]!.token)).status).toBe(200);
  });

  it('exports the progress as CSV', async () => {
    const csv = await bearerRequest(server, 'GET', `api/class/classes/${classId}/progress.csv`, key);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/progression-Classe-de-test\.csv/);
    const lines = String(csv.body)
      .replace(/^\ufeff/, '')
      .split('\r\n');
    expect(lines[1]).toMatch(/^Classe de test,Élève 1,1,active,\d{4}-[^,]+,,,,1,3,0,1,/);
    expect(lines[2]).toMatch(/^Classe de test,Élève 2,2,revoked,,\d{4}-/);
  });
});

describe('after a restart', () => {
  it('keeps classes, links and progress; machines are made again on demand; over capacity, the student learns when to retry and the instructor why', async () => {
    await server.stop();
    stopped.push(server);
    server = await startClassServer(files.db, { env: { MAX_SANDBOXES: '2' } });

    const view = await dashboard();
    expect(view.students.every((student) => student.machine === null)).toBe(true);
    expect(studentRow(view, 'Élève 1').exercises['docker_linux/namespaces/#uts']).not.toBeNull();
    expect(studentRow(view, 'Élève 2').exercises['docker_linux/namespaces/#mnt']).not.toBeNull();
    expect(studentRow(view, 'Élève 2').link.state).toBe('revoked');

    const before = new Set([...machines.values()].map((machine) => machine.id));
    const alice = await machineFor(links[0]!);
    expect(before.has(alice.id)).toBe(false);
    expect((await bearerRequest(server, 'POST', 'api/sandboxes', links[1]!.token)).body.error.code).toBe('class-link-revoked');

    await machineFor(links[3]!);
    const full = await bearerRequest(server, 'POST', 'api/sandboxes', links[4]!.token);
    expect(full.status).toBe(503);
    expect(Number(full.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(full.body.error.message).toMatch(/maximum de 2 machines : réessayez dans \d+ s \(vers \d\d:\d\d\)/);
    const events = (await dashboard()).events;
    expect(events[0]).toMatchObject({ kind: 'server-full', student: 'Élève 5' });
    expect(events[0]!.message).toMatch(/Machine refusée à Élève 5 : le serveur fait déjà tourner son maximum de 2 machines \(MAX_SANDBOXES\)/);
  });
});
