// The machine's Node agent dies (a bug of ours, or root inside killing it):
// its terminal keeper starts it again, and the reader loses nothing. Their
// shells and what runs in them, the file they edited, dockerd and their
// containers stay as they were; the new agent opens terminals, runs the
// class's checks, describes the processes and forwards pulls to the class
// store, as the first one did.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox-server/src/drivers/driver.ts';
import { ImageStoreFixture } from '../support/image-store-fixture.ts';
import { NamespaceFixture, type OpenedTerminal } from '../support/namespace-fixture.ts';

const images = new ImageStoreFixture();
const fixture = new NamespaceFixture({ registry: images.gates });
const slow = { timeoutMs: 180_000 };
let sandbox: Sandbox;
let term: OpenedTerminal;
let other: OpenedTerminal;

async function ok(command: string, reader = term.reader): Promise<string> {
  const result = await reader.run(command, slow);
  if (result.exitCode !== 0) throw new Error(`"${command}" exited ${result.exitCode}:\n${result.output}`);
  return result.output.replace(/\r/g, '').trim();
}

beforeAll(async () => {
  await fixture.prepare();
  await images.start();
  sandbox = await fixture.create('agent-restart', { docker: true });
  term = await fixture.open(sandbox, '1');
  other = await fixture.open(sandbox, '2');
  await ok('for i in $(seq 600); do docker info >/dev/null 2>&1 && break; sleep 0.2; done; docker info >/dev/null');
}, 300_000);

afterAll(async () => {
  expect([...(await fixture.destroyAll()), ...(await images.stop())]).toEqual([]);
});

describe('an agent killed by root inside', () => {
  const before: Record<string, string> = {};

  it('is started again by the keeper, in the same machine', async () => {
    await ok('docker pull busybox >/dev/null && docker run -d --name temoin busybox sleep 1000 >/dev/null');
    await ok("echo '10.9.9.9 mon-serveur' | sudo tee -a /etc/hosts >/dev/null");
    // A job of the reader's, running across the restart.
    await ok('sleep 1000 & echo $! > /tmp/job');
    before.shell = await ok('echo $$');
    before.job = await ok('cat /tmp/job');
    before.dockerd = await ok('pidof dockerd');
    before.agent = await ok('pidof sandbox-agent');
    await ok(`sudo kill -9 ${before.agent}`, other.reader);
    const after = await ok(`for i in $(seq 300); do p=$(pidof sandbox-agent); [ -n "$p" ] && [ "$p" != ${before.agent} ] && break; sleep 0.1; done; echo $p`);
    expect(after).toMatch(/^\d+$/);
    expect(after).not.toBe(before.agent);
    expect(fixture.logs.some((record) => JSON.stringify(record).includes('the agent exited: started again, the terminals stay'))).toBe(true);
  });

  it("leaves the reader's shells, their job, their file, dockerd and their container as they were", async () => {
    expect(await ok('echo $$')).toBe(before.shell);
    expect(await ok(`kill -0 ${before.job} && echo job-alive`)).toBe('job-alive');
    expect(await ok('echo second-$((1+1))', other.reader)).toBe('second-2');
    expect(await ok('grep mon-serveur /etc/hosts')).toBe('10.9.9.9 mon-serveur');
    expect(await ok('pidof dockerd')).toBe(before.dockerd);
    expect(await ok('docker ps --format "{{.Names}} {{.Status}}"')).toMatch(/^temoin Up/m);
    // (wait: its end is reported here, not in the next command's output.)
    await ok(`kill ${before.job}; wait ${before.job} 2>/dev/null; true`);
  });

  it('serves as the first one did: a new terminal, a check, the process view, a pull through the class store', async () => {
    const third = await fixture.open(sandbox, '3');
    expect(await ok('echo third-$((1+2))', third.reader)).toBe('third-3');
    const check = await sandbox.exec(['sh', '-c', 'grep -c mon-serveur /etc/hosts']);
    expect(check).toMatchObject({ code: 0, stdout: '1\n' });
    const snapshot = await sandbox.processSnapshot!(200);
    // The shells it adopted are known to it by name, beside the one it opened.
    expect(snapshot.terminals.map(({ name }) => name).sort()).toEqual(['1', '2', '3']);
    expect(snapshot.processes.find((process) => process.shell && process.terminal === '1')?.pid).toBe(Number(before.shell));
    // The forwarder to the class store died with the first agent; the new one listens again.
    expect(await ok('docker pull debian:bookworm-slim >/dev/null && docker run --rm debian:bookworm-slim echo encore-la')).toBe('encore-la');
  });
});
