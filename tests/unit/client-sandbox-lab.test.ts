// The page's side of a lab: POST api/sandboxes with the page's machines, a
// terminal URL per machine, the lab remembered under its own key (the pages
// of a chapter find it again, the reader's single machine stays beside it),
// and the two resets: the whole lab in place (or destroyed and made again by
// a server that cannot), one machine in place; and a single machine's reset,
// in place too where the server can. The server is a fake fetch
// that answers as docs/protocol.md says.
import { describe, expect, it } from 'vitest';
import { MachineResetUnavailableError, SandboxClient } from '../../src/client/sandbox-client.ts';
import { sandboxEndpoint } from '../../src/client/sandbox-endpoint.ts';
import { memoryKey, parseTerminalKey, recall, terminalKey, type KeyValueStore } from '../../src/client/sandbox-memory.ts';

const LAB = ['node1', 'node2', 'node3'];
const BASE = 'http://localhost:4321/';
const endpoint = sandboxEndpoint('/', `${BASE}docker_linux/swarm/`);

function memoryStore(): KeyValueStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
}

interface Call {
  method: string;
  path: string;
  body: unknown;
}

/** A fake server: `answer(call)` gives status and body; every call is recorded. */
function fakeServer(answer: (call: Call, count: number) => { status: number; body?: unknown }) {
  const calls: Call[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const call = {
      method: init?.method ?? 'GET',
      path: new URL(String(input)).pathname,
      body: init?.body === undefined ? undefined : JSON.parse(String(init.body)),
    };
    calls.push(call);
    const { status, body } = answer(call, calls.length);
    return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  }) as typeof globalThis.fetch;
  return { calls, fetch };
}

const lab = (id: string) => ({
  id,
  token: `t-${id.slice(0, 4)}`,
  expiresAt: '2030-01-01T00:00:00.000Z',
  machines: LAB.map((name, index) => ({ name, address: `192.168.7.${11 + index}` })),
});
const ID1 = '1'.repeat(32);
const ID2 = '2'.repeat(32);
const notFound = { status: 404, body: { error: { code: 'not-found', message: 'no such route' } } };

