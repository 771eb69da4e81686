// Types a snippet's commands into a shell one at a time, the way a reader
// would: wait for the prompt, type a line, wait for the command to finish
// (OSC 133 marks, see osc133.ts), then type the next. A command that starts a
// new interactive shell (`sudo unshare --uts /bin/bash`) never "finishes": the
// new shell's prompt (A mark) counts as "ready for the next line", so the
// following lines run inside it, as in the lesson.
//
// Pure logic: the caller feeds it the marks of the live output and gives it a
// way to type; timers can be injected for tests.
import type { Osc133Mark } from '../../contracts/osc133.ts';

export type ShellPhase =
  /** A new shell that has not drawn its first prompt yet. */
  | 'starting'
  /** A: the prompt is being drawn. */
  | 'drawing'
  /** B: the shell reads a command line. */
  | 'prompt'
  /** C: a command runs (also a shell whose state is unknown, e.g. flooded with output). */
  | 'busy'
  /** D: the command finished; the next prompt is on its way. */
  | 'finished';

const PHASE_AFTER: Record<Osc133Mark['kind'], ShellPhase> = { A: 'drawing', B: 'prompt', C: 'busy', D: 'finished' };

export function phaseAfterMark(mark: Osc133Mark): ShellPhase {
  return PHASE_AFTER[mark.kind];
}

/**
 * The phase of a shell we reattach to, from the marks in the output the
 * server replayed. Output without any mark means the marks scrolled out of
 * the replay buffer under a flood: assume a command is still running.
 */
export function phaseAfterReplay(marks: readonly Osc133Mark[], replayBytes: number): ShellPhase {
  const last = marks.at(-1);
  if (last !== undefined) return phaseAfterMark(last);
  return replayBytes > 0 ? 'busy' : 'starting';
}

/** What the queue types into (the terminal's input, as if from the keyboard). */
export interface ShellInput {
  type(text: string): void;
}

export interface RunTimers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const REAL_TIMERS: RunTimers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface RunQueueOptions {
  /** After A or D, how long to wait for B before typing anyway (a prompt without a B mark). */
  promptGraceMs?: number;
  /** How long Ctrl-C may take to bring the prompt back. */
  interruptTimeoutMs?: number;
  /** How long a new shell may take to draw its first prompt. */
  startTimeoutMs?: number;
  timers?: RunTimers;
}

export interface RunListener {
  /** A command was still running: Ctrl-C was sent before typing anything. */
  interrupted?(): void;
  commandStarted?(index: number, command: string): void;
  /** `status` is the exit status from the D mark; undefined when a new shell's prompt came instead. */
  commandFinished?(index: number, status: number | undefined): void;
}

export interface RunOutcome {
  /** Ctrl-C was sent first. */
  interrupted: boolean;
  statuses: (number | undefined)[];
}

/** The run was replaced by a newer one in the same terminal, or the terminal went away. */
export class RunStoppedError extends Error {
  override name = 'RunStoppedError';
}

/** The shell did not get back to a prompt in time. */
export class RunTimeoutError extends Error {
  override name = 'RunTimeoutError';
}

export const CTRL_C = '\x03';
/** Ctrl-E then Ctrl-U: go to the end of the line and erase it (readline), for text the reader left there. */
export const CLEAR_LINE = '\x05\x15';

interface Waiter {
  done(): boolean;
  resolve(): void;
  reject(error: Error): void;
  timer: unknown;
}

export class RunQueue {
  private readonly input: ShellInput;
  private readonly timers: RunTimers;
  private readonly promptGraceMs: number;
  private readonly interruptTimeoutMs: number;
  private readonly startTimeoutMs: number;
  private currentPhase: ShellPhase = 'starting';
  private graceTimer: unknown;
  private waiter: Waiter | undefined;
  /** Which run may act; a newer run or a stop bumps it. */
  private generation = 0;
  private running = false;
  /** The reader typed on the current prompt's line. */
  private lineDirty = false;
  /** Set after typing a command; cleared by the first sign it ended. */
  private awaitingEnd = false;
  private endStatus: number | undefined;

  constructor(input: ShellInput, options: RunQueueOptions = {}) {
    this.input = input;
    this.timers = options.timers ?? REAL_TIMERS;
    this.promptGraceMs = options.promptGraceMs ?? 300;
    this.interruptTimeoutMs = options.interruptTimeoutMs ?? 5000;
    this.startTimeoutMs = options.startTimeoutMs ?? 30_000;
  }

  get phase(): ShellPhase {
    return this.currentPhase;
  }

  get busy(): boolean {
    return this.running;
  }

