// Labs through the server: POST api/sandboxes {"machines":[…]} answers each
// machine's name and address, each machine has terminals of its own on
// …/machines/:machine/terminals/:name (…/terminals/:name is the first),
// capacity counts machines, bad requests are refused clearly, one machine
// or the whole lab is reset in place (same names and addresses, the other
// machines untouched, terminals closed with 4411), so is a lone machine (same
// id and token), and nothing is left once the lab is deleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiErrorBody, CloseCode, ResetMachinesResponse, apiPath } from '../../contracts/protocol.ts';
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
    // In the reader's words, with the machines the lab has and who chooses them (reloading would not help).
    expect(await unknown.waitForMessage('error')).toMatchObject({
      code: 'not-found',
      lang: 'fr',
      message: "Votre lab n'a pas de machine « node9 » (il a : node1, node2, node3).",
      hint: expect.stringContaining('--machines'),
    });

    // Capacity counts machines: 3 of MAX_SANDBOXES=4 are taken (healthz says so), a second lab of 2 does not fit.
    expect((await (await fetch(new URL('healthz', server.url))).json()).sandboxes.assigned).toBe(3);
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

function reset(lab: { id: string; token?: string }, machine?: string, method = 'POST'): Promise<Response> {
  const path = machine === undefined ? apiPath.labReset(lab.id) : apiPath.machineReset(lab.id, machine);
  return fetch(new URL(path, server.url), { method, headers: lab.token === undefined ? {} : { authorization: `Bearer ${lab.token}` } });
}

