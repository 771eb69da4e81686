// A driver wrapper that lets the classroom see into every terminal without
// the sandbox manager knowing: it notices each command's end (the OSC 133 D
// mark the sandbox's bash prints, with the exit status) to run the exercise
// checks, remembers when a student last typed (online or idle), and lets a
// read-only viewer follow a terminal's output. Input never flows from a
// viewer: watchers only ever receive.
import { Osc133Parser } from '../../../contracts/osc133.ts';
import type { ProcessSnapshot } from '../../../contracts/process-snapshot.ts';
import type {
  Disposable,
  ExecResult,
  LabMachine,
  LeftoverOptions,
  PrepareProgress,
  RestoredTerminal,
  Sandbox,
  SandboxDriver,
  SandboxSpec,
  SandboxUsage,
  TerminalSize,
  TerminalStream,
} from '../drivers/driver.ts';

export interface TerminalObserver {
  /** A command finished in terminal `terminal` of sandbox `sandboxId` (status undefined: the shell gave none). */
  commandFinished(sandboxId: string, terminal: string, status: number | undefined): void;
}

export class ObservedDriver implements SandboxDriver {
  readonly #inner: SandboxDriver;
  readonly #observer: TerminalObserver;
  readonly #live = new Map<string, ObservedSandbox>();

  constructor(inner: SandboxDriver, observer: TerminalObserver) {
    this.#inner = inner;
    this.#observer = observer;
  }

  get name(): SandboxDriver['name'] {
    return this.#inner.name;
  }

  checkHost(): Promise<void> {
    return this.#inner.checkHost();
  }

  prepare(progress: PrepareProgress): Promise<void> {
    return this.#inner.prepare(progress);
  }

  cleanupLeftovers(options?: LeftoverOptions): Promise<number> {
    return this.#inner.cleanupLeftovers(options);
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    return this.#observe(spec.id, await this.#inner.create(spec));
  }

  async adopt(spec: SandboxSpec): Promise<Sandbox> {
    return this.#observe(spec.id, await this.#inner.adopt(spec));
  }

  #observe(id: string, inner: Sandbox): ObservedSandbox {
    const sandbox = new ObservedSandbox(inner, this.#observer, () => this.#live.delete(id));
    this.#live.set(id, sandbox);
    return sandbox;
  }

  sandbox(id: string): ObservedSandbox | undefined {
    return this.#live.get(id);
  }
}

export class ObservedSandbox implements Sandbox {
  readonly id: string;
  /** Last keystroke from the student, or last command end, in ms since the epoch (0: never). */
  lastActivityAt = 0;
  readonly #inner: Sandbox;
  readonly #observer: TerminalObserver;
  readonly #terminals = new Map<string, ObservedTerminal>();
  readonly #forget: () => void;

  /** A lab's reset of one machine, when the driver has it. */
  readonly resetMachine?: (name: string) => Promise<LabMachine>;

  constructor(inner: Sandbox, observer: TerminalObserver, forget: () => void) {
    this.id = inner.id;
    this.#inner = inner;
    this.#observer = observer;
    this.#forget = forget;
    inner.onExit(() => forget());
    if (inner.resetMachine) this.resetMachine = (name) => inner.resetMachine!(name);
  }

  get machines(): readonly LabMachine[] | undefined {
    return this.#inner.machines;
  }

