// The namespace view's socket against the real server and a real sandbox:
// what the panel receives while the lesson's unshare commands run in two
// terminals, that it is refused without the sandbox's token, and that the
// socket closes when the sandbox goes; in a lab, each machine has its own
// view (…/machines/:machine/namespaces), which follows a machine reset alone. (The cap on processes is the agent's:
// tests/unit/agent-process-snapshot.test.ts; a terminal cannot even start
// 300 processes, its pids limit stops it first.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inFrench } from '../../contracts/messages.fr.ts';
import { CloseCode, apiPath, type ErrorInfo } from '../../contracts/protocol.ts';
import { NamespaceClient } from '../support/namespace-client.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';
import { apiRequest, attachTerminal, createSandbox, deleteSandbox, type AttachedTerminal, type CreatedSandbox } from '../support/server-client.ts';

let server: RunningServer;
let sandbox: CreatedSandbox;
let one: AttachedTerminal;
let two: AttachedTerminal;
let view: NamespaceClient;

beforeAll(async () => {
  server = await startServer({ env: { SANDBOX_DOCKER: 'false' } });
  sandbox = await createSandbox(server);
  one = await attachTerminal(server, sandbox, '1');
  two = await attachTerminal(server, sandbox, '2');
  await one.reader.waitForPrompt();
  await two.reader.waitForPrompt();
  view = await NamespaceClient.connect(server, sandbox);
});

afterAll(async () => {
  await view?.close();
  if (sandbox) await deleteSandbox(server, sandbox);
  expect(await shutDown(server)).toMatchObject({ code: 0, leftovers: [] });
});

const shellOf = (client: NamespaceClient, terminal: string) =>
  [...client.picture!.processes.values()].find((process) => process.terminal === terminal && process.shell);

describe('the namespace view of a machine', () => {
  it("starts with a whole snapshot: one namespace of each kind, both terminals' shells in it", async () => {
    await view.waitFor((client) => shellOf(client, '1') !== undefined && shellOf(client, '2') !== undefined, 'both shells');
    expect(view.messages[0]).toMatchObject({ type: 'snapshot', seq: 1, machine: sandbox.id });
    for (const band of view.bands()) {
      expect(band.groups, `${band.type}:\n${view.describe()}`).toHaveLength(1);
      expect(band.groups[0]!.label).toMatch(new RegExp(`^${band.type}:\\[\\d+\\]$`));
      expect(band.groups[0]!.terminals).toEqual(['1', '2']);
    }
    expect(shellOf(view, '1')).toMatchObject({ user: 'student', command: '/bin/bash --login' });
  });

  it("shows the new UTS namespace of `sudo unshare --uts /bin/bash`, terminal 2 still in the machine's", async () => {
    await one.reader.run('sudo unshare --uts /bin/bash', { timeoutMs: 30_000 });
    await view.waitFor((client) => client.band('uts').groups.length === 2, 'two UTS namespaces');
    const [machine, created] = view.band('uts').groups;
    expect(machine!.machine).toBe(true);
    expect(machine!.terminals).toEqual(['1', '2']);
    expect(created!.processes.map((process) => process.command)).toEqual(['/bin/bash']);
    expect(created!.entry).toMatchObject({ user: 'root', terminal: '1', nspid: created!.entry.pid });
    // Only the UTS namespace is new.
    for (const type of ['pid', 'net', 'mnt', 'ipc', 'user', 'cgroup', 'time']) expect(view.band(type).groups, type).toHaveLength(1);
    // After the first whole snapshot, only differences travel.
    expect(view.messages.slice(1).every((message) => message.type === 'diff')).toBe(true);
  });

  it('shows the new PID namespace of `unshare --pid --fork --mount-proc`, whose PID 1 is bash, and its end', async () => {
    await one.reader.run('unshare --pid --fork --mount-proc /bin/bash', { timeoutMs: 30_000 });
    await view.waitFor((client) => client.band('pid').groups.length === 2, 'two PID namespaces');
    const created = view.band('pid').groups.find((group) => !group.machine)!;
    expect(created.init).toMatchObject({ nspid: 1, command: '/bin/bash', terminal: '1' });
    expect(view.band('mnt').groups).toHaveLength(2);
    await one.reader.run('exit');
    await view.waitFor((client) => client.band('pid').groups.length === 1 && client.band('mnt').groups.length === 1, 'the PID namespace gone');
    expect(view.band('uts').groups).toHaveLength(2);
    await one.reader.run('exit');
    await view.waitFor((client) => client.band('uts').groups.length === 1, 'the UTS namespace gone');
  });

  it("is refused without the sandbox's token, and to a second sandbox's token", async () => {
    const other = await createSandbox(server);
    try {
      const wrong = await NamespaceClient.connect(server, { id: sandbox.id, token: other.token });
      await expect(wrong.closed).resolves.toMatchObject({ code: CloseCode.forbidden });
      expect(wrong.messages[0]).toMatchObject({ type: 'error', code: 'forbidden' });
    } finally {
      await deleteSandbox(server, other);
    }
  });

  it('closes with 4410 when the sandbox is destroyed', async () => {
    const doomed = await createSandbox(server);
    const panel = await NamespaceClient.connect(server, doomed);
    await panel.waitFor((client) => client.picture !== undefined, 'a first snapshot');
    await deleteSandbox(server, doomed);
    await expect(panel.closed).resolves.toMatchObject({ code: CloseCode.gone });
    expect(panel.messages.at(-1)).toMatchObject({ type: 'error', code: 'gone' });
  });
});