describe('resetting a lab', () => {
  it('makes one machine anew at its name and address while the others run on, then the whole lab, keeping its id and token', async () => {
    const lab = await createSandbox(server, { body: JSON.stringify({ machines: ['node1', 'node2', 'node3'] }) });
    const addresses = lab.machines!.map((machine) => machine.address);
    const node1 = await attachTerminal(server, lab, '1');
    const node1Shell = (await node1.reader.run('echo $$')).output.trim();
    await node1.reader.run('echo gardé > /tmp/keep');
    // node1 knows node2's link-layer address now: the new node2 must answer at it (same MAC as its address).
    expect((await node1.reader.run('ping -c 1 -W 5 node2 >/dev/null && echo joint')).output.trim()).toBe('joint');
    const node2 = await attachTerminal(server, lab, '1', { machine: 'node2' });
    await node2.reader.run('echo perdu > /tmp/mark');

    const resetting = reset(lab, 'node2');
    // Its terminals are told why, with a close code that is not "the lab is gone".
    expect((await node2.client.closed).code).toBe(CloseCode.machineReset);
    const told = await node2.client.waitForMessage('error');
    expect(told).toMatchObject({ code: 'machine-reset', lang: 'fr' });
    expect(told.message).toContain('node2');
    // A page reconnecting at once waits for the new machine and gets a fresh shell on it.
    const reopened = await attachTerminal(server, lab, '1', { machine: 'node2' });
    const answer = await resetting;
    expect(answer.status).toBe(200);
    expect(ResetMachinesResponse.parse(await answer.json())).toEqual({ machines: [{ name: 'node2', address: addresses[1] }] });
    expect(reopened.ready.resumed).toBe(false);
    expect((await reopened.reader.run('hostname; cat /tmp/mark 2>/dev/null || echo neuf')).output.trim()).toBe('node2\nneuf');
    expect((await reopened.reader.run('ip -4 -o addr show eth0')).output).toContain(`${addresses[1]}/24`);
    expect((await reopened.reader.run('getent hosts node1 node3 | tr -s " " | sort')).output.trim()).toBe(`${addresses[0]} node1\n${addresses[2]} node3`);
    expect((await reopened.reader.run('ping -c 1 -W 5 node1 >/dev/null && echo joint')).output.trim()).toBe('joint');
    // node1 never noticed: same shell, same files, and it reaches the new node2.
    expect((await node1.reader.run('echo $$; cat /tmp/keep')).output.trim()).toBe(`${node1Shell}\ngardé`);
    expect((await node1.reader.run('ping -c 1 -W 5 node2 >/dev/null && echo joint')).output.trim()).toBe('joint');

    // The whole lab: every machine anew, same id and token, the same addresses.
    const wholeReset = reset(lab);
    expect((await node1.client.closed).code).toBe(CloseCode.machineReset);
    expect((await reopened.client.closed).code).toBe(CloseCode.machineReset);
    const whole = await wholeReset;
    expect(whole.status).toBe(200);
    expect(ResetMachinesResponse.parse(await whole.json()).machines).toEqual(lab.machines);
    expect((await apiRequest(server, 'GET', apiPath.sandbox(lab.id), { token: lab.token })).status).toBe(200);
    const fresh = await attachTerminal(server, lab, '1');
    expect(fresh.ready.resumed).toBe(false);
    expect((await fresh.reader.run('cat /tmp/keep 2>/dev/null || echo neuf; ping -c 1 -W 5 node3 >/dev/null && echo joint')).output.trim()).toBe('neuf\njoint');
    fresh.client.close();
    expect((await deleteSandbox(server, lab)).status).toBe(204);
  }, 300_000);

  it('makes a lone machine anew in place: same id, token and end, its terminals closed with 4411, a fresh shell on the same URL', async () => {
    const single = await createSandbox(server);
    const before = await apiRequest(server, 'GET', apiPath.sandbox(single.id), { token: single.token });
    const { expiresAt } = await before.json();
    const shell = await attachTerminal(server, single, '1');
    await shell.reader.run('echo perdu > /tmp/mark');

    const resetting = reset(single);
    expect((await shell.client.closed).code).toBe(CloseCode.machineReset);
    expect(await shell.client.waitForMessage('error')).toMatchObject({
      code: 'machine-reset',
      lang: 'fr',
      message: 'Votre machine a été réinitialisée : ses terminaux ont été fermés.',
    });
    // A page reconnecting at once waits for the new machine.
    const reopened = await attachTerminal(server, single, '1');
    const answer = await resetting;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ id: single.id, state: 'running', expiresAt });
    expect(reopened.ready.resumed).toBe(false);
    expect((await reopened.reader.run('cat /tmp/mark 2>/dev/null || echo neuf')).output.trim()).toBe('neuf');
    // Another terminal of the new machine: the same machine as the reopened one (not the old one's leftovers).
    const second = await attachTerminal(server, single, '2');
    await reopened.reader.run('echo ici > /tmp/here');
    expect((await second.reader.run('cat /tmp/here')).output.trim()).toBe('ici');
    reopened.client.close();
    second.client.close();
    expect((await deleteSandbox(server, single)).status).toBe(204);
  }, 120_000);

  it('refuses a reset without the token, of a machine the lab lacks, of a single machine, and by GET', async () => {
    const lab = await createSandbox(server, { body: JSON.stringify({ machines: ['node1', 'node2'] }) });
    const single = await createSandbox(server);
    const refusals: [Response, number, string][] = [
      [await reset({ id: lab.id }, 'node1'), 401, 'unauthorized'],
      [await reset({ id: lab.id, token: single.token }, 'node1'), 403, 'forbidden'],
      [await reset(lab, 'node9'), 404, 'not-found'],
      [await reset(single, 'node1'), 404, 'not-found'],
      [await reset(lab, 'node1', 'GET'), 405, 'method-not-allowed'],
    ];
    for (const [response, status, code] of refusals) {
      expect(response.status).toBe(status);
      expect(ApiErrorBody.parse(await response.json()).error.code).toBe(code);
    }
    expect((await deleteSandbox(server, lab)).status).toBe(204);
    expect((await reset(lab, 'node1')).status).toBe(410);
    expect((await deleteSandbox(server, single)).status).toBe(204);
  }, 120_000);
});
