// Labs in the namespace driver, measured: a lab of three machines with Docker
// from create to every machine's first prompt (p50/p95), memory of a lab
// running a three-node swarm and a 3-replica service, and how many such labs
// the host holds (extrapolated from what one lab costs, said as such). Run as
// root: `npm run bench -- lab`. Everything made here is destroyed before the
// end, also on Ctrl-C.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { DEFAULT_LIMITS, createNamespaceDriver } from '../sandbox-server/src/drivers/namespace/index.ts';
import type { NamespaceLab } from '../sandbox-server/src/drivers/namespace/lab.ts';
import { ensureDefaultImages } from '../sandbox-server/src/images/default-images.ts';
import { ClassImageStore } from '../sandbox-server/src/images/image-store.ts';
import { DEFAULT_IMAGE_STORE_PATHS } from '../sandbox-server/src/images/paths.ts';
import { openTerminal } from '../tests/support/terminal-reader.ts';
import { report, reportTimings } from './stats.ts';

const RUNS = Number(process.env.BENCH_LAB_RUNS ?? 5);
const MIB = 1024 * 1024;
const NODES = ['node1', 'node2', 'node3'];

const run = `/run/cours-linux/bench-images-${randomBytes(3).toString('hex')}`;
const paths = { storageDir: DEFAULT_IMAGE_STORE_PATHS.storageDir, privateDir: `${run}/registry`, gateDir: `${run}/gate` };
const store = new ClassImageStore(paths);
const driver = createNamespaceDriver({ registry: store.gates, log: (record) => record.level === 'error' && console.error(JSON.stringify(record)) });
const alive = new Set<NamespaceLab>();
let counter = 0;

process.on('SIGINT', () => {
  void cleanUp().finally(() => process.exit(130));
});

async function cleanUp(): Promise<void> {
  await Promise.allSettled([...alive].map((lab) => lab.destroy()));
  alive.clear();
  await store.stop();
  await rm(run, { recursive: true, force: true });
}

/** A lab of three, timed from create() to the first prompt of a terminal on every machine. */
async function timedLab(): Promise<{ lab: NamespaceLab; ms: number }> {
  const started = performance.now();
  const lab = await driver.create({ id: `bench-lab-${process.pid}-${counter++}`, machines: NODES, limits: DEFAULT_LIMITS, docker: true });
  alive.add(lab);
  const terminals = await Promise.all(lab.members.map((member) => openTerminal(member, '1')));
  const ms = performance.now() - started;
  for (const terminal of terminals) terminal.terminal.close();
  return { lab, ms };
}

async function student(lab: NamespaceLab, node: string, command: string): Promise<string> {
  const result = await lab.machine(node)!.exec(['runuser', '-u', 'student', '--', 'bash', '-c', command], { timeoutMs: 300_000 });
  if (result.code !== 0) throw new Error(`${node}: "${command}" exited ${result.code}: ${result.stdout}${result.stderr}`);
  return result.stdout;
}

function memoryCharge(lab: NamespaceLab): number {
  return lab.members.reduce(
    (sum, member) => sum + Number(readFileSync(`/sys/fs/cgroup/memory/${driver.options.prefix}/${member.id}/memory.usage_in_bytes`, 'utf8')),
    0,
  );
}

function tasks(lab: NamespaceLab): number {
  return lab.members.reduce((sum, member) => sum + Number(readFileSync(`/sys/fs/cgroup/pids/${driver.options.prefix}/${member.id}/pids.current`, 'utf8')), 0);
}

function memAvailable(): number {
  return Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
}

try {
  await driver.checkHost();
  await driver.prepare(() => {});
  await ensureDefaultImages(paths, (step, detail) => console.error(`  (${step}: ${detail ?? ''})`));
  await store.start();

  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const { lab, ms } = await timedLab();
    times.push(ms);
    await lab.destroy();
    alive.delete(lab);
  }
  reportTimings('lab of 3 (Docker) create → all three prompts', times);

  const before = memAvailable();
  const { lab } = await timedLab();
  for (const node of NODES) await student(lab, node, 'for i in $(seq 600); do docker info >/dev/null 2>&1 && break; sleep 0.1; done; docker info >/dev/null');
  const idle = memoryCharge(lab);
  const address = lab.machines[0]!.address;
  const init = await student(lab, 'node1', `docker swarm init --advertise-addr ${address} >/dev/null && docker swarm join-token -q worker`);
  for (const node of ['node2', 'node3']) await student(lab, node, `docker swarm join --token ${init.trim()} ${address}:2377 >/dev/null`);
  await student(
    lab,
    'node1',
    'docker service create -q --detach=false --name web --replicas 3 --replicas-max-per-node 1 --endpoint-mode dnsrr --publish mode=host,target=80,published=8080 busybox httpd -f -p 80 -h /etc >/dev/null',
  );
  await student(lab, 'node1', 'sleep 3');
  const busy = memoryCharge(lab);
  const drop = before - memAvailable();
  report('lab of 3, dockerd idle (cgroup charge, 3 machines)', idle / MIB, 'MiB');
  report('lab of 3 with a swarm and a 3-replica service (cgroup charge)', busy / MIB, 'MiB');
  // Other work on the host moves MemAvailable too: below zero it says nothing, and the charge is used alone.
  report('lab of 3 with a swarm and a 3-replica service (host MemAvailable drop; noisy on a shared host)', drop / MIB, 'MiB');
  report('tasks of such a lab', tasks(lab));
  // Extrapolated from one lab, not measured with many at once (see the docker bench for machines side by side).
  const perLab = Math.max(drop, busy);
  const byMemory = Math.floor((memAvailable() + Math.max(drop, 0) - 2 * 1024 * MIB) / perLab);
  report('labs of 3 per host, by memory (keeping 2 GiB; extrapolated from one lab)', byMemory);
  report('labs of 3 per host, by kernel.pid_max', Math.floor(Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) / tasks(lab)));
  report('labs of 3 per host, by uid ranges (maxSandboxes / 3)', Math.floor(driver.options.maxSandboxes / 3));
} finally {
  await cleanUp();
}
