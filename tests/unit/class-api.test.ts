// The class API's schemas (contracts/class-api.ts) as both sides use them: the
// dashboard's client refuses a reply of the wrong shape instead of casting it,
// and keeps the server's French error; requests are bounded.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClassView, ProgressRequest, ViewerRequest } from '../../contracts/class-api.ts';
import { DashboardApi, DashboardApiError } from '../../src/client/dashboard/dashboard-api.ts';

const SUMMARY = {
  id: '0123456789ab',
  name: 'TP',
  capacity: 2,
  students: 1,
  driver: 'namespace',
  limits: { memoryBytes: 256 * 2 ** 20, cpus: 0.5, pids: 512 },
  docker: false,
  startPage: 'docker_linux/namespaces/',
  createdAt: '2026-12-01T08:00:00.000Z',
  expiresAt: '2026-12-01T16:00:00.000Z',
};
const VIEW = {
  class: SUMMARY,
  exercises: [{ key: 'p/#uts', page: 'p/', id: 'uts', section: 'S', title: 'T' }],
  students: [
    {
      id: '0123456789abcdef',
      name: 'Élève 1',
      seat: 1,
      link: { state: 'active', createdAt: SUMMARY.createdAt, lastUsedAt: null, until: null },
      status: 'none',
      lastActivityAt: null,
      machine: null,
      exercises: { 'p/#uts': null },
      commands: { ran: 0, failed: 0, snippets: 0, lastAt: null },
    },
  ],
  events: [],
  server: { driver: 'namespace', maxSandboxes: 10, sandboxes: { assigned: 0, pool: 0, creating: 0 } },
};

/** What the loopback server answers next: status and body. */
let next: { status: number; body: unknown } = { status: 200, body: {} };
let server: Server;
let api: DashboardApi;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(next.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(next.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  api = new DashboardApi({ base: `http://127.0.0.1:${port}/`, crossOrigin: false }, () => 'prof_test');
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('the dashboard client parses every reply', () => {
  it('takes a class view of the right shape', async () => {
    next = { status: 200, body: VIEW };
    expect(await api.classView(SUMMARY.id)).toEqual(ClassView.parse(VIEW));
  });

  it('refuses a reply of another shape with a French error instead of a cast', async () => {
    next = { status: 200, body: { ...VIEW, students: [{ name: 'Élève 1' }] } };
    const error = await api.classView(SUMMARY.id).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DashboardApiError);
    expect((error as DashboardApiError).code).toBe('bad-reply');
    expect((error as DashboardApiError).message).toMatchInlineSnapshot(
      `"Le serveur de la classe a envoyé une réponse inattendue à GET api/class/classes/0123456789ab."`,
    );
    next = { status: 200, body: { machines: 'two' } };
    await expect(api.machines(SUMMARY.id, 'reset')).rejects.toMatchObject({ code: 'bad-reply' });
  });

  it("keeps the server's error, message and hint", async () => {
    next = {
      status: 404,
      body: { error: { code: 'not-found', lang: 'fr', message: "Cette classe n'existe pas (ou plus).", hint: 'Choisissez une classe dans la liste.' } },
    };
    await expect(api.classView('ffffffffffff')).rejects.toMatchObject({ status: 404, code: 'not-found', hint: 'Choisissez une classe dans la liste.' });
  });
});

describe('class API requests', () => {
  it('bounds a progress report: one status per command at most', () => {
    expect(ProgressRequest.safeParse({ page: 'p/', snippet: '1', commands: ['ls'], statuses: [0] }).success).toBe(true);
    expect(ProgressRequest.safeParse({ page: 'p/', snippet: '1', commands: ['ls'], statuses: [0, 1] }).success).toBe(false);
    expect(ProgressRequest.safeParse({ page: 'p/', snippet: '1', commands: [], statuses: [] }).success).toBe(false);
    expect(ProgressRequest.safeParse({ page: 'p/', snippet: '1', commands: ['ls'], statuses: [], extra: 1 }).success).toBe(false);
  });

  it('names a terminal to watch by the terminal-name rule', () => {
    expect(ViewerRequest.safeParse({ terminal: '1' }).success).toBe(true);
    expect(ViewerRequest.safeParse({ terminal: '../x' }).success).toBe(false);
  });
});
