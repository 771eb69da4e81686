// A class whose students each get a lab (`--machines node1,node2`), on the
// real server: the student's link gives the class's lab, the dashboard shows
// each machine with its state, terminals and figures, the read-only viewer
// picks a machine and a terminal, the instructor resets one machine (the
// other keeps its shell) or the whole lab, and the CSV stays one row per
// student. Nothing is left once the server stops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ClassListReply, ClassView, MachinesReply, ViewerTicket } from '../../contracts/class-api.ts';
import { CloseCode, CreateSandboxResponse, ResetMachinesResponse } from '../../contracts/protocol.ts';
import { bearerRequest, classFiles, createClass, startClassServer, type ClassFiles, type StudentLink } from '../support/classroom.ts';
import { shutDown, type RunningServer } from '../support/server.ts';
import { attachTerminal } from '../support/server-client.ts';

let files: ClassFiles;
let server: RunningServer;
let link: StudentLink;
let key: string;
let classId: string;

beforeAll(async () => {
  files = classFiles();
  const created = await createClass(files.db, ['--name', 'Swarm', '--seats', '1', '--lifetime', '2h', '--machines', 'node1,node2']);
  link = created.links[0]!;
  key = created.instructorKey;
  server = await startClassServer(files.db, { env: { MAX_SANDBOXES: '4' } });
  classId = ClassListReply.parse((await bearerRequest(server, 'GET', 'api/class/classes', key)).body).classes[0]!.id;
}, 120_000);

afterAll(async () => {
  try {
    expect(await shutDown(server)).toEqual({ code: 0, sandboxesCreated: expect.any(Number), leftovers: [] });
  } finally {
    files?.remove();
  }
}, 120_000);

async function dashboard(): Promise<ClassView> {
  const response = await bearerRequest(server, 'GET', `api/class/classes/${classId}`, key);
  expect(response.status).toBe(200);
  return ClassView.parse(response.body);
}

