// The host's requests to an agent that wait for an answer (a terminal open,
// a root command, a process snapshot), by channel, each with a deadline: an
// agent that does not answer in time is stopped or broken, and whoever
// waits hears so instead of waiting forever.
import type { ExecDone } from '../../../contracts/agent-protocol.ts';
import type { ProcessSnapshot } from '../../../contracts/process-snapshot.ts';
import type { TerminalSize } from '../../../contracts/sizes.ts';
import type { HostTerminal } from './host-terminal.ts';

export interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

export interface PendingOpen extends Waiter<HostTerminal> {
  name: string;
  size: TerminalSize;
}

export class PendingRequests {
  readonly opens = new Map<number, PendingOpen>();
  readonly execs = new Map<number, Waiter<ExecDone>>();
  readonly snapshots = new Map<number, Waiter<ProcessSnapshot>>();

  /** Removes and returns whatever waits on `channel` (an Error frame answers any kind). */
  takeAny(channel: number): Waiter<never> | undefined {
    const waiter = this.opens.get(channel) ?? this.execs.get(channel) ?? this.snapshots.get(channel);
    this.opens.delete(channel);
    this.execs.delete(channel);
    this.snapshots.delete(channel);
    return waiter;
  }

  /** The session ended: every waiter hears `error`. */
  rejectAll(error: Error): void {
    for (const waiter of [...this.opens.values(), ...this.execs.values(), ...this.snapshots.values()]) waiter.reject(error);
    this.opens.clear();
    this.execs.clear();
    this.snapshots.clear();
  }
}

/** `answer`, or a rejection after `ms` (and `onLate` called with why, to end the machine). */
export function answerWithin<T>(answer: Promise<T>, ms: number, lateReason: string, onLate: (reason: string) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onLate(lateReason);
      reject(new Error(`the sandbox is gone (${lateReason})`));
    }, ms);
  });
  return Promise.race([answer, late]).finally(() => clearTimeout(timer));
}
