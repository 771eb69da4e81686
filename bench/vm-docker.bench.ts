// Docker in the VM driver, through the driver API with real QEMU VMs and the
// real class image store (on sockets of this run):
// - create → first prompt, and → dockerd answering;
// - `docker pull` of busybox and of debian:bookworm-slim over the VM's channel;
// - `docker run --rm busybox true` p50/p95;
// - the Docker disk's host allocation after those;
// - a lab of BENCH_VM_LAB machines (default 2): create → all prompts, and a
//   swarm (init + joins + all Ready).
// `npm run bench -- vm-docker` (also run by `-- vm`). Prints `name: value unit` lines.
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createVmDriver } from '../sandbox-server/src/drivers/vm/index.ts';
import type { VmLab } from '../sandbox-server/src/drivers/vm/vm-lab.ts';
import type { VmSandbox } from '../sandbox-server/src/drivers/vm/vm-sandbox.ts';
import { ImageStoreFixture } from '../tests/support/image-store-fixture.ts';
import { openTerminal, type OpenedTerminal } from '../tests/support/terminal-reader.ts';
import { report, reportTimings } from './stats.ts';

const RUNS = Number(process.env.BENCH_VM_DOCKER_RUNS ?? 5);
const LAB_MACHINES = Number(process.env.BENCH_VM_LAB ?? 2);
const LIMITS = { memoryBytes: 384 * 1024 * 1024, pids: 1024, cpus: 1, diskBytes: 128 * 1024 * 1024 };
const SLOW = { timeoutMs: 1_200_000 };

const store = new ImageStoreFixture();
await store.start();
const driver = createVmDriver({
  registry: store.gates,
  log: (record) => record.level === 'error' && console.error(JSON.stringify(record)),
});
await driver.checkHost();
await driver.cleanupLeftovers();
await driver.prepare(() => {});
report('vm accelerator', driver.accelerator ?? 'unknown');

async function must(term: OpenedTerminal, command: string): Promise<string> {
  const result = await term.reader.run(command, SLOW);
  if (result.exitCode !== 0) throw new Error(`"${command}" exited ${result.exitCode}:\n${result.output}`);
  return result.output;
}
const timed = async (term: OpenedTerminal, command: string) => {
  const started = performance.now();
  await must(term, command);
  return performance.now() - started;
};
const WAIT_DOCKERD = 'for i in $(seq 1200); do docker info >/dev/null 2>&1 && break; sleep 0.5; done; docker info --format "{{.Driver}}"';

try {
  const started = performance.now();
  const sandbox = (await driver.create({ id: `bench-${randomBytes(3).toString('hex')}`, limits: LIMITS, docker: true })) as VmSandbox;
  try {
    const term = await openTerminal(sandbox, '1', undefined, SLOW);
    report('vm docker create to first prompt', performance.now() - started, 'ms');
    await must(term, WAIT_DOCKERD);
    report('vm docker create to dockerd answering', performance.now() - started, 'ms');
    report('vm docker pull busybox', await timed(term, 'docker pull -q busybox'), 'ms');
    report('vm docker pull debian:bookworm-slim', await timed(term, 'docker pull -q debian:bookworm-slim'), 'ms');
    const runs: number[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await timed(term, 'docker run --rm busybox true'));
    reportTimings('vm docker run --rm busybox true', runs);
    const disk = statSync(sandbox.dirs.dockerDisk);
    report('vm docker disk allocated on the host', (disk.blocks * 512) / 1024 ** 2, 'MiB');
    report('vm docker disk quota', disk.size / 1024 ** 2, 'MiB');
  } finally {
    await sandbox.destroy();
  }

  if (LAB_MACHINES > 0) {
    const names = Array.from({ length: LAB_MACHINES }, (_, index) => `node${index + 1}`);
    const labStarted = performance.now();
    const lab = (await driver.create({ id: `blab-${randomBytes(3).toString('hex')}`, limits: LIMITS, docker: true, machines: names })) as VmLab;
    try {
      const terms = await Promise.all(names.map((name) => openTerminal(lab.machine(name)!, '1', undefined, SLOW)));
      report(`vm lab of ${LAB_MACHINES} create to all prompts`, performance.now() - labStarted, 'ms');
      await Promise.all(terms.map((term) => must(term, WAIT_DOCKERD)));
      report(`vm lab of ${LAB_MACHINES} create to every dockerd answering`, performance.now() - labStarted, 'ms');
      const swarmStarted = performance.now();
      const init = await must(terms[0]!, `docker swarm init --advertise-addr ${lab.machines[0]!.address}`);
      const join = /docker swarm join --token \S+ \S+:2377/.exec(init.replace(/\\\n\s*/g, ''))?.[0];
      if (!join) throw new Error(`no join command in:\n${init}`);
      for (const term of terms.slice(1)) await must(term, join);
      await must(
        terms[0]!,
        `for i in $(seq 600); do [ "$(docker node ls --format '{{.Status}}' | grep -c Ready)" = ${LAB_MACHINES} ] && break; sleep 1; done; docker node ls`,
      );
      report(`vm lab of ${LAB_MACHINES} swarm init + joins + all Ready`, performance.now() - swarmStarted, 'ms');
      const usage = await lab.usage();
      report(`vm lab of ${LAB_MACHINES} qemu rss with a swarm`, usage.memoryBytes / 1024 ** 2, 'MiB');
    } finally {
      await lab.destroy();
    }
  }
} finally {
  await store.stop();
}
