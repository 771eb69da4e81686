// A class of 100 on this machine, through the real server in class mode
// (real SQLite file, real namespace sandboxes, real WebSockets, loopback
// only): the students arrive within half a minute; each gets their machine
// through their personal link, attaches two terminals and runs the lesson's
// UTS exercise (the server checks it), measures keystroke echo, and stays
// connected until the whole class is in. Then everything is torn down and
// looked for on the host.
//
// Bounded in count (BENCH_STUDENTS, default 100) and time (BENCH_DEADLINE_S,
// default 900 s: students not in by then count as failures). Docker runs in
// each machine unless BENCH_DOCKER=false. Prints `name: value unit` lines.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { percentile, report, reportTimings } from './stats.ts';
import { bearerRequest, classFiles, createClass, startClassServer, type StudentLink } from '../tests/support/classroom.ts';
import { createdSandboxIds, serverLeftovers, type RunningServer } from '../tests/support/server.ts';
import { TerminalClient, type AttachedTerminal } from '../tests/support/server-client.ts';
import { TerminalReader } from '../tests/support/terminal-reader.ts';

const STUDENTS = Number(process.env.BENCH_STUDENTS ?? 100);
const DOCKER = process.env.BENCH_DOCKER !== 'false';
const DEADLINE_MS = Number(process.env.BENCH_DEADLINE_S ?? 900) * 1000;
/** Students arrive over this window, as a class does after « ouvrez votre lien ». */
const ARRIVAL_WINDOW_MS = 30_000;
const ECHO_KEYS = 5;
const MIB = 2 ** 20;
const label = DOCKER ? 'with dockerd' : 'without dockerd';

interface Outcome {
  ok: boolean;
  error?: string;
  startMs?: number;
  echoMs: number[];
  checkPassed?: boolean;
  terminals: AttachedTerminal[];
}

function memAvailable(): number {
  return Number(/MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
}

/**
 * CPU seconds the class cost so far: every machine's cgroup (cpuacct) plus the
 * server process. Not the host's total: other work on a shared host would count.
 */
async function classCpuSeconds(server: RunningServer): Promise<number> {
  let total = await server.metric('process_cpu_seconds_total');
  for (const id of createdSandboxIds(server)) {
    try {
      total += Number(readFileSync(`/sys/fs/cgroup/cpuacct/cours-linux/${id}/cpuacct.usage`, 'utf8')) / 1e9;
    } catch {
      // destroyed
    }
  }
  return total;
}

/** Like attachTerminal, with the patience a loaded host needs before `ready`. */
async function attach(server: RunningServer, sandbox: { id: string; token: string }, name: string): Promise<AttachedTerminal> {
  const client = await TerminalClient.connect(server, sandbox.id, name, { token: sandbox.token, cols: 120, rows: 40 });
  const reader = new TerminalReader({ onData: (listener) => client.onDataFromStart(listener) }, (text) => client.type(text));
  const ready = await client.waitForMessage('ready', 120_000);
  return { client, reader, ready };
}

async function echo(terminal: AttachedTerminal): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < ECHO_KEYS; index++) {
    const key = String.fromCharCode(113 + index);
    const echoed = new Promise<void>((resolve) => {
      const subscription = terminal.client.onData((chunk) => {
        if (chunk.includes(key)) {
          subscription.dispose();
          resolve();
        }
      });
    });
    const started = performance.now();
    terminal.client.type(key);
    await echoed;
    samples.push(performance.now() - started);
  }
  terminal.client.type('\x15');
  return samples;
}

async function student(server: RunningServer, link: StudentLink, delayMs: number, deadline: number): Promise<Outcome> {
  const outcome: Outcome = { ok: false, echoMs: [], terminals: [] };
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('deadline')), Math.max(0, deadline - Date.now())).unref());
  try {
    await Promise.race([
      timer,
      (async () => {
        const started = performance.now();
        const created = await bearerRequest(server, 'POST', 'api/sandboxes', link.token);
        if (created.status !== 201) throw new Error(`POST ${created.status}: ${JSON.stringify(created.body)}`);
        const first = await attach(server, created.body, '1');
        outcome.terminals.push(first);
        await first.reader.waitForPrompt({ timeoutMs: 120_000 });
        outcome.startMs = performance.now() - started;
        const second = await attach(server, created.body, '2');
        outcome.terminals.push(second);
        await second.reader.waitForPrompt({ timeoutMs: 120_000 });
        const commands = ['hostname', 'sudo unshare --uts /bin/bash', 'hostname my.name.is.bob', 'hostname'];
        const statuses: (number | null)[] = [];
        for (const command of commands) statuses.push((await first.reader.run(command, { timeoutMs: 120_000 })).exitCode ?? null);
        await second.reader.run('hostname', { timeoutMs: 120_000 });
        outcome.echoMs = await echo(second);
        const progress = await bearerRequest(server, 'POST', 'api/class/progress', link.token, {
          page: 'docker_linux/namespaces/',
          snippet: '1',
          commands,
          statuses,
        });
        outcome.checkPassed =
          progress.status === 200 &&
          progress.body.exercises.some((exercise: { id: string; passedAt: string | null }) => exercise.id === 'uts' && exercise.passedAt !== null);
        await first.reader.run('exit', { timeoutMs: 120_000 });
        outcome.ok = true;
      })(),
    ]);
  } catch (error) {
    outcome.error = (error as Error).message.slice(0, 200);
  }
  return outcome;
}

