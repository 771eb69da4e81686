// Docker in namespace machines, measured: `docker run --rm busybox true`,
// pulls from the class store (a small and a larger image), memory and disk of
// a machine with two containers running, and how many such machines the host
// holds. Run as root: `npm run bench -- docker`. Everything made here is
// destroyed before the end, also on Ctrl-C.
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { NamespaceSandbox } from '../sandbox-server/src/drivers/namespace/index.ts';
import { DEFAULT_LIMITS, createNamespaceDriver } from '../sandbox-server/src/drivers/namespace/index.ts';
import { dockerDiskPath } from '../sandbox-server/src/drivers/namespace/docker-disk.ts';
import { ensureDefaultImages } from '../sandbox-server/src/images/default-images.ts';
import { ClassImageStore } from '../sandbox-server/src/images/image-store.ts';
import { DEFAULT_IMAGE_STORE_PATHS } from '../sandbox-server/src/images/paths.ts';
import { percentile, report, reportTimings } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 12);
const PULLS = Number(process.env.BENCH_PULLS ?? 3);
const MACHINES = Number(process.env.BENCH_DOCKER_MACHINES ?? 8);
const MIB = 1024 * 1024;

const run = `/run/cours-linux/bench-images-${randomBytes(3).toString('hex')}`;
const paths = { storageDir: DEFAULT_IMAGE_STORE_PATHS.storageDir, privateDir: `${run}/registry`, gateDir: `${run}/gate` };
const store = new ClassImageStore(paths);
const driver = createNamespaceDriver({ registry: store.gates, log: (record) => record.level === 'error' && console.error(JSON.stringify(record)) });
const alive = new Set<NamespaceSandbox>();
let counter = 0;

process.on('SIGINT', () => {
  void cleanUp().finally(() => process.exit(130));
});

async function cleanUp(): Promise<void> {
  await Promise.allSettled([...alive].map((sandbox) => sandbox.destroy()));
  alive.clear();
  await store.stop();
  await rm(run, { recursive: true, force: true });
}

async function machine(): Promise<NamespaceSandbox> {
  const sandbox = await driver.create({ id: `bench-docker-${process.pid}-${counter++}`, limits: DEFAULT_LIMITS, docker: true });
  alive.add(sandbox);
  await student(sandbox, 'for i in $(seq 600); do docker info >/dev/null 2>&1 && break; sleep 0.1; done; docker info >/dev/null');
  return sandbox;
}

