// The warm pool's machines hold a started shell (terminal 1, its prompt
// already printed): the first reader's attach adopts it, sees that prompt
// replayed and types into it; a second terminal is a new shell. The POST
// that hands the machine out already carries that prompt (create and first
// prompt in one round trip), the very bytes the socket then replays first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READER_COOKIE, apiPath } from '../../contracts/protocol.ts';
import { startServer, serverLeftovers, type LogLine, type RunningServer } from '../support/server.ts';
import { apiRequest, attachTerminal, createSandbox, deleteSandbox } from '../support/server-client.ts';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ env: { SANDBOX_DOCKER: 'false', WARM_POOL_SIZE: '1' } });
});

afterAll(async () => {
  await server?.stop();
  expect(serverLeftovers(server)).toEqual([]);
});

/** The agent's "terminal opened" record for terminal `name` of sandbox `id`, and its shell's pid inside. */
function agentOpened(id: string, name: string): { line: LogLine; pid: number } | undefined {
  for (const line of server.logs) {
    if (line.msg !== 'agent log' || line.sandbox !== id || line.agentMsg !== 'terminal opened') continue;
    // The agent's own fields come as one JSON string (machine-log.ts: its words are never our fields).
    const fields = JSON.parse(String(line.agentFields)) as { terminal?: string; pid?: number };
    if (fields.terminal === name && typeof fields.pid === 'number') return { line, pid: fields.pid };
  }
  return undefined;
}

describe('warm shell', () => {
  it('is adopted by the first attach: its prompt is replayed, its input works, it takes the page size', async () => {
    const pooled = await server.waitForLog((line) => line.msg === 'warm pool sandbox ready', 120_000);
    expect(pooled.shell).toBe(true);
    const sandbox = await createSandbox(server);
    expect(sandbox.id).toBe(pooled.sandbox);
    const handedOut = server.logs.findIndex((line) => line.msg === 'sandbox handed out' && line.sandbox === sandbox.id);
    const opened = agentOpened(sandbox.id, '1');
    // Started before any reader asked: the agent opened it before the machine was handed out.
    expect(opened).toBeDefined();
    expect(server.logs.indexOf(opened!.line)).toBeLessThan(handedOut);

    // The answer holds what that shell printed: a whole prompt (mark B).
    expect(sandbox.started?.terminal).toBe('1');
    const printed = Buffer.from(sandbox.started!.output, 'base64');
    expect(printed.toString()).toContain('\x1b]133;B');

    const terminal = await attachTerminal(server, sandbox, '1', { cols: 100, rows: 30 });
    try {
      expect(terminal.ready).toMatchObject({ resumed: false, cols: 100, rows: 30 });
      expect(terminal.ready.replayBytes).toBeGreaterThan(0);
      // The replayed bytes alone hold a whole prompt (mark B): nothing had to be typed or waited for.
      await terminal.client.waitForBytes(terminal.ready.replayBytes);
      expect(terminal.client.text().slice(0, terminal.ready.replayBytes)).toContain('\x1b]133;B');
      // …and begin with the bytes the POST answered: a page that showed those skips them.
      expect(terminal.client.text().startsWith(printed.toString())).toBe(true);
      // Shown now: the same reader asking again (another tab) gets the machine, not that output.
      const reader = new RegExp(`(?:^|[ ,])(${READER_COOKIE}=[^;]+)`).exec(sandbox.setCookie)?.[1];
      expect(reader).toBeDefined();
      const asked = await apiRequest(server, 'POST', apiPath.sandboxes(), { cookie: reader! });
      expect(asked.status).toBe(200);
      const answer = (await asked.json()) as { id: string; started?: unknown };
      expect(answer.id).toBe(sandbox.id);
      expect(answer.started).toBeUndefined();
      await terminal.reader.waitForPrompt();
      const pid = opened!.pid;
      expect((await terminal.reader.run('echo $$')).output.trim()).toBe(String(pid));
      expect((await terminal.reader.run('echo warm-$((6*7))')).output.trim()).toBe('warm-42');
      expect((await terminal.reader.run('stty size')).output.trim()).toBe('30 100');
      await server.waitForLog((line) => line.msg === 'terminal adopted from the warm pool' && line.sandbox === sandbox.id);

      // A second terminal is a shell of its own.
      const second = await attachTerminal(server, sandbox, '2');
      try {
        expect(second.ready.resumed).toBe(false);
        await second.reader.waitForPrompt();
        const secondPid = (await second.reader.run('echo $$')).output.trim();
        expect(secondPid).toMatch(/^\d+$/);
        expect(secondPid).not.toBe(String(pid));
      } finally {
        await second.client.close();
      }

      // Attaching terminal 1 again (another tab) resumes the same shell.
      const again = await attachTerminal(server, sandbox, '1');
      try {
        expect(again.ready.resumed).toBe(true);
        await again.reader.waitForPrompt();
        expect((await again.reader.run('echo $$')).output.trim()).toBe(String(pid));
      } finally {
        await again.client.close();
      }
    } finally {
      await terminal.client.close();
      expect((await deleteSandbox(server, sandbox)).status).toBe(204);
    }
  });

  it('refills the pool with a machine that holds a shell again', async () => {
    const ready = await server.waitForLog(
      (line) => line.msg === 'warm pool sandbox ready' && server.logs.filter((l) => l.msg === 'warm pool sandbox ready').length >= 2,
      120_000,
    );
    expect(ready.shell).toBe(true);
    const sandbox = await createSandbox(server);
    const terminal = await attachTerminal(server, sandbox, '1');
    try {
      expect(terminal.ready.replayBytes).toBeGreaterThan(0);
      await terminal.reader.waitForPrompt();
      expect((await terminal.reader.run('whoami')).output.trim()).toBe('student');
    } finally {
      await terminal.client.close();
      await deleteSandbox(server, sandbox);
    }
  });
});
