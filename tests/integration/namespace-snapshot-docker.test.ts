// The namespace view's snapshot of a machine running a Docker container:
// the container's processes are named after it (from its cgroup path and
// Docker's own record), in pid, net, mnt, uts and ipc namespaces of their
// own, while dockerd stays in the machine's — what `docker run` is made of.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamespaceSandbox } from '../../sandbox-server/src/drivers/namespace/index.ts';
import { NAMESPACE_TYPES } from '../../contracts/process-snapshot.ts';
import { ImageStoreFixture } from '../support/image-store-fixture.ts';
import { NamespaceFixture, type OpenedTerminal } from '../support/namespace-fixture.ts';

const images = new ImageStoreFixture();
const fixture = new NamespaceFixture({ registry: images.gates });
let machine: NamespaceSandbox;
let term: OpenedTerminal;
const slow = { timeoutMs: 120_000 };

async function ok(command: string): Promise<string> {
  const result = await term.reader.run(command, slow);
  if (result.exitCode !== 0) throw new Error(`"${command}" exited ${result.exitCode}:\n${result.output}`);
  return result.output;
}

beforeAll(async () => {
  await fixture.prepare();
  await images.start();
  machine = await fixture.create('snapshot-docker', { docker: true });
  term = await fixture.open(machine, '1');
  await ok('for i in $(seq 300); do docker info >/dev/null 2>&1 && break; sleep 0.2; done; docker info --format "{{.Driver}}"');
}, 600_000);

afterAll(async () => {
  const left = await fixture.destroyAll();
  expect([...left, ...(await images.stop())]).toEqual([]);
}, 120_000);

describe('a snapshot of a machine with a container', () => {
  it("names the container's processes and shows its own namespaces", async () => {
    await ok('docker run -d --name web busybox sleep 600');
    const snapshot = await machine.processSnapshot(300);
    const inContainer = snapshot.processes.filter((process) => process.container === 'web');
    expect(
      inContainer.map((process) => process.command),
      JSON.stringify(snapshot.processes.map((p) => [p.pid, p.command, p.container])),
    ).toEqual(['sleep 600']);
    const dockerd = snapshot.processes.find((process) => process.command.startsWith('dockerd') || process.command.startsWith('/usr/sbin/dockerd'))!;
    const init = snapshot.processes.find((process) => process.ppid === 0)!;
    const index = (type: string) => NAMESPACE_TYPES.indexOf(type as (typeof NAMESPACE_TYPES)[number]);
    for (const type of ['pid', 'net', 'mnt', 'uts', 'ipc']) {
      expect(inContainer[0]!.ns[index(type)], type).not.toBe(init.ns[index(type)]);
      expect(dockerd.ns[index(type)], type).toBe(init.ns[index(type)]);
    }
    expect(inContainer[0]!.nspid).toBe(1);
    // Started from terminal 1 through the docker client, but a child of containerd-shim, not of the shell.
    expect(inContainer[0]!.terminal).toBeUndefined();
    await ok('docker rm -f web >/dev/null');
  });
});
