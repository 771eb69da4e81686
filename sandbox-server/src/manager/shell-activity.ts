// When the shells of one sandbox start and finish commands, from the OSC 133
// marks their bash prints (C: a command line runs, D: it finished, A: a
// prompt is shown — also the first prompt of a nested shell such as the
// bash of `sudo unshare --uts /bin/bash`, whose own C has no D yet). Only
// parsed while somebody listens (the « Vue des namespaces » panel): a
// sandbox nobody looks at costs nothing more per byte of output.
import type { Disposable, TerminalStream } from '../drivers/driver.ts';
import { Osc133Parser } from '../../../contracts/osc133.ts';

export type ActivityKind = 'started' | 'finished' | 'prompt';

/** Terminal `terminal` started (C) or finished (D) a command, or shows a prompt (A). */
export type ShellActivityListener = (event: { terminal: string; kind: ActivityKind }) => void;

export class ShellActivity {
  readonly #listeners = new Set<ShellActivityListener>();
  readonly #parsers = new Map<string, Osc133Parser>();
  /** Terminals whose shell is running a command now. */
  readonly #running = new Set<string>();

  /** Follows terminal `name`'s output until its shell exits. */
  follow(name: string, stream: TerminalStream): void {
    const parser = new Osc133Parser();
    this.#parsers.set(name, parser);
    const data = stream.onData((chunk) => {
      if (this.#listeners.size === 0) return;
      for (const mark of parser.push(chunk)) {
        if (mark.kind === 'C') this.#emit(name, 'started');
        else if (mark.kind === 'D') this.#emit(name, 'finished');
        else if (mark.kind === 'A') this.#emit(name, 'prompt');
      }
    });
    stream.onExit(() => {
      data.dispose();
      if (this.#parsers.get(name) === parser) this.#parsers.delete(name);
      if (this.#running.delete(name)) this.#emit(name, 'finished');
    });
  }

  /** Some terminal is in the middle of a command (as far as the marks seen while listening tell). */
  get busy(): boolean {
    return this.#running.size > 0;
  }

  listen(listener: ShellActivityListener): Disposable {
    if (this.#listeners.size === 0) {
      // What was half-read while nobody listened is stale.
      for (const parser of this.#parsers.values()) parser.reset();
      this.#running.clear();
    }
    this.#listeners.add(listener);
    return { dispose: () => this.#listeners.delete(listener) };
  }

  #emit(terminal: string, kind: ActivityKind): void {
    if (kind === 'started') this.#running.add(terminal);
    else this.#running.delete(terminal);
    for (const listener of this.#listeners) {
      try {
        listener({ terminal, kind });
      } catch {
        // A listener's failure is its own; the terminal's output goes on.
      }
    }
  }
}
