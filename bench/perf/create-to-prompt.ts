// Create → first prompt through the public API, the same way for every
// benchmark that prints it (perf, server): POST api/sandboxes, then terminal
// 1's socket. A machine from the warm pool answers the POST with its shell's
// prompt already printed (`started`, what the page shows at once): the prompt
// is there when the answer is. Also timed, to the end: the socket attached
// and its replay in (where the reader's keys go).
import { performance } from 'node:perf_hooks';
import type { RunningServer } from '../../tests/support/server.ts';
import { attachTerminal, createSandbox, deleteSandbox } from '../../tests/support/server-client.ts';

/** The end of bash's prompt (OSC 133 B): the shell waits for input. */
const PROMPT_END = '\x1b]133;B';

export interface CreateTimings {
  /** POST → a whole prompt in hand (from the POST's answer, else from the socket). */
  prompt: number[];
  /** POST → terminal 1's socket attached and a prompt received on it. */
  attached: number[];
}

/** `runs` times: `beforeEach`, then create a machine, time its first prompt, and destroy it. */
export async function createToPrompt(server: RunningServer, runs: number, beforeEach: () => Promise<void>): Promise<CreateTimings> {
  const timings: CreateTimings = { prompt: [], attached: [] };
  for (let run = 0; run < runs; run++) {
    await beforeEach();
    const started = performance.now();
    const sandbox = await createSandbox(server);
    const printed = sandbox.started === undefined ? '' : Buffer.from(sandbox.started.output, 'base64').toString();
    let prompted = sandbox.started?.terminal === '1' && printed.includes(PROMPT_END) ? performance.now() : undefined;
    const { client, reader } = await attachTerminal(server, sandbox, '1');
    await reader.waitForPrompt();
    const attached = performance.now();
    prompted ??= attached;
    timings.prompt.push(prompted - started);
    timings.attached.push(attached - started);
    await client.close();
    await deleteSandbox(server, sandbox);
  }
  return timings;
}

/** Waits until the warm pool holds a machine (its shell started: the pool counts it then). */
export async function poolReady(server: RunningServer): Promise<void> {
  const deadline = Date.now() + 120_000;
  while ((await server.metric('sandboxes_active', { kind: 'pool' })) < 1) {
    if (Date.now() > deadline) throw new Error('the warm pool made no sandbox within 120 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
