import { describe, expect, it } from 'vitest';
import { parseTranscript } from '../../src/lib/snippets/transcript.ts';
import type { Osc133Mark } from '../../contracts/osc133.ts';
import { CLEAR_LINE, CTRL_C, RunQueue, RunStoppedError, RunTimeoutError, phaseAfterReplay, type RunTimers } from '../../src/client/run-queue.ts';

/** Timers that only fire when the test advances the clock. */
class ManualTimers implements RunTimers {
  private now = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();
  set(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { at: this.now + ms, callback });
    return id;
  }
  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  advance(ms: number): void {
    this.now += ms;
    for (const [id, timer] of [...this.pending].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at <= this.now && this.pending.delete(id)) timer.callback();
    }
  }
}

const A: Osc133Mark = { kind: 'A' };
const B: Osc133Mark = { kind: 'B' };
const C: Osc133Mark = { kind: 'C' };
const D = (status: number): Osc133Mark => ({ kind: 'D', status });

/** Lets the queue's promise continuations run. */
const settle = () => new Promise((done) => setTimeout(done, 0));

function setup() {
  const typed: string[] = [];
  const timers = new ManualTimers();
  const queue = new RunQueue({ type: (text) => typed.push(text) }, { timers, promptGraceMs: 300, interruptTimeoutMs: 5000, startTimeoutMs: 30_000 });
  const prompt = () => {
    queue.mark(A);
    queue.mark(B);
  };
  return { typed, timers, queue, prompt };
}

describe('RunQueue', () => {
  it('types only the command lines of a transcript, one at a time, each after the previous finished', async () => {
    const { typed, queue, prompt } = setup();
    const transcript = parseTranscript(`
      // Dans la VM
      $ hostname
      tp-docker
      $ sudo unshare --uts /bin/bash
      // Ici on est dans le namespace
      # hostname my.name.is.bob
      # hostname
      my.name.is.bob
    `);
    prompt();
    const finished: [number, number | undefined][] = [];
    const run = queue.run(transcript.commands, { commandFinished: (i, status) => finished.push([i, status]) });
    await settle();
    expect(typed).toEqual(['hostname\r']);

    // hostname runs and finishes; nothing is typed before the next prompt is drawn.
    queue.mark(C);
    queue.mark(D(0));
    queue.mark(A);
    await settle();
    expect(typed).toHaveLength(1);
    queue.mark(B);
    await settle();
    expect(typed).toEqual(['hostname\r', 'sudo unshare --uts /bin/bash\r']);

    // The new shell inside the namespace draws its own prompt: no D, yet ready for the next line.
    queue.mark(C);
    prompt();
    await settle();
    expect(typed.at(-1)).toBe('hostname my.name.is.bob\r');
    queue.mark(C);
    queue.mark(D(0));
    prompt();
    await settle();
    expect(typed.at(-1)).toBe('hostname\r');
    queue.mark(C);
    queue.mark(D(0));
    prompt();
    const outcome = await run;
    expect(outcome).toEqual({ interrupted: false, statuses: [0, undefined, 0, 0] });
    expect(finished).toEqual([
      [0, 0],
      [1, undefined],
      [2, 0],
      [3, 0],
    ]);
    expect(typed.join('')).not.toMatch(/tp-docker|Dans la VM|my\.name\.is\.bob\r.*my\.name/);
  });

  it("waits for a new shell's first prompt before typing", async () => {
    const { typed, queue, prompt } = setup();
    const run = queue.run(['id']);
    await settle();
    expect(typed).toEqual([]);
    prompt();
    await settle();
    expect(typed).toEqual(['id\r']);
    queue.mark(C);
    queue.mark(D(0));
    prompt();
    await run;
  });

  it('sends Ctrl-C first when a command is still running, and says so', async () => {
    const { typed, queue, prompt } = setup();
    prompt();
    const yes = queue.run(['yes']);
    await settle();
    queue.mark(C);
    await settle();
    // The reader clicks another snippet while `yes` floods the terminal.
    let saidSo = false;
    const next = queue.run(['echo fini'], { interrupted: () => (saidSo = true) });
    await expect(yes).rejects.toBeInstanceOf(RunStoppedError);
    expect(saidSo).toBe(true);
    expect(typed).toEqual(['yes\r', CTRL_C]);
    queue.mark(D(130));
    prompt();
    await settle();
    expect(typed).toEqual(['yes\r', CTRL_C, 'echo fini\r']);
    queue.mark(C);
    queue.mark(D(0));
    prompt();
    expect(await next).toEqual({ interrupted: true, statuses: [0] });
  });

  it('gives up with a clear error when Ctrl-C does not bring the prompt back', async () => {
    const { typed, queue, timers } = setup();
    queue.resync('busy');
    const run = queue.run(['ls']);
    const failure = expect(run).rejects.toThrow(RunTimeoutError);
    timers.advance(5000);
    await failure;
    await expect(run).rejects.toThrow(/Ctrl-C/);
    expect(typed).toEqual([CTRL_C]);
  });

  it('types anyway after a short grace when a prompt has no B mark', async () => {
    const { typed, queue, timers } = setup();
    queue.mark(A);
    const run = queue.run(['true']);
    await settle();
    expect(typed).toEqual([]);
    timers.advance(300);
    await settle();
    expect(typed).toEqual(['true\r']);
    queue.mark(D(0));
    queue.mark(A);
    timers.advance(300);
    await run;
  });

  it('erases what the reader left on the prompt line before typing', async () => {
    const { typed, queue, prompt } = setup();
    prompt();
    queue.readerTyped();
    const run = queue.run(['pwd']);
    await settle();
    expect(typed).toEqual([`${CLEAR_LINE}pwd\r`]);
    queue.mark(D(0));
    prompt();
    await run;
  });

  it('stops a run when the terminal goes away, and can run again after reattaching', async () => {
    const { typed, queue, prompt } = setup();
    prompt();
    const run = queue.run(['sleep 100', 'echo after']);
    await settle();
    queue.mark(C);
    queue.stop('connexion perdue');
    await expect(run).rejects.toThrow('connexion perdue');
    expect(queue.busy).toBe(false);
    queue.resync(phaseAfterReplay([A, B, C, D(0), A, B], 100));
    const again = queue.run(['echo after']);
    await settle();
    expect(typed).toEqual(['sleep 100\r', 'echo after\r']);
    queue.mark(D(0));
    prompt();
    await again;
  });

  it('passes a continued command as one line with carriage returns', async () => {
    const { typed, queue, prompt } = setup();
    prompt();
    const run = queue.run(['echo a \\\nb']);
    await settle();
    expect(typed).toEqual(['echo a \\\rb\r']);
    queue.mark(D(0));
    prompt();
    await run;
  });
});

describe('phaseAfterReplay', () => {
  it("reads the shell's phase from the replayed marks", () => {
    expect(phaseAfterReplay([A, B], 40)).toBe('prompt');
    expect(phaseAfterReplay([A, B, C], 4000)).toBe('busy');
    expect(phaseAfterReplay([], 0)).toBe('starting');
    // Output but no mark at all: a flood pushed the marks out of the replay buffer.
    expect(phaseAfterReplay([], 65536)).toBe('busy');
  });
});
