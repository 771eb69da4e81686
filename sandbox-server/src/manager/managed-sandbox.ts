// A sandbox handed to a reader: the driver's sandbox plus what the server
// knows about it — who owns it, its token, its terminals, and the two clocks
// that end it (idle with no terminal attached, and maximum age).
import type { LabMachine, RestoredTerminal, Sandbox, SandboxLimits, TerminalSize, TerminalStream } from '../drivers/driver.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { CloseCode, type SandboxStatus } from '../../../contracts/protocol.ts';
import { newToken, tokenHash, tokenMatchesHash } from './credentials.ts';
import { ShellActivity } from './shell-activity.ts';
import { TerminalSession } from './terminal-session.ts';
import type { AdoptedShell, WarmShell } from './warm-shell.ts';

export type ExpiryReason = 'idle' | 'max-age';

export interface ManagedSandboxOptions {
  sandbox: Sandbox;
  /** Its token, when this process made it; a machine taken over after a restart knows only the hashes (see tokenForOwner). */
  token?: string | undefined;
  /** SHA-256 of every token that opens it (credentials.ts tokenHash). */
  tokenHashes: readonly string[];
  /** Key of the reader who created it (a reader cookie, a student, or an address). */
  owner: string;
  /** The network address it was asked from, when counted per address. */
  address?: string | undefined;
  /** See SandboxRequest.claimed. */
  claimed?: boolean;
  unclaimedIdleTimeoutMs?: number | undefined;
  log: Logger;
  metrics: Metrics;
  idleTimeoutMs: number;
  maxAgeMs: number;
  maxTerminals: number;
  onExpire(sandbox: ManagedSandbox, reason: ExpiryReason): void;
  /** The idle clock started (a date) or stopped (undefined): the records keep it across restarts. */
  onIdleChange?(idleSince: Date | undefined): void;
  /** A token was added (tokenForOwner after a restart) or its owner claimed it: for the records. */
  onTokensChange?(hashes: readonly string[]): void;
  onClaim?(): void;
  /** Who else it belongs to (SandboxRequest.tags). */
  tags?: Record<string, string | number>;
  /** The shell the warm pool started in it: it becomes its first terminal, prompt and all. */
  warmShell?: WarmShell | undefined;
  /** A sandbox taken over after a restart: its clocks as they were. */
  restored?: { createdAt: Date; expiresAt: Date; idleSince: Date | undefined };
  /** What it was made with: a lone machine made anew in place (resetWhole) is made the same. */
  spec?: { limits: SandboxLimits; docker: boolean };
}

export class TooManyTerminalsError extends Error {
  override name = 'TooManyTerminalsError';
}

export class ResetNotSupportedError extends Error {
  override name = 'ResetNotSupportedError';
}

export class SandboxRetiredError extends Error {
  override name = 'SandboxRetiredError';
}

export class ManagedSandbox {
  readonly id: string;
  readonly owner: string;
  readonly address: string | undefined;
  /** Who else it belongs to (class mode: its class and student), kept across restarts. */
  tags: Record<string, string | number>;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly log: Logger;
  state: 'running' | 'destroying' = 'running';
  /** Commands starting and finishing in its terminals (the namespace view refreshes on them). */
  readonly activity = new ShellActivity();
  private readonly options: ManagedSandboxOptions;
  /** Known only to the process that made it; see tokenForOwner. */
  private token: string | undefined;
  private readonly tokenHashes: string[];
  private readonly terminals = new Map<string, TerminalSession>();
  private readonly opening = new Map<string, Promise<TerminalSession>>();
  /** Machines of a lab being made anew, by name: their terminals open once the new machine is ready. */
  private readonly resetting = new Map<string, Promise<LabMachine>>();
  /** A lone machine being made anew in place (resetWhole): its terminals open once the new one is ready. */
  private wholeReset: Promise<Sandbox> | undefined;
  /** The driver's sandbox; a lone machine made anew in place gets a new one under the same id. */
  private current: Sandbox;
  private readonly maxAgeTimer: NodeJS.Timeout;
  private idleTimer: NodeJS.Timeout | undefined;
  private idleSince: Date | undefined;
  private readonly retireListeners = new Set<() => void>();
  /** Its owner showed they can come back for it (see SandboxRequest.claimed). */
  private claimed: boolean;

