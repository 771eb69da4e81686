// Namespace sandboxes outlive the process that made them: detached (a
// graceful restart) or orphaned (the server was SIGKILLed), they are taken
// over by another driver instance with their files, their shells (exported
// variables, background jobs) and their terminals' recent output.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxLostError } from '../../sandbox-server/src/drivers/driver.ts';
import { DEFAULT_LIMITS, createNamespaceDriver, type NamespaceSandbox } from '../../sandbox-server/src/drivers/namespace/index.ts';
import { SandboxCgroups } from '../../sandbox-server/src/drivers/namespace/cgroups.ts';
import { NamespaceFixture } from '../support/namespace-fixture.ts';
import { namespaceLeftovers } from '../support/namespace-leftovers.ts';
import { TerminalReader } from '../support/terminal-reader.ts';

const fixture = new NamespaceFixture();
const adopted: NamespaceSandbox[] = [];

beforeAll(async () => {
  await fixture.prepare();
});

afterAll(async () => {
  await Promise.allSettled(adopted.map((sandbox) => sandbox.destroy()));
  expect(await fixture.destroyAll()).toEqual([]);
});

/** A second driver, as the next server process would make it. */
function nextDriver() {
  return createNamespaceDriver({ log: () => {} });
}

describe('a detached sandbox', () => {
  it('is taken over with its file, its shell and its recent output', async () => {
    const sandbox = await fixture.create('detach');
    const { reader } = await fixture.open(sandbox, '1');
    await reader.run('export KEPT=across-restarts; echo hello > ~/file.txt; sleep 600 & echo marker-before-detach');
    expect(await sandbox.detach()).toEqual({ kept: true });

    const driver = nextDriver();
    await driver.prepare(() => {});
    const again = await driver.adopt({ id: sandbox.id, limits: DEFAULT_LIMITS, docker: false });
    adopted.push(again);
    expect(again.restoredTerminals()).toEqual([{ name: '1', size: { cols: 120, rows: 40 } }]);
    const terminal = await again.openTerminal('1', { cols: 120, rows: 40 });
    const after = new TerminalReader(terminal, (text) => terminal.write(text));
    // The replay: what the shell printed before the detach.
    await after.waitFor('marker-before-detach');
    await after.waitForPrompt();
    expect((await after.run('echo $KEPT; cat ~/file.txt; jobs')).output).toMatch(/across-restarts\nhello\n\[1\]\+ +Running +sleep 600 &/);
    await again.destroy();
    expect(namespaceLeftovers({ ...scope(), ids: [sandbox.id] })).toEqual([]);
  });
});

describe('a sandbox whose server was killed', () => {
  it('is taken over with its shell, and a dead one is removed with SandboxLostError', async () => {
    const [alive, dead] = [fixture.newId('orphan'), fixture.newId('orphan-dead')];
    // A separate Node process plays the server, sets the shells up and dies without a word.
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
      import { createNamespaceDriver, DEFAULT_LIMITS } from ${JSON.stringify(new URL('../../sandbox-server/src/drivers/namespace/index.ts', import.meta.url).pathname)};
      const driver = createNamespaceDriver({ log: () => {} });
      for (const id of ${JSON.stringify([alive, dead])}) {
        const sandbox = await driver.create({ id, limits: DEFAULT_LIMITS, docker: false });
        const terminal = await sandbox.openTerminal('1', { cols: 100, rows: 30 });
        terminal.write('export KEPT=after-a-crash; (while true; do echo tick; sleep 0.2; done) & echo set-up-done\\n');
      }
      console.log('created');
      setInterval(() => {}, 1000);
    `,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => line === 'created' && resolve());
      child.once('exit', (code) => reject(new Error(`the crashing server exited early (${code})`)));
    });
    // Give the shells a moment to run what they were sent.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    expect(namespaceLeftovers({ ...scope(), ids: [alive] }).length).toBeGreaterThan(0);

    const driver = nextDriver();
    await driver.prepare(() => {});
    const again = await driver.adopt({ id: alive, limits: DEFAULT_LIMITS, docker: false });
    adopted.push(again);
    const terminal = await again.openTerminal('1', { cols: 100, rows: 30 });
    const after = new TerminalReader(terminal, (text) => terminal.write(text));
    await after.waitFor('set-up-done');
    // The loop went on printing while no server ran the machine, and still does.
    const ticksBefore = after.text.split('tick').length;
    await after.waitFor(/(tick\n.*){3}/s, { from: after.cursor.text });
    expect(after.text.split('tick').length).toBeGreaterThan(ticksBefore);
    terminal.write('echo $KEPT\n');
    await after.waitFor('after-a-crash\n');

    // The other machine dies while nobody runs it: taking it over fails, and removes what is left of it.
    expect(await new SandboxCgroups(`${fixture.driver.options.prefix}/${dead}`).killAll()).toBe(true);
    await expect(driver.adopt({ id: dead, limits: DEFAULT_LIMITS, docker: false })).rejects.toThrow(SandboxLostError);
    expect(namespaceLeftovers({ ...scope(), ids: [dead] })).toEqual([]);
    await again.destroy();
    expect(namespaceLeftovers({ ...scope(), ids: [alive] })).toEqual([]);
  });
});

function scope() {
  return { prefix: fixture.driver.options.prefix, stateDir: fixture.driver.options.stateDir };
}
