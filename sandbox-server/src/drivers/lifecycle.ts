// The life of a sandbox as one value that only moves forward:
//
//   starting → ready → closing → done
//
// (a start that fails goes from starting to closing). Whoever wants to act
// asks to advance; a call that would go backwards or stay put is refused, so
// that "is it being torn down already?" has one answer, in one place, instead
// of flags in several files. Closing says why: destroyed (everything removed),
// detached (let go, still running, for the next server process) or died.
export type LifecycleState = 'starting' | 'ready' | 'closing' | 'done';
export type ClosingKind = 'destroy' | 'detach' | 'died';

const ORDER: Record<LifecycleState, number> = { starting: 0, ready: 1, closing: 2, done: 3 };

export class Lifecycle {
  #state: LifecycleState = 'starting';
  #closing: ClosingKind | undefined;

  get state(): LifecycleState {
    return this.#state;
  }

  /** Why it is closing or done; undefined before. */
  get closingKind(): ClosingKind | undefined {
    return this.#closing;
  }

  get ready(): boolean {
    return this.#state === 'ready';
  }

  /** starting → ready; false if it is already past that (a teardown began meanwhile). */
  becomeReady(): boolean {
    return this.#advance('ready');
  }

  /** → closing, for `kind`; false when another closing came first (its kind stands). */
  beginClosing(kind: ClosingKind): boolean {
    if (!this.#advance('closing')) return false;
    this.#closing = kind;
    return true;
  }

  /** closing → done. */
  finish(): void {
    this.#advance('done');
  }

  #advance(to: LifecycleState): boolean {
    if (ORDER[to] <= ORDER[this.#state]) return false;
    this.#state = to;
    return true;
  }
}
