// Where the shell of one terminal is, from its output: the OSC 133 marks of
// the live output go to the run queue (so Exécuter types a line only once the
// previous one finished); the output replayed after a (re)attach is only read
// to learn the shell's phase at the end of it. No DOM: testable alone.
import type { ReadyMessage } from '../../contracts/protocol.ts';
import { Osc133Parser, type Osc133Mark } from '../../contracts/osc133.ts';
import { phaseAfterReplay, type RunQueue } from './run-queue.ts';

export class ShellFeed {
  private readonly parser = new Osc133Parser();
  private readonly queue: RunQueue;
  private replay: { left: number; total: number; marks: Osc133Mark[] } | undefined;

  constructor(queue: RunQueue) {
    this.queue = queue;
  }

  /** The terminal was (re)attached: `replayBytes` of earlier output follow. */
  attached(message: Pick<ReadyMessage, 'replayBytes'>): void {
    this.parser.reset();
    this.replay = { left: message.replayBytes, total: message.replayBytes, marks: [] };
    if (message.replayBytes === 0) this.endReplay();
  }

  /** Output of the terminal, replayed or live. */
  output(bytes: Uint8Array, replay: boolean): void {
    const marks = this.parser.push(bytes);
    const replaying = this.replay;
    if (replay && replaying !== undefined) {
      replaying.marks.push(...marks);
      replaying.left -= bytes.length;
      if (replaying.left <= 0) this.endReplay();
      return;
    }
    for (const mark of marks) this.queue.mark(mark);
  }

  private endReplay(): void {
    const replaying = this.replay;
    if (replaying === undefined) return;
    this.replay = undefined;
    this.queue.resync(phaseAfterReplay(replaying.marks, replaying.total));
  }
}