/** Everything a read-only viewer of `terminal` on `machine` receives, as text, until `until` shows up. */
async function watch(studentId: string, machine: string, terminal: string, until: string): Promise<string> {
  const ticket = await bearerRequest(server, 'POST', `api/class/classes/${classId}/students/${studentId}/viewers`, key, { terminal, machine });
  expect(ticket.status, JSON.stringify(ticket.body)).toBe(200);
  const url = new URL(ViewerTicket.parse(ticket.body).path, server.url);
  url.protocol = 'ws:';
  const viewer = new WebSocket(url, { origin: server.origin });
  let seen = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the viewer never showed ${until}; it showed ${JSON.stringify(seen.slice(-300))}`)), 20_000);
      viewer.on('message', (data, binary) => {
        if (!binary) return;
        seen += data.toString();
        if (seen.includes(until)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } finally {
    viewer.close();
  }
  return seen;
}

/** A viewer left open: its text frames (parsed) and how it closed. */
async function openViewer(studentId: string, machine: string, terminal: string): Promise<{ frames: Record<string, unknown>[]; closed: Promise<number> }> {
  const ticket = await bearerRequest(server, 'POST', `api/class/classes/${classId}/students/${studentId}/viewers`, key, { terminal, machine });
  expect(ticket.status, JSON.stringify(ticket.body)).toBe(200);
  const url = new URL(ViewerTicket.parse(ticket.body).path, server.url);
  url.protocol = 'ws:';
  const viewer = new WebSocket(url, { origin: server.origin });
  const frames: Record<string, unknown>[] = [];
  viewer.on('message', (data, binary) => {
    if (!binary) frames.push(JSON.parse(data.toString()) as Record<string, unknown>);
  });
  const closed = new Promise<number>((resolve) => viewer.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    viewer.once('open', () => resolve());
    viewer.once('error', reject);
  });
  return { frames, closed };
}

describe('a class of labs', () => {
  it("gives the student the class's lab, shown machine by machine; the viewer picks a machine; one machine or the lab is reset; one CSV row", async () => {
    const given = await bearerRequest(server, 'POST', 'api/sandboxes', link.token);
    expect(given.status, JSON.stringify(given.body)).toBe(201);
    const lab = CreateSandboxResponse.parse(given.body);
    expect(lab.machines?.map(({ name }) => name)).toEqual(['node1', 'node2']);

    const node1 = await attachTerminal(server, lab, '1');
    await node1.reader.run('echo SUR-$(hostname)');
    const node2 = await attachTerminal(server, lab, '1', { machine: 'node2' });
    await node2.reader.run('echo SUR-$(hostname)-$((40+2))');

    const view = await dashboard();
    expect(view.class.machines).toEqual(['node1', 'node2']);
    const student = view.students[0]!;
    const machines = student.machine?.machines ?? [];
    expect(machines.map(({ name, address, state }) => ({ name, address, state }))).toEqual(
      lab.machines!.map(({ name, address }) => ({ name, address, state: 'running' })),
    );
    for (const machine of machines) {
      expect(machine.terminals).toEqual([expect.objectContaining({ name: '1', attached: true })]);
      expect(machine.memoryBytes).toBeGreaterThan(0);
      expect(machine.pids).toBeGreaterThan(0);
    }

    // The viewer of node2's terminal 1 sees node2's shell, not node1's.
    const seen = await watch(student.id, 'node2', '1', 'SUR-node2-42');
    expect(seen).not.toContain('SUR-node1');
    const missing = await bearerRequest(server, 'POST', `api/class/classes/${classId}/students/${student.id}/viewers`, key, {
      terminal: '1',
      machine: 'node7',
    });
    expect(missing.status).toBe(404);

    // One machine: node2 anew, node1's shell carries on. The instructor watching node2 hears it was reset, as the student does.
    const watching = await openViewer(student.id, 'node2', '1');
    const reset = await bearerRequest(server, 'POST', `api/class/classes/${classId}/students/${student.id}/machines/node2/reset`, key);
    expect(reset.status, JSON.stringify(reset.body)).toBe(200);
    expect(ResetMachinesResponse.parse(reset.body).machines).toEqual([lab.machines![1]]);
    expect((await node2.client.closed).code).toBe(CloseCode.machineReset);
    expect(await watching.closed).toBe(CloseCode.machineReset);
    expect(watching.frames.filter((frame) => frame.type !== 'ready')).toEqual([
      expect.objectContaining({
        type: 'error',
        code: 'machine-reset',
        lang: 'fr',
        message: expect.stringMatching(/^La machine node2 de l'élève a été réinitialisée/),
      }),
    ]);
    const watchingNode1 = await openViewer(student.id, 'node1', '1');
    expect((await node1.reader.run('echo toujours-$(hostname)')).output.trim()).toBe('toujours-node1');
    expect((await dashboard()).events.some((event) => event.kind === 'reset' && event.message.includes('node2'))).toBe(true);
    const unknown = await bearerRequest(server, 'POST', `api/class/classes/${classId}/students/${student.id}/machines/node9/reset`, key);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.lang).toBe('fr');

    // The whole lab: a fresh one with the same machines.
    const whole = await bearerRequest(server, 'POST', `api/class/classes/${classId}/machines/reset`, key, { students: [student.id] });
    expect(MachinesReply.parse(whole.body)).toEqual({ machines: 1 });
    expect((await node1.client.closed).code).toBe(CloseCode.gone);
    expect(await watchingNode1.closed).toBe(CloseCode.gone);
    expect(watchingNode1.frames.at(-1)).toMatchObject({ type: 'error', code: 'gone', lang: 'fr' });
    const again = CreateSandboxResponse.parse((await bearerRequest(server, 'POST', 'api/sandboxes', link.token)).body);
    expect(again.id).not.toBe(lab.id);
    expect(again.machines?.map(({ name }) => name)).toEqual(['node1', 'node2']);

    const csv = await bearerRequest(server, 'GET', `api/class/classes/${classId}/progress.csv`, key);
    expect(csv.status).toBe(200);
    expect(String(csv.body).trim().split('\n')).toHaveLength(2);
  }, 300_000);
});
