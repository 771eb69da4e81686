// A namespace machine's CPU, as the host sees it: the machine keeps its quota
// (cpus × period), and Docker's daemons sit in a group of their own under it
// with a smaller quota and weight (agent/docker-cpu.ts), while the agent and
// the reader's shells stay outside it: Docker starting (or a container
// spinning) cannot use up the quota the shells' echo needs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type NamespaceSandbox } from '../../sandbox-server/src/drivers/namespace/index.ts';
import { DOCKER_SHARES } from '../../sandbox-server/agent/docker-cpu.ts';
import { NamespaceFixture, type OpenedTerminal } from '../support/namespace-fixture.ts';

const fixture = new NamespaceFixture();
let machine: NamespaceSandbox;
let term: OpenedTerminal;

beforeAll(async () => {
  await fixture.prepare();
  machine = await fixture.create('cpu', { docker: true });
  term = await fixture.open(machine, '1');
  // dockerd starts in the background and starts containerd: wait for both (a safety net, not a speed check).
  const waited = await term.reader.run(
    'for i in $(seq 300); do pidof dockerd >/dev/null && pidof containerd >/dev/null && break; sleep 0.2; done; pidof dockerd containerd',
    {
      timeoutMs: 90_000,
    },
  );
  expect(waited.output.trim().split(/\s+/)).toHaveLength(2);
}, 180_000);

afterAll(async () => {
  expect(await fixture.destroyAll()).toEqual([]);
}, 60_000);

const cpuDir = (child = '') => join('/sys/fs/cgroup/cpu', fixture.driver.options.prefix, machine.id, child);
const cpuFile = (child: string, file: string) => readFileSync(join(cpuDir(child), file), 'utf8').trim();
const procs = (hierarchy: string, child = '') =>
  readFileSync(join('/sys/fs/cgroup', hierarchy, fixture.driver.options.prefix, machine.id, child, 'cgroup.procs'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(Number);
/** The machine's tasks called `name` (one that exits between the listing and the look is not). */
const named = (name: string) =>
  procs('pids').filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name;
    } catch {
      return false;
    }
  });

describe("a machine's CPU", () => {
  it("keeps its quota, and gives Docker's daemons a group under it with a smaller quota and weight", () => {
    const period = Number(cpuFile('', 'cpu.cfs_period_us'));
    const quota = Number(cpuFile('', 'cpu.cfs_quota_us'));
    expect(quota).toBe(Math.round(DEFAULT_LIMITS.cpus * period));
    expect(Number(cpuFile('containers', 'cpu.cfs_period_us'))).toBe(period);
    const dockerQuota = Number(cpuFile('containers', 'cpu.cfs_quota_us'));
    expect(dockerQuota).toBeGreaterThan(0);
    expect(dockerQuota).toBeLessThan(quota);
    expect(Number(cpuFile('containers', 'cpu.shares'))).toBe(DOCKER_SHARES);
  });

  it("has dockerd and containerd in Docker's group, and the agent (keeper and Node side) and the shells out of it", () => {
    const inDockerGroup = new Set(procs('cpu', 'containers'));
    const daemons = [...named('dockerd'), ...named('containerd')];
    expect(daemons).toHaveLength(2);
    for (const pid of daemons) expect(inDockerGroup.has(pid)).toBe(true);
    // The agent's two processes: its terminal keeper (on every key's path) and its Node side.
    const agent = [...named('terminal-keeper'), ...named('sandbox-agent')];
    expect(agent).toHaveLength(2);
    const shells = procs('pids', 'terminals/1');
    expect(shells.length).toBeGreaterThan(0);
    for (const pid of [...agent, ...shells]) expect(inDockerGroup.has(pid)).toBe(false);
  });
});
