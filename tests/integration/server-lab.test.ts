// Labs through the server: POST api/sandboxes {"machines":[…]} answers each
// machine's name and address, each machine has terminals of its own on
// …/machines/:machine/terminals/:name (…/terminals/:name is the first),
// capacity counts machines, bad requests are refused clearly, and nothing
// is left once the lab is deleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiErrorBody, CloseCode } from '../../contracts/protocol.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';
import { TerminalClient, apiRequest, attachTerminal, createSandbox, deleteSandbox } from '../support/server-client.ts';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    env: { SANDBOX_DOCKER: 'false', WARM_POOL_SIZE: '0', MAX_SANDBOXES: '4', MAX_MACHINES_PER_LAB: '3', MAX_SANDBOXES_PER_CLIENT: '5' },
  });
}, 120_000);

afterAll(async () => {
  expect(await shutDown(server)).toEqual({ code: 0, sandboxesCreated: expect.any(Number), leftovers: [] });
}, 120_000);

function post(body: string): Promise<Response> {
  return fetch(new URL('api/sandboxes', server.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
}

describe('a lab through the API', () => {
  it('creates node1..node3, each its own machine on the lab network, and deletes them together', async () => {
    const lab = await createSandbox(server, { body: JSON.stringify({ machines: ['node1', 'node2', 'node3'] }) });
    expect(lab.machines?.map((machine) => machine.name)).toEqual(['node1', 'node2', 'node3']);
    const addresses = lab.machines!.map((machine) => machine.address);
    expect(new Set(addresses).size).toBe(3);

    const first = await attachTerminal(server, lab, '1');
    expect((await first.reader.run('hostname')).output.trim()).toBe('node1');
    const second = await attachTerminal(server, lab, '1', { machine: 'node2' });
    expect((await second.reader.run('hostname')).output.trim()).toBe('node2');
    expect((await second.reader.run(`ping -c 1 -W 5 node3`)).output).toContain(`${addresses[2]}`);
    // …/machines/node1/… is the same terminal as …/terminals/1.
    const again = await attachTerminal(server, lab, '1', { machine: 'node1' });
    expect(again.ready.resumed).toBe(true);
    expect((await again.reader.run('hostname')).output.trim()).toBe('node1');
    // And node2's terminal 1 is another shell: its own first attach, not a resumption of node1's.
    expect(second.ready.resumed).toBe(false);

    const unknown = await TerminalClient.connect(server, lab.id, '1', { token: lab.token, machine: 'node9' });
    expect((await unknown.closed).code).toBe(CloseCode.notFound);

    // Capacity counts machines: 3 of MAX_SANDBOXES=4 are taken, a second lab of 2 does not fit.
    const refused = await post(JSON.stringify({ machines: ['a', 'b'] }));
    expect(refused.status).toBe(503);
    expect(ApiErrorBody.parse(await refused.json()).error.code).toBe('server-at-capacity');

    for (const terminal of [first, second, again]) terminal.client.close();
    expect((await deleteSandbox(server, lab)).status).toBe(204);
    expect((await apiRequest(server, 'GET', `api/sandboxes/${lab.id}`, { token: lab.token })).status).toBe(410);
  }, 300_000);

  it('refuses a lab larger than MAX_MACHINES_PER_LAB, bad names and duplicates, saying why', async () => {
    for (const body of [
      { machines: ['n1', 'n2', 'n3', 'n4'] },
      { machines: ['Node1'] },
      { machines: ['node1', 'node1'] },
      { machines: [] },
      { machine: ['node1'] },
    ]) {
      const response = await post(JSON.stringify(body));
      expect(response.status, JSON.stringify(body)).toBe(400);
      const error = ApiErrorBody.parse(await response.json()).error;
      expect(error.code).toBe('invalid-request');
      expect(error.hint ?? '').toMatch(/machines/);
    }
  });
});