  /** A mark from the live output. */
  mark(mark: Osc133Mark): void {
    if (this.awaitingEnd && (mark.kind === 'D' || mark.kind === 'A' || mark.kind === 'B')) {
      this.awaitingEnd = false;
      this.endStatus = mark.kind === 'D' ? mark.status : undefined;
    }
    if (mark.kind === 'B') this.lineDirty = false;
    this.setPhase(phaseAfterMark(mark));
  }

  /** The terminal was (re)attached and its replayed output says where the shell is. */
  resync(phase: ShellPhase): void {
    this.lineDirty = false;
    this.setPhase(phase);
  }

  /** The reader typed into the terminal. */
  readerTyped(): void {
    if (this.currentPhase === 'prompt') this.lineDirty = true;
  }

  /** Stops the current run, if any (connection lost, terminal closed). */
  stop(reason: string): void {
    this.generation++;
    this.running = false;
    this.awaitingEnd = false;
    this.rejectWaiter(new RunStoppedError(reason));
    this.clearGrace();
  }

  /**
   * Types `commands` one after another, each once the previous has finished.
   * A newer run in the same terminal stops this one (its promise rejects with
   * RunStoppedError) and starts with Ctrl-C if a command is still running.
   */
  async run(commands: readonly string[], listener: RunListener = {}): Promise<RunOutcome> {
    this.stop('replaced by a newer run');
    const generation = this.generation;
    this.running = true;
    // Every await is followed by this check: a newer run may have started meanwhile.
    const settle = async (wait: Promise<void>) => {
      await wait;
      this.check(generation);
    };
    const outcome: RunOutcome = { interrupted: false, statuses: [] };
    try {
      if (this.currentPhase === 'busy') {
        this.input.type(CTRL_C);
        outcome.interrupted = true;
        listener.interrupted?.();
        await settle(
          this.waitForPrompt(this.interruptTimeoutMs, "La commande en cours ne s'est pas arrêtée avec Ctrl-C : arrêtez-la dans le terminal, puis réessayez."),
        );
      }
      for (const [index, command] of commands.entries()) {
        await settle(
          this.waitForPrompt(
            this.currentPhase === 'starting' ? this.startTimeoutMs : undefined,
            "Le terminal n'a pas affiché d'invite de commande : cliquez sur « Réinitialiser la machine », puis réessayez.",
          ),
        );
        listener.commandStarted?.(index, command);
        this.awaitingEnd = true;
        this.endStatus = undefined;
        this.input.type((this.lineDirty ? CLEAR_LINE : '') + command.replace(/\n/g, '\r') + '\r');
        this.lineDirty = false;
        this.setPhase('busy');
        await settle(this.waitFor(() => !this.awaitingEnd));
        outcome.statuses.push(this.endStatus);
        listener.commandFinished?.(index, this.endStatus);
      }
      await settle(this.waitForPrompt(undefined, ''));
      return outcome;
    } finally {
      if (generation === this.generation) {
        this.running = false;
        this.clearGrace();
      }
    }
  }

  private check(generation: number): void {
    if (generation !== this.generation) throw new RunStoppedError('replaced by a newer run');
  }

  private setPhase(phase: ShellPhase): void {
    this.currentPhase = phase;
    this.clearGrace();
    if (this.running && (phase === 'drawing' || phase === 'finished')) this.startGrace();
    this.checkWaiter();
  }

  private startGrace(): void {
    this.graceTimer = this.timers.set(() => {
      this.graceTimer = undefined;
      if (this.currentPhase === 'drawing' || this.currentPhase === 'finished') this.setPhase('prompt');
    }, this.promptGraceMs);
  }

  private clearGrace(): void {
    if (this.graceTimer !== undefined) this.timers.clear(this.graceTimer);
    this.graceTimer = undefined;
  }

  private waitForPrompt(timeoutMs: number | undefined, timeoutMessage: string): Promise<void> {
    if (this.currentPhase === 'drawing' || this.currentPhase === 'finished') {
      if (this.graceTimer === undefined) this.startGrace();
    }
    return this.waitFor(() => this.currentPhase === 'prompt', timeoutMs, timeoutMessage);
  }

  private waitFor(done: () => boolean, timeoutMs?: number, timeoutMessage = ''): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { done, resolve, reject, timer: undefined };
      if (timeoutMs !== undefined) {
        waiter.timer = this.timers.set(() => {
          if (this.waiter === waiter) this.rejectWaiter(new RunTimeoutError(timeoutMessage));
        }, timeoutMs);
      }
      this.waiter = waiter;
    });
  }

  private checkWaiter(): void {
    const waiter = this.waiter;
    if (waiter === undefined || !waiter.done()) return;
    this.waiter = undefined;
    if (waiter.timer !== undefined) this.timers.clear(waiter.timer);
    waiter.resolve();
  }

  private rejectWaiter(error: Error): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    this.waiter = undefined;
    if (waiter.timer !== undefined) this.timers.clear(waiter.timer);
    waiter.reject(error);
  }
}