/** Runs a shell command as the student (docker group, no sudo); fails with its output if it fails. */
async function student(sandbox: NamespaceSandbox, command: string): Promise<string> {
  const result = await sandbox.exec(['runuser', '-u', 'student', '--', 'bash', '-c', command], { timeoutMs: 300_000 });
  if (result.code !== 0) throw new Error(`"${command}" exited ${result.code}: ${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** Milliseconds per iteration, measured inside the machine (no host round trip in the figure). */
async function timedInside(sandbox: NamespaceSandbox, command: string, runs: number, before = ':'): Promise<number[]> {
  const out = await student(
    sandbox,
    `for i in $(seq ${runs}); do ${before}; s=$(date +%s%N); ${command} >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); done`,
  );
  return out.trim().split('\n').map(Number);
}

function cgroup(sandbox: NamespaceSandbox, hierarchy: string, file: string): string {
  return readFileSync(`/sys/fs/cgroup/${hierarchy}/${driver.options.prefix}/${sandbox.id}/${file}`, 'utf8').trim();
}

function memAvailable(): number {
  return Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
}

/** Bytes the machine's Docker disk takes on the host's disk (allocated blocks of the sparse image). */
function diskUsed(sandbox: NamespaceSandbox): number {
  return statSync(dockerDiskPath(driver.options.dockerDiskDir, sandbox.id)).blocks * 512;
}

try {
  await driver.checkHost();
  await driver.prepare(() => {});
  await ensureDefaultImages(paths, (step, detail) => console.error(`  (${step}: ${detail ?? ''})`));
  await store.start();

  const first = await machine();
  const sizes = await student(
    first,
    'docker pull -q busybox >/dev/null && docker pull -q debian:bookworm-slim >/dev/null && docker images --format "{{.Repository}}:{{.Tag}} {{.Size}}"',
  );
  for (const line of sizes.trim().split('\n')) report(`image ${line.split(' ')[0]} (unpacked)`, line.split(' ')[1] ?? '?');
  reportTimings(
    'docker pull busybox (class store)',
    await timedInside(first, 'docker pull -q busybox', PULLS, 'docker rmi -f busybox >/dev/null 2>&1 || true'),
  );
  reportTimings(
    'docker pull debian:bookworm-slim (class store)',
    await timedInside(first, 'docker pull -q debian:bookworm-slim', PULLS, 'docker rmi -f debian:bookworm-slim >/dev/null 2>&1 || true'),
  );
  await student(first, 'docker pull -q busybox >/dev/null');
  reportTimings('docker run --rm busybox true', await timedInside(first, 'docker run --rm busybox true', RUNS));

  const idle = Number(cgroup(first, 'memory', 'memory.usage_in_bytes'));
  await student(
    first,
    'docker run -d --name web -p 8080:80 busybox httpd -f -p 80 >/dev/null && docker run -d --name shell debian:bookworm-slim sleep 3600 >/dev/null',
  );
  await student(first, 'sleep 2');
  const busy = Number(cgroup(first, 'memory', 'memory.usage_in_bytes'));
  const rss = Number(/^total_rss (\d+)$/m.exec(cgroup(first, 'memory', 'memory.stat'))?.[1] ?? 0);
  report('machine memory, dockerd idle, images pulled (cgroup charge)', idle / MIB, 'MiB');
  report('machine memory with two containers running (cgroup charge)', busy / MIB, 'MiB');
  report('machine memory with two containers running (rss only)', rss / MIB, 'MiB');
  report('machine tasks with two containers running', Number(cgroup(first, 'pids', 'pids.current')));
  report('machine Docker disk on the host with two images (allocated)', diskUsed(first) / MIB, 'MiB');
  report('machine Docker disk quota', driver.options.dockerDiskBytes / MIB, 'MiB');

  // Machines per host: MACHINES at once, each with dockerd and the two containers, all answering.
  const before = memAvailable();
  const others: NamespaceSandbox[] = [];
  for (let i = 1; i < MACHINES; i++) {
    const other = await machine();
    await student(other, 'docker run -d -p 8080:80 busybox httpd -f -p 80 >/dev/null && docker run -d debian:bookworm-slim sleep 3600 >/dev/null');
    others.push(other);
  }
  await Promise.all(
    [first, ...others].map((sandbox) => student(sandbox, 'curl -sf -o /dev/null 127.0.0.1:8080 || curl -sf -o /dev/null 127.0.0.1:8080/index.html || true')),
  );
  const perMachine = (before - memAvailable()) / Math.max(1, others.length);
  const charges = [first, ...others].map((sandbox) => Number(cgroup(sandbox, 'memory', 'memory.usage_in_bytes')) / MIB);
  const tasks = [first, ...others].map((sandbox) => Number(cgroup(sandbox, 'pids', 'pids.current')));
  report('machines with Docker and two containers at once', MACHINES);
  report('memory per such machine (host MemAvailable drop)', perMachine / MIB, 'MiB');
  report('memory per such machine (cgroup charge p50)', percentile(charges, 50), 'MiB');
  report('tasks per such machine (p50)', percentile(tasks, 50));
  const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  const byMemory = Math.floor((memAvailable() + perMachine * others.length - 2 * 1024 * MIB) / perMachine);
  report('machines per host, by memory (keeping 2 GiB)', byMemory);
  report('machines per host, by kernel.pid_max', Math.floor(pidMax / percentile(tasks, 50)));
} finally {
  await cleanUp();
}