  constructor(options: ManagedSandboxOptions) {
    this.options = options;
    this.current = options.sandbox;
    this.id = options.sandbox.id;
    this.owner = options.owner;
    this.address = options.address;
    this.tags = { ...options.tags };
    this.claimed = options.claimed ?? true;
    this.token = options.token;
    this.tokenHashes = [...options.tokenHashes];
    this.log = options.log;
    this.createdAt = options.restored?.createdAt ?? new Date();
    this.expiresAt = options.restored?.expiresAt ?? new Date(this.createdAt.getTime() + options.maxAgeMs);
    this.maxAgeTimer = setTimeout(() => options.onExpire(this, 'max-age'), Math.max(0, this.expiresAt.getTime() - Date.now()));
    this.maxAgeTimer.unref();
    this.updateIdleTimer(options.restored?.idleSince);
    const adopted = options.warmShell?.adopt();
    if (adopted) this.adoptShell(adopted);
  }

  /** The warm pool's shell becomes this terminal: what it printed (its prompt) is replayed to the first page. */
  private adoptShell({ name, size, stream, output }: AdoptedShell): void {
    const session = this.newSession(name, size, stream, output);
    this.terminals.set(name, session);
    this.activity.follow(name, stream);
    this.log.info({ terminal: name, replayBytes: output.length }, 'terminal adopted from the warm pool');
  }

  /**
   * Sessions for the terminals a taken-over sandbox still has, before any
   * reader comes back: each keeps its shell, and its recent output is
   * replayed to the first page that attaches.
   */
  async restoreTerminals(terminals: readonly RestoredTerminal[]): Promise<void> {
    for (const { name, size } of terminals) {
      try {
        await this.terminal(name, size);
      } catch (error) {
        this.log.warn({ terminal: name, err: error }, 'terminal of an adopted sandbox could not be restored');
      }
    }
  }

  get sandbox(): Sandbox {
    return this.current;
  }

  /** What it was made with (absent for sandboxes managed without it: no reset in place). */
  get spec(): { limits: SandboxLimits; docker: boolean } | undefined {
    return this.options.spec;
  }

  /**
   * The token, for its owner coming back from another tab (the reader cookie
   * proved who they are). A machine taken over after a restart has only the
   * hashes of its tokens: it gets a new one, which opens it too (the old ones
   * still do, for the tabs that hold them).
   */
  tokenForOwner(): string {
    if (this.token === undefined) {
      this.token = newToken();
      this.tokenHashes.push(tokenHash(this.token));
      this.options.onTokensChange?.(this.tokenHashes);
    }
    return this.token;
  }

  /** Whether its owner claimed it (the records keep it across restarts). */
  get isClaimed(): boolean {
    return this.claimed;
  }