async function main(): Promise<void> {
  const files = classFiles();
  const memoryBefore = memAvailable();
  let server: RunningServer | undefined;
  const servers: RunningServer[] = [];
  try {
    const { links, instructorKey } = await createClass(files.db, ['--name', 'Bench', '--seats', String(STUDENTS), '--docker', String(DOCKER)]);
    server = await startClassServer(files.db, {
      env: { MAX_SANDBOXES: String(STUDENTS + 10), WARM_POOL_SIZE: '0', LOG_LEVEL: 'info', SANDBOX_DOCKER: String(DOCKER) },
    });
    servers.push(server);
    const serverRssIdle = await server.metric('process_resident_memory_bytes');
    const busyBefore = await classCpuSeconds(server);
    const started = performance.now();
    const deadline = Date.now() + DEADLINE_MS;
    const outcomes = await Promise.all(links.map((link, index) => student(server!, link, (index * ARRIVAL_WINDOW_MS) / links.length, deadline)));
    const classInSeconds = (performance.now() - started) / 1000;
    const busySeconds = (await classCpuSeconds(server)) - busyBefore;

    const ok = outcomes.filter((outcome) => outcome.ok);
    report(`class size (${label})`, STUDENTS);
    report('students who got a machine, two terminals and ran the exercise', ok.length);
    report('success rate', (ok.length / STUDENTS) * 100, '%');
    report('UTS exercise checked as passed', outcomes.filter((outcome) => outcome.checkPassed).length);
    reportTimings(
      'start (link to first prompt) under load',
      ok.map((outcome) => outcome.startMs!),
    );
    reportTimings(
      'keystroke echo under load',
      ok.flatMap((outcome) => outcome.echoMs),
    );
    report('whole class in', classInSeconds, 's');
    report('CPU spent while the class came in (machines + server)', busySeconds, 'core-seconds');
    report('CPU per student (start + lesson)', busySeconds / Math.max(1, ok.length), 'core-seconds');
    const failures = outcomes.filter((outcome) => !outcome.ok).map((outcome) => outcome.error);
    if (failures.length > 0) report('first failures', JSON.stringify([...new Set(failures)].slice(0, 3)));

    // Everyone connected (two terminals each): the peak.
    const view = await bearerRequest(
      server,
      'GET',
      `api/class/classes/${(await bearerRequest(server, 'GET', 'api/class/classes', instructorKey)).body.classes[0].id}`,
      instructorKey,
    );
    const charged = (view.body.students as { machine: { memoryBytes: number | null } | null }[])
      .map((s) => s.machine?.memoryBytes ?? 0)
      .filter((bytes) => bytes > 0);
    const memoryPeak = memAvailable();
    report('machines alive at the peak', charged.length);
    report('memory charged per machine p50', percentile(charged, 50) / MIB, 'MiB');
    report('host MemAvailable drop per machine (noisy: shared host)', (memoryBefore - memoryPeak) / Math.max(1, charged.length) / MIB, 'MiB');
    report('server rss idle', serverRssIdle / MIB, 'MiB');
    report('server rss with the class connected', (await server.metric('process_resident_memory_bytes')) / MIB, 'MiB');
    const idleBusy = await classCpuSeconds(server);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    report('CPU with the class idle and connected (machines + server)', (((await classCpuSeconds(server)) - idleBusy) / 10) * 100, '% of a core');

    for (const outcome of outcomes) for (const terminal of outcome.terminals) await terminal.client.close();
    const stoppedAt = performance.now();
    await server.stop(120_000);
    report('teardown of the class (server stop)', (performance.now() - stoppedAt) / 1000, 's');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const leftovers = serverLeftovers(server);
    report('leftovers after teardown', leftovers.length === 0 ? 'none' : `${leftovers.length}: ${leftovers.slice(0, 3).join('; ')}`);
    report('host MemAvailable after teardown vs before', (memAvailable() - memoryBefore) / MIB, 'MiB');
  } finally {
    for (const running of servers) await running.stop(120_000);
    files.remove();
  }
}

await main();