describe('a lab from the page', () => {
  it('asks for its machines, keeps their addresses, and remembers the lab under its own key', async () => {
    const store = memoryStore();
    const server = fakeServer(() => ({ status: 201, body: lab(ID1) }));
    const client = new SandboxClient({ endpoint, store, machines: LAB, fetch: server.fetch });
    const made = await client.ensure();
    expect(server.calls).toEqual([{ method: 'POST', path: '/api/sandboxes', body: { machines: LAB } }]);
    expect(made.machines?.map((machine) => machine.address)).toEqual(['192.168.7.11', '192.168.7.12', '192.168.7.13']);
    client.rememberTerminals([terminalKey('1', 'node1'), terminalKey('1', 'node2')]);
    expect(recall(store, BASE, Date.parse('2029-01-01'), LAB)?.terminals).toEqual(['node1/1', 'node2/1']);
    // The reader's one machine (pages without machines:) is another record.
    expect(recall(store, BASE, Date.parse('2029-01-01'))).toBeUndefined();
    expect(memoryKey(BASE, LAB)).not.toBe(memoryKey(BASE));
    expect(parseTerminalKey('node2/1')).toEqual({ machine: 'node2', name: '1' });
    expect(parseTerminalKey('2')).toEqual({ machine: undefined, name: '2' });
  });

  it("opens each machine's terminals by its own route", () => {
    const client = new SandboxClient({ endpoint, machines: LAB });
    const sandbox = { ...lab(ID1), terminals: [] };
    expect(client.terminalUrl(sandbox, '1', { cols: 80, rows: 24 }, 'node2')).toBe(
      `ws://localhost:4321/api/sandboxes/${ID1}/machines/node2/terminals/1?cols=80&rows=24`,
    );
    expect(client.terminalUrl(sandbox, '2', { cols: 80, rows: 24 })).toBe(`ws://localhost:4321/api/sandboxes/${ID1}/terminals/2?cols=80&rows=24`);
  });

  it("opens each machine's namespace view by its own route (the old one is the first machine's)", () => {
    const client = new SandboxClient({ endpoint, machines: LAB });
    const sandbox = { ...lab(ID1), terminals: [] };
    expect(client.namespacesUrl(sandbox, 'node3')).toBe(`ws://localhost:4321/api/sandboxes/${ID1}/machines/node3/namespaces`);
    expect(client.namespacesUrl(sandbox)).toBe(`ws://localhost:4321/api/sandboxes/${ID1}/namespaces`);
  });

  it('the next page of the chapter finds the same lab: it checks it, it does not make another', async () => {
    const store = memoryStore();
    const first = new SandboxClient({ endpoint, store, machines: LAB, fetch: fakeServer(() => ({ status: 201, body: lab(ID1) })).fetch });
    await first.ensure();
    const server = fakeServer(() => ({ status: 200, body: { id: ID1 } }));
    const next = new SandboxClient({ endpoint, store, machines: LAB, fetch: server.fetch });
    expect((await next.ensure()).id).toBe(ID1);
    expect(server.calls).toEqual([{ method: 'GET', path: `/api/sandboxes/${ID1}`, body: undefined }]);
  });

  it('resets the whole lab in place when the server can: same id, no new lab', async () => {
    const server = fakeServer((call) =>
      call.method === 'POST' && call.path.endsWith('/reset') ? { status: 200, body: { machines: lab(ID1).machines } } : { status: 201, body: lab(ID1) },
    );
    const client = new SandboxClient({ endpoint, machines: LAB, fetch: server.fetch });
    await client.ensure();
    expect((await client.reset()).id).toBe(ID1);
    expect(server.calls.map((call) => `${call.method} ${call.path}`)).toEqual(['POST /api/sandboxes', `POST /api/sandboxes/${ID1}/reset`]);
  });

  it('destroys and makes the lab again when the server cannot reset it in place', async () => {
    const server = fakeServer((call, count) => {
      if (call.path.endsWith('/reset')) return notFound;
      if (call.method === 'DELETE') return { status: 204 };
      return { status: 201, body: lab(count === 1 ? ID1 : ID2) };
    });
    const client = new SandboxClient({ endpoint, machines: LAB, fetch: server.fetch });
    await client.ensure();
    expect((await client.reset()).id).toBe(ID2);
    expect(server.calls.map((call) => `${call.method} ${call.path}`)).toEqual([
      'POST /api/sandboxes',
      `POST /api/sandboxes/${ID1}/reset`,
      `DELETE /api/sandboxes/${ID1}`,
      'POST /api/sandboxes',
    ]);
    expect(server.calls.at(-1)?.body).toEqual({ machines: LAB });
  });

  it('resets one machine in place, or says in French that this server cannot', async () => {
    const able = fakeServer((call) =>
      call.path.endsWith('/machines/node2/reset') ? { status: 200, body: { machines: [lab(ID1).machines[1]] } } : { status: 201, body: lab(ID1) },
    );
    const client = new SandboxClient({ endpoint, machines: LAB, fetch: able.fetch });
    expect((await client.resetMachine('node2')).id).toBe(ID1);
    expect(able.calls.at(-1)).toEqual({ method: 'POST', path: `/api/sandboxes/${ID1}/machines/node2/reset`, body: undefined });

    const unable = fakeServer((call) => (call.path.endsWith('/reset') ? notFound : { status: 201, body: lab(ID1) }));
    const old = new SandboxClient({ endpoint, machines: LAB, fetch: unable.fetch });
    const error = await old.resetMachine('node3').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MachineResetUnavailableError);
    expect((error as MachineResetUnavailableError).message).toBe('Ce serveur ne sait pas réinitialiser node3 seule.');
  });

  it('a page without machines: posts no body, as before', async () => {
    const server = fakeServer(() => ({ status: 201, body: { id: ID1, token: 't', expiresAt: '2030-01-01T00:00:00.000Z' } }));
    await new SandboxClient({ endpoint, fetch: server.fetch }).ensure();
    expect(server.calls).toEqual([{ method: 'POST', path: '/api/sandboxes', body: undefined }]);
  });
  it('a single machine is reset in place when the server can (its status answers), else destroyed and made again', async () => {
    const single = (id: string) => ({ id, token: 't', expiresAt: '2030-01-01T00:00:00.000Z' });
    const able = fakeServer((call) =>
      call.path.endsWith('/reset') ? { status: 200, body: { id: ID1, state: 'running', terminals: [] } } : { status: 201, body: single(ID1) },
    );
    const client = new SandboxClient({ endpoint, fetch: able.fetch });
    await client.ensure();
    expect((await client.reset()).id).toBe(ID1);
    expect(able.calls.map((call) => `${call.method} ${call.path}`)).toEqual(['POST /api/sandboxes', `POST /api/sandboxes/${ID1}/reset`]);

    // A server older than the in-place reset: 404, so DELETE then POST, as before.
    const older = fakeServer((call, count) => {
      if (call.path.endsWith('/reset')) return notFound;
      if (call.method === 'DELETE') return { status: 204 };
      return { status: 201, body: single(count === 1 ? ID1 : ID2) };
    });
    const oldClient = new SandboxClient({ endpoint, fetch: older.fetch });
    await oldClient.ensure();
    expect((await oldClient.reset()).id).toBe(ID2);
    expect(older.calls.map((call) => `${call.method} ${call.path}`)).toEqual([
      'POST /api/sandboxes',
      `POST /api/sandboxes/${ID1}/reset`,
      `DELETE /api/sandboxes/${ID1}`,
      'POST /api/sandboxes',
    ]);
  });
});