  /**
   * A lab's machine, its terminals observed too, under the keys the manager
   * gives them ("node2/1"; the first machine's by their plain names), which
   * are the names terminal() and the viewer look them up by.
   */
  machine(name: string): Sandbox | undefined {
    const inner = this.#inner.machine?.(name);
    if (!inner) return undefined;
    const key = (terminal: string) => (this.#inner.machines?.[0]?.name === name ? terminal : `${name}/${terminal}`);
    return {
      id: inner.id,
      restoredTerminals: () => inner.restoredTerminals(),
      openTerminal: (terminal, size) => this.#observe(key(terminal), () => inner.openTerminal(terminal, size)),
      usage: () => inner.usage(),
      exec: (argv, options) => inner.exec(argv, options),
      onExit: (listener) => inner.onExit(listener),
      destroy: () => inner.destroy(),
      detach: () => inner.detach(),
    };
  }

  restoredTerminals(): RestoredTerminal[] {
    return this.#inner.restoredTerminals();
  }

  openTerminal(name: string, size: TerminalSize): Promise<TerminalStream> {
    return this.#observe(name, () => this.#inner.openTerminal(name, size));
  }

  async #observe(name: string, open: () => Promise<TerminalStream>): Promise<TerminalStream> {
    const stream = await open();
    const known = this.#terminals.get(name);
    if (known?.wraps(stream)) return known;
    const terminal = new ObservedTerminal(stream, {
      activity: () => (this.lastActivityAt = Date.now()),
      commandFinished: (status) => this.#observer.commandFinished(this.id, name, status),
      exited: () => {
        if (this.#terminals.get(name) === terminal) this.#terminals.delete(name);
      },
    });
    this.#terminals.set(name, terminal);
    return terminal;
  }

  terminal(name: string): ObservedTerminal | undefined {
    return this.#terminals.get(name);
  }

  exec(argv: readonly string[], options?: { timeoutMs?: number }): Promise<ExecResult> {
    return this.#inner.exec(argv, options);
  }

  usage(): Promise<SandboxUsage> {
    return this.#inner.usage();
  }

  processSnapshot(maxProcesses: number): Promise<ProcessSnapshot> {
    if (!this.#inner.processSnapshot) return Promise.reject(new Error('this driver cannot describe its processes'));
    return this.#inner.processSnapshot(maxProcesses);
  }

  onExit(listener: (reason: string) => void): Disposable {
    return this.#inner.onExit(listener);
  }

  async destroy(): Promise<void> {
    try {
      await this.#inner.destroy();
    } finally {
      this.#forget();
    }
  }

  async detach(): Promise<{ kept: boolean }> {
    try {
      return await this.#inner.detach();
    } finally {
      this.#forget();
    }
  }
}

interface TerminalHooks {
  activity(): void;
  commandFinished(status: number | undefined): void;
  exited(): void;
}

export class ObservedTerminal implements TerminalStream {
  readonly name: string;
  readonly #inner: TerminalStream;
  readonly #hooks: TerminalHooks;
  readonly #listeners = new Set<(chunk: Buffer) => void>();
  readonly #watchers = new Set<(chunk: Buffer) => void>();
  readonly #marks = new Osc133Parser();
  #subscribed = false;

  constructor(inner: TerminalStream, hooks: TerminalHooks) {
    this.name = inner.name;
    this.#inner = inner;
    this.#hooks = hooks;
    inner.onExit(() => hooks.exited());
  }

  wraps(stream: TerminalStream): boolean {
    return stream === this.#inner;
  }

  onData(listener: (chunk: Buffer) => void): Disposable {
    this.#listeners.add(listener);
    // Subscribe on the first listener, not before: a driver hands the output
    // its shell printed before anyone listened (the first prompt) to its
    // first subscriber, which must be the one that keeps it.
    if (!this.#subscribed) {
      this.#subscribed = true;
      this.#inner.onData((chunk) => this.#output(chunk));
    }
    return { dispose: () => this.#listeners.delete(listener) };
  }

  /** Follow the output from now on, read-only (a viewer). */
  watch(watcher: (chunk: Buffer) => void): Disposable {
    this.#watchers.add(watcher);
    return { dispose: () => this.#watchers.delete(watcher) };
  }

  onExit(listener: (exit: { code: number | null; signal: number | null }) => void): Disposable {
    return this.#inner.onExit(listener);
  }

  write(data: Buffer | string): void {
    this.#hooks.activity();
    this.#inner.write(data);
  }

  get writable(): boolean {
    return this.#inner.writable ?? true;
  }

  onWritable(listener: () => void): Disposable {
    return this.#inner.onWritable?.(listener) ?? { dispose() {} };
  }

  resize(size: TerminalSize): void {
    this.#inner.resize(size);
  }

  pause(): void {
    this.#inner.pause();
  }

  resume(): void {
    this.#inner.resume();
  }

  close(): void {
    this.#inner.close();
  }

  #output(chunk: Buffer): void {
    for (const mark of this.#marks.push(chunk)) {
      if (mark.kind !== 'D') continue;
      this.#hooks.activity();
      this.#hooks.commandFinished(mark.status);
    }
    for (const watcher of this.#watchers) watcher(chunk);
    for (const listener of this.#listeners) listener(chunk);
  }
}
