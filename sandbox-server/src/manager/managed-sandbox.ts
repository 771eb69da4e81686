// A sandbox handed to a reader: the driver's sandbox plus what the server
// knows about it — who owns it, its token, its terminals, and the two clocks
// that end it (idle with no terminal attached, and maximum age).
import type { Sandbox, TerminalSize } from '../drivers/driver.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { CloseCode, type SandboxStatus } from '../../../contracts/protocol.ts';
import { tokensMatch } from './credentials.ts';
import { ShellActivity } from './shell-activity.ts';
import { TerminalSession } from './terminal-session.ts';

export type ExpiryReason = 'idle' | 'max-age';

export interface ManagedSandboxOptions {
  sandbox: Sandbox;
  token: string;
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
}

export class TooManyTerminalsError extends Error {
  override name = 'TooManyTerminalsError';
}

export class SandboxRetiredError extends Error {
  override name = 'SandboxRetiredError';
}

export class ManagedSandbox {
  readonly id: string;
  readonly owner: string;
  readonly address: string | undefined;
  readonly createdAt = new Date();
  readonly expiresAt: Date;
  readonly log: Logger;
  state: 'running' | 'destroying' = 'running';
  /** Commands starting and finishing in its terminals (the namespace view refreshes on them). */
  readonly activity = new ShellActivity();
  private readonly options: ManagedSandboxOptions;
  private readonly token: string;
  private readonly terminals = new Map<string, TerminalSession>();
  private readonly opening = new Map<string, Promise<TerminalSession>>();
  private readonly maxAgeTimer: NodeJS.Timeout;
  private idleTimer: NodeJS.Timeout | undefined;
  private idleSince: Date | undefined;
  private readonly retireListeners = new Set<() => void>();
  /** Its owner showed they can come back for it (see SandboxRequest.claimed). */
  private claimed: boolean;

  constructor(options: ManagedSandboxOptions) {
    this.options = options;
    this.id = options.sandbox.id;
    this.owner = options.owner;
    this.address = options.address;
    this.claimed = options.claimed ?? true;
    this.token = options.token;
    this.log = options.log;
    this.expiresAt = new Date(this.createdAt.getTime() + options.maxAgeMs);
    this.maxAgeTimer = setTimeout(() => options.onExpire(this, 'max-age'), options.maxAgeMs);
    this.maxAgeTimer.unref();
    this.updateIdleTimer();
  }

  get sandbox(): Sandbox {
    return this.options.sandbox;
  }

  /** The token, for its owner coming back from another tab (the reader cookie proved who they are). */
  tokenForOwner(): string {
    return this.token;
  }

  /** Its owner came back for it (from a request carrying their reader cookie): the normal idle timeout applies from now on. */
  claim(): void {
    if (this.claimed) return;
    this.claimed = true;
    this.log.info('sandbox claimed by its reader');
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
      this.updateIdleTimer();
    }
  }

  tokenMatches(presented: string): boolean {
    return tokensMatch(this.token, presented);
  }

  get terminalSessions(): Iterable<TerminalSession> {
    return this.terminals.values();
  }

  /** The session for `name`, opening a shell at `size` on first use. Concurrent first attaches share one shell. */
  async terminal(name: string, size: TerminalSize): Promise<{ session: TerminalSession; resumed: boolean }> {
    const existing = this.terminals.get(name);
    if (existing) return { session: existing, resumed: true };
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
    const stream = await this.options.sandbox.openTerminal(name, size);
    const session = new TerminalSession({
      sandboxId: this.id,
      name,
      size,
      stream,
      log: this.log.child({ terminal: name }),
      metrics: this.options.metrics,
      onAttachmentChange: () => this.updateIdleTimer(),
      onExit: (finished) => {
        if (this.terminals.get(name) === finished) this.terminals.delete(name);
        this.updateIdleTimer();
      },
    });
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

  private updateIdleTimer(): void {
    if (this.state !== 'running') return;
    const idle = this.attachedCount === 0;
    if (idle && !this.idleTimer) {
      this.idleSince ??= new Date();
      const timeoutMs = this.currentIdleTimeoutMs();
      const left = Math.max(0, this.idleSince.getTime() + timeoutMs - Date.now());
      this.idleTimer = setTimeout(() => this.options.onExpire(this, 'idle'), left);
      this.idleTimer.unref();
    } else if (!idle && this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
      this.idleSince = undefined;
    }
  }
}