describe('the namespace view of a lab', () => {
  it("shows each machine's own processes on …/machines/:machine/namespaces, the first machine on the old route, and follows node2 through its reset", async () => {
    const lab = await createSandbox(server, { body: JSON.stringify({ machines: ['node1', 'node2'] }) });
    const views: NamespaceClient[] = [];
    const open = async (machine?: string) => {
      const client = await NamespaceClient.connect(server, lab, machine);
      views.push(client);
      return client;
    };
    try {
      const onNode2 = await attachTerminal(server, lab, '1', { machine: 'node2' });
      await onNode2.reader.waitForPrompt();
      const first = await open();
      const node1 = await open('node1');
      const node2 = await open('node2');
      await node2.waitFor((client) => shellOf(client, '1') !== undefined, "node2's terminal 1");
      await first.waitFor((client) => client.picture !== undefined, "node1's first snapshot");
      await node1.waitFor((client) => client.picture !== undefined, "node1's first snapshot by name");
      // …/namespaces and …/machines/node1/namespaces are one machine, node2 another.
      expect(first.messages[0]).toMatchObject({ type: 'snapshot', machine: lab.id });
      expect(node1.messages[0]).toMatchObject({ type: 'snapshot', machine: lab.id });
      expect(node2.messages[0]).toMatchObject({ type: 'snapshot', machine: `${lab.id}/node2` });
      expect(shellOf(first, '1'), "node2's terminal is not on node1").toBeUndefined();
      const node1Uts = first.band('uts').groups[0]!.label;
      const node2Uts = node2.band('uts').groups[0]!.label;
      expect(node2Uts).not.toBe(node1Uts);

      // A command on node2 shows in node2's view only.
      await onNode2.reader.run('sudo unshare --uts /bin/bash', { timeoutMs: 30_000 });
      await node2.waitFor((client) => client.band('uts').groups.length === 2, "node2's second UTS namespace");
      expect(first.band('uts').groups.map((group) => group.label)).toEqual([node1Uts]);

      // node2 made anew alone: its view stays open and shows the new machine.
      const reset = await apiRequest(server, 'POST', apiPath.machineReset(lab.id, 'node2'), { token: lab.token });
      expect(reset.status).toBe(200);
      // The new node2: one UTS namespace and no shell of terminal 1 (the reset closed it). Not its namespace's label:
      // the kernel hands a freed namespace number out again (lowest free first), so the new machine's UTS namespace
      // often has the old one's number (this check failed in a whole-suite run, waiting 60 s for a label to change).
      await node2.waitFor(
        (client) => client.band('uts').groups.length === 1 && shellOf(client, '1') === undefined,
        "the new node2's one UTS namespace, without the old machine's shell",
        90_000,
      );
      expect(first.band('uts').groups.map((group) => group.label)).toEqual([node1Uts]);

      // A machine the lab lacks, and …/machines/… of a lone machine: 4404 with the names to use.
      const unknown = await open('node9');
      await expect(unknown.closed).resolves.toMatchObject({ code: CloseCode.notFound });
      // Said in French, as the panel shows it (the message alone): what happened and which machines to pick.
      expect(unknown.messages[0]).toMatchObject({
        type: 'error',
        code: 'not-found',
        lang: 'fr',
        message: "Votre lab n'a pas de machine « node9 » : choisissez l'une des siennes (node1, node2) dans la liste « Machine » de la vue.",
      });
      const lone = await NamespaceClient.connect(server, sandbox, 'node1');
      views.push(lone);
      await expect(lone.closed).resolves.toMatchObject({ code: CloseCode.notFound });
      expect(lone.messages[0]).toMatchObject({ code: 'not-found', lang: 'fr', message: expect.stringMatching(/^Votre machine est seule, sans lab/) });
      expect(inFrench(lone.messages[0] as ErrorInfo).message).toBe((lone.messages[0] as ErrorInfo).message);

      await deleteSandbox(server, lab);
      for (const view of [first, node1, node2]) await expect(view.closed).resolves.toMatchObject({ code: CloseCode.gone });
    } finally {
      for (const view of views) await view.close();
      await deleteSandbox(server, lab);
    }
  }, 180_000);
});