  /** Its owner came back for it (from a request carrying their reader cookie): the normal idle timeout applies from now on. */
  claim(): void {
    if (this.claimed) return;
    this.claimed = true;
    this.log.info('sandbox claimed by its reader');
    this.options.onClaim?.();
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
      this.updateIdleTimer();
    }
  }

  tokenMatches(presented: string): boolean {
    return this.tokenHashes.some((hash) => tokenMatchesHash(hash, presented));
  }

  /**
   * A terminal whose shell the warm pool started and no page has shown yet:
   * its name and what it printed (its prompt), for the answer of the POST
   * that hands this machine out, so the page shows that prompt before its
   * socket opens. The socket's replay starts with the same bytes.
   */
  startedAhead(): { terminal: string; output: Buffer } | undefined {
    for (const session of this.terminals.values()) {
      if (session.neverShown) return { terminal: session.name, output: session.recentOutput() };
    }
    return undefined;
  }

  get terminalSessions(): Iterable<TerminalSession> {
    return this.terminals.values();
  }

  /** The session for `name`, opening a shell at `size` on first use. Concurrent first attaches share one shell. */
  async terminal(name: string, size: TerminalSize): Promise<{ session: TerminalSession; resumed: boolean }> {
    const machine = machineOfKey(this.current, name);
    const resetting = machine === undefined ? this.wholeReset : this.resetting.get(machine);
    if (resetting) {
      // A page reconnecting at once after a reset: it gets a shell on the new machine, not an error.
      await resetting.catch(() => {});
      if (this.state !== 'running') throw new SandboxRetiredError('The sandbox was destroyed while its machine was being reset.');
      return this.terminal(name, size);
    }
    const existing = this.terminals.get(name);
    // A shell started ahead (warm pool) and never shown is new to its first reader.
    if (existing) return { session: existing, resumed: !existing.neverShown };
    const pending = this.opening.get(name);
    if (pending) return { session: await pending, resumed: true };
    if (this.terminals.size + this.opening.size >= this.options.maxTerminals) {
      throw new TooManyTerminalsError(`This sandbox already has ${this.options.maxTerminals} terminals open.`);
    }
    const opening = this.open(name, size);
    this.opening.set(name, opening);
    try {
      return { session: await opening, resumed: false };
    } finally {
      this.opening.delete(name);
    }
  }

  private async open(name: string, size: TerminalSize): Promise<TerminalSession> {
    const stream = await openOnMachine(this.current, name, size);
    const session = this.newSession(name, size, stream);
    if (this.state !== 'running') {
      session.end(CloseCode.goingAway, 'sandbox going away');
      throw new SandboxRetiredError('The sandbox was destroyed while the terminal was opening.');
    }
    this.terminals.set(name, session);
    // After the session: the driver hands the output printed before anyone listened to its first listener.
    this.activity.follow(name, stream);
    this.log.info({ terminal: name, cols: size.cols, rows: size.rows }, 'terminal opened');
    return session;
  }

  /**
   * Makes machines `names` of this lab anew (see Sandbox.resetMachine), in
   * parallel: their terminals are taken off at once and handed to `close`
   * (the page is told why), the other machines' stay. A machine already
   * being reset is not reset twice. Rejects if the driver cannot reset, a
   * name is not a machine of the lab (RangeError), or a machine fails to start.
   */
  async resetMachines(names: readonly string[], close: (session: TerminalSession, machine: string) => void): Promise<LabMachine[]> {
    const sandbox = this.current;
    if (!sandbox.resetMachine) throw new ResetNotSupportedError('This driver cannot reset one machine of a lab.');
    const unknown = names.find((name) => !sandbox.machines?.some((machine) => machine.name === name));
    if (unknown !== undefined) throw new RangeError(`This sandbox has no machine ${JSON.stringify(unknown.slice(0, 40))}.`);
    const resets = names.map((name) => {
      const pending = this.resetting.get(name);
      if (pending) return pending;
      for (const [key, session] of [...this.terminals]) {
        if (machineOfKey(sandbox, key) !== name) continue;
        this.terminals.delete(key);
        close(session, name);
      }
      // Known as resetting before the driver starts: stopping the old machine may end its
      // terminals' streams at once, and whoever hears that asks isResetting() to tell why.
      const reset = Promise.resolve()
        .then(() => sandbox.resetMachine!(name))
        .finally(() => {
          if (this.resetting.get(name) === reset) this.resetting.delete(name);
        });
      this.resetting.set(name, reset);
      return reset;
    });
    this.updateIdleTimer();
    return Promise.all(resets);
  }

  private newSession(name: string, size: TerminalSize, stream: TerminalStream, startedAhead?: Buffer): TerminalSession {
    return new TerminalSession({
      sandboxId: this.id,
      name,
      size,
      stream,
      startedAhead,
      log: this.log.child({ terminal: name }),
      metrics: this.options.metrics,
      onAttachmentChange: () => this.updateIdleTimer(),
      onExit: (finished) => {
        if (this.terminals.get(name) === finished) this.terminals.delete(name);
        this.updateIdleTimer();
      },
    });
  }

  /**
   * Makes this lone machine anew in place: same id, token, owner and clocks.
   * Its terminals are taken off at once and handed to `close`; `remake` ends
   * the old machine and makes the new one (under the same id); terminals
   * opened meanwhile wait for it. Two calls share one reset.
   */
  resetWhole(remake: (old: Sandbox) => Promise<Sandbox>, close: (session: TerminalSession) => void): Promise<Sandbox> {
    if (this.wholeReset) return this.wholeReset;
    const sessions = [...this.terminals.values()];
    this.terminals.clear();
    for (const session of sessions) close(session);
    // Known as resetting before the old machine stops (see resetMachines).
    const reset = Promise.resolve()
      .then(() => remake(this.current))
      .then((next) => {
        this.current = next;
        return next;
      })
      .finally(() => {
        if (this.wholeReset === reset) this.wholeReset = undefined;
        this.updateIdleTimer();
      });
    this.wholeReset = reset;
    this.updateIdleTimer();
    return reset;
  }

  /** Whether machine `name` of this lab is being made anew ('' : this lone machine, see resetWhole). */
  isResetting(name: string): boolean {
    return name === '' ? this.wholeReset !== undefined : this.resetting.has(name);
  }

  get attachedCount(): number {
    let count = 0;
    for (const session of this.terminals.values()) if (session.attached) count++;
    return count;
  }

  status(): SandboxStatus {
    const idleExpiresAt = this.idleSince ? new Date(this.idleSince.getTime() + this.currentIdleTimeoutMs()) : undefined;
    return {
      id: this.id,
      state: 'running',
      createdAt: this.createdAt.toISOString(),
      expiresAt: this.expiresAt.toISOString(),
      idle: { since: this.idleSince?.toISOString() ?? null, expiresAt: idleExpiresAt?.toISOString() ?? null },
      terminals: [...this.terminals.values()].map((session) => session.status()),
    };
  }

  /** Called once when the sandbox starts being destroyed (namespace panels close then, as terminals do). */
  onRetire(listener: () => void): { dispose(): void } {
    this.retireListeners.add(listener);
    return { dispose: () => this.retireListeners.delete(listener) };
  }

  /** Stop the clocks and close every terminal's client; the driver sandbox is destroyed by the manager. */
  retire(close: (session: TerminalSession) => void): void {
    this.state = 'destroying';
    for (const listener of [...this.retireListeners]) listener();
    this.retireListeners.clear();
    clearTimeout(this.maxAgeTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const sessions = [...this.terminals.values()];
    this.terminals.clear();
    for (const session of sessions) close(session);
  }

  /** A machine nobody can come back for is released soon; one its reader can reattach keeps the full timeout. */
  private currentIdleTimeoutMs(): number {
    const unclaimed = this.options.unclaimedIdleTimeoutMs;
    return this.claimed || unclaimed === undefined ? this.options.idleTimeoutMs : Math.min(unclaimed, this.options.idleTimeoutMs);
  }

  /** `since`: when the idle clock started, if earlier than now (a sandbox idle before a restart). */
  private updateIdleTimer(since?: Date): void {
    if (this.state !== 'running') return;
    const idle = this.attachedCount === 0;
    if (idle && !this.idleTimer) {
      this.idleSince ??= since ?? new Date();
      const timeoutMs = this.currentIdleTimeoutMs();
      const left = Math.max(0, this.idleSince.getTime() + timeoutMs - Date.now());
      this.idleTimer = setTimeout(() => this.options.onExpire(this, 'idle'), left);
      this.idleTimer.unref();
      this.options.onIdleChange?.(this.idleSince);
    } else if (!idle && this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
      this.idleSince = undefined;
      this.options.onIdleChange?.(undefined);
    }
  }

  /** The idle clock's start, for the records; undefined while a terminal is attached. */
  get idleStartedAt(): Date | undefined {
    return this.idleSince;
  }
}

