// The namespace view's socket against the real server and a real sandbox:
// what the panel receives while the lesson's unshare commands run in two
// terminals, that it is refused without the sandbox's token, and that the
// socket closes when the sandbox goes. (The cap on processes is the agent's:
// tests/unit/agent-process-snapshot.test.ts; a terminal cannot even start
// 300 processes, its pids limit stops it first.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../contracts/protocol.ts';
import { NamespaceClient } from '../support/namespace-client.ts';
import { shutDown, startServer, type RunningServer } from '../support/server.ts';
import { attachTerminal, createSandbox, deleteSandbox, type AttachedTerminal, type CreatedSandbox } from '../support/server-client.ts';

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
