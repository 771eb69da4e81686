// An idle namespace machine lets its agent sleep: a host holds up to ≈ 200
// of them, and every wake-up of a Node process costs CPU and lands between
// some reader's keystroke and its echo. Counted for real with the kernel's
// per-thread counters (bench/idle/task-counters.ts) on the agent of a machine
// whose shell waits at its prompt; then a fork bomb typed there is still
// stopped at once, found by the check its typing brought forward. A machine
// with Docker (the default) lets its containerd sleep too, and gets it back
// when it is killed.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityBetween, processesInCgroup, readCounters } from '../../bench/idle/task-counters.ts';
import type { Sandbox } from '../../sandbox-server/src/drivers/driver.ts';
import { NamespaceFixture, type OpenedTerminal } from '../support/namespace-fixture.ts';

const fixture = new NamespaceFixture();
let sandbox: Sandbox;
let term: OpenedTerminal;
let dockerMachine: Sandbox;
let dockerTerm: OpenedTerminal;

beforeAll(async () => {
  await fixture.prepare();
  [sandbox, dockerMachine] = await Promise.all([fixture.create('idle'), fixture.create('idle-docker', { docker: true })]);
  [term, dockerTerm] = await Promise.all([fixture.open(sandbox, '1'), fixture.open(dockerMachine, '1')]);
}, 300_000);

afterAll(async () => {
  expect(await fixture.destroyAll()).toEqual([]);
});

/** The pid (on the host) of the process named `name` among the machine's own (its containers' are in a child group). */
const pidNamed = (machine: Sandbox, name: string) => {
  const pids = processesInCgroup(`/sys/fs/cgroup/pids/${fixture.driver.options.prefix}/${machine.id}`);
  return pids.find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name;
    } catch {
      return false; // ended between the listing and the read
    }
  });
};
const agentPid = () => pidNamed(sandbox, 'sandbox-agent')!;

/** Runs `command` in the Docker machine's terminal; fails the test with its output if it fails. */
async function inDockerMachine(command: string): Promise<string> {
  const result = await dockerTerm.reader.run(command, { timeoutMs: 120_000 });
  if (result.exitCode !== 0) throw new Error(`"${command}" exited ${result.exitCode}:\n${result.output}`);
  return result.output;
}

describe('an idle namespace machine', () => {
  it('lets its agent sleep while the shell waits at its prompt', async () => {
    const pid = agentPid();
    expect(pid).toBeGreaterThan(0);
    // Quiet for longer than the fork-bomb watch keeps checking after a terminal's use (ACTIVE_WINDOW_MS).
    await sleep(11_000);
    const before = readCounters([pid]);
    await sleep(40_000);
    const { wakeUps } = activityBetween(before, readCounters([pid])).get(pid)!;
    // What is left: a safety check every 15 s (≈ 0.09/s measured, 3–4 in 40 s). The old fork-bomb poll woke it 80
    // times in 40 s; V8's memory reducer, without AGENT_NODE_OPTIONS' --no-memory-reducer, 5 more (0.22/s measured).
    expect(wakeUps).toBeLessThanOrEqual(6);
  });

  it('still stops a fork bomb typed there, found by the check its typing brought forward', async () => {
    const before = term.reader.cursor;
    term.terminal.write(':(){ :|:& };:\r');
    await term.reader.waitFor(/Limite de processus atteinte \(fork bomb \?\) : \d+ processus arrêtés/, { from: before.text, timeoutMs: 60_000 });
    // The agent's records reach the driver's log as "agent log" records carrying its message and fields (as JSON).
    const found = fixture.logs.find((record) => record.msg === 'agent log' && record.agentMsg === 'pids limit hit in a terminal');
    const fields = JSON.parse(String(found?.agentFields ?? '{}')) as { terminal?: string; via?: string };
    expect(fields.terminal).toBe('1');
    expect(['terminal in use', 'pids.events']).toContain(fields.via);
    await term.reader.run('wait', { timeoutMs: 60_000 });
    expect((await term.reader.run('echo alive-$((20+1))', { timeoutMs: 60_000 })).output).toMatch(/alive-21/);
  });
});

describe('an idle namespace machine with Docker', () => {
  it('lets its containerd sleep', async () => {
    // dockerd starts in the background, after containerd: wait until it answers (a safety net, not a speed check).
    await inDockerMachine('for i in $(seq 300); do docker info >/dev/null 2>&1 && break; sleep 0.2; done; docker info --format "{{.Driver}}"');
    const pid = pidNamed(dockerMachine, 'containerd');
    expect(pid).toBeGreaterThan(0);
    // Past the start's own work (the collector's first run is 100 ms after containerd's start).
    await sleep(3000);
    const before = readCounters([pid!]);
    await sleep(5000);
    const { wakeUps } = activityBetween(before, readCounters([pid!])).get(pid!)!;
    // dockerd's own containerd (its collector's scheduler every 60–100 ms, several threads each time) woke 80–150
    // times in 5 s; the course's configuration (rootfs files/etc/containerd/config.toml): none measured.
    expect(wakeUps).toBeLessThanOrEqual(20);
  });

  it('starts containerd again when it is killed, and dockerd goes on with it', async () => {
    const first = pidNamed(dockerMachine, 'containerd');
    expect(first).toBeGreaterThan(0);
    await inDockerMachine('old=$(pidof containerd); sudo kill $old; while [ -e /proc/$old ]; do sleep 0.1; done');
    // Started again a second later (the loop is a safety net, not a speed check); dockerd names containerd among its
    // components only when it reached it just now.
    const components = 'docker version --format "{{range .Server.Components}}{{.Name}}={{.Version}} {{end}}"';
    const output = await inDockerMachine(
      `for i in $(seq 300); do ${components} | grep -q containerd= && break; sleep 0.2; done; echo "pid=$(pidof containerd)"; ${components}`,
    );
    expect(output).toMatch(/pid=\d+/);
    expect(output).toMatch(/containerd=\d+/);
    const second = pidNamed(dockerMachine, 'containerd');
    expect(second).toBeGreaterThan(0);
    expect(second).not.toBe(first);
  });
});
