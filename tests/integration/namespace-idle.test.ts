// An idle namespace machine lets its agent sleep: a host holds up to ≈ 200
// of them, and every wake-up of a Node process costs CPU and lands between
// some reader's keystroke and its echo. Counted for real with the kernel's
// per-thread counters (bench/idle/task-counters.ts) on the agent of a machine
// whose shell waits at its prompt; then a fork bomb typed there is still
// stopped at once, found by the check its typing brought forward.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityBetween, processesInCgroup, readCounters } from '../../bench/idle/task-counters.ts';
import type { Sandbox } from '../../sandbox-server/src/drivers/driver.ts';
import { NamespaceFixture, type OpenedTerminal } from '../support/namespace-fixture.ts';

const fixture = new NamespaceFixture();
let sandbox: Sandbox;
let term: OpenedTerminal;

beforeAll(async () => {
  await fixture.prepare();
  sandbox = await fixture.create('idle');
  term = await fixture.open(sandbox, '1');
});

afterAll(async () => {
  expect(await fixture.destroyAll()).toEqual([]);
});

const agentPid = () => {
  const pids = processesInCgroup(`/sys/fs/cgroup/pids/${fixture.driver.options.prefix}/${sandbox.id}`);
  return pids.find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sandbox-agent')!;
};

describe('an idle namespace machine', () => {
  it('lets its agent sleep while the shell waits at its prompt', async () => {
    const pid = agentPid();
    expect(pid).toBeGreaterThan(0);
    // Quiet for longer than the fork-bomb watch keeps checking after a terminal's use (ACTIVE_WINDOW_MS).
    await sleep(11_000);
    const before = readCounters([pid]);
    await sleep(5000);
    const { wakeUps } = activityBetween(before, readCounters([pid])).get(pid)!;
    // The old fork-bomb poll alone woke it 10 times in 5 s; a safety check comes every 15 s.
    expect(wakeUps).toBeLessThanOrEqual(3);
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