/**
 * Terminal `key` of a sandbox: "1" is terminal 1 of its (first) machine;
 * "node2/1" is terminal 1 of the lab's machine node2 (the WebSocket route
 * …/machines/node2/terminals/1; see labTerminalKey).
 */
function openOnMachine(sandbox: Sandbox, key: string, size: TerminalSize) {
  const slash = key.indexOf('/');
  if (slash < 0) return sandbox.openTerminal(key, size);
  const machine = sandbox.machine?.(key.slice(0, slash));
  if (!machine) return Promise.reject(new Error(`sandbox ${sandbox.id} has no machine ${JSON.stringify(key.slice(0, slash))}`));
  return machine.openTerminal(key.slice(slash + 1), size);
}

/** The machine a terminal key is on: its prefix, or the lab's first machine for a plain name (undefined for a lone machine). */
export function machineOfKey(sandbox: Sandbox, key: string): string | undefined {
  const slash = key.indexOf('/');
  return slash < 0 ? sandbox.machines?.[0]?.name : key.slice(0, slash);
}

/** The key ManagedSandbox.terminal() takes for terminal `name` of machine `machine` (undefined or the first: the plain name). */
export function labTerminalKey(sandbox: Sandbox, machine: string | undefined, name: string): string {
  if (machine === undefined || machine === sandbox.machines?.[0]?.name) return name;
  return `${machine}/${name}`;
}
