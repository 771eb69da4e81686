// What the instructor sees of a student's machine: online or idle, its age,
// CPU (from the change since the previous look), memory, processes, open
// terminals; and what a read-only viewer of one of its terminals follows.
import type { TerminalSession } from '../manager/terminal-session.ts';
import type { StudentMachine, StudentStatus } from '../../../contracts/class-api.ts';
import type { MachineAllocator } from './machine-allocator.ts';
import type { ObservedDriver, ObservedTerminal } from './observed-driver.ts';

/** A student with a machine but no keystroke nor command for this long is "idle". */
export const IDLE_AFTER_MS = 5 * 60_000;

export class MachineWatch {
  readonly #driver: ObservedDriver;
  readonly #machines: MachineAllocator;
  readonly #cpuSamples = new Map<string, { cpuSeconds: number; at: number }>();

  constructor(driver: ObservedDriver, machines: MachineAllocator) {
    this.#driver = driver;
    this.#machines = machines;
  }

  /** The machine's state for the dashboard. */
  async machineOf(studentId: string, now = Date.now()): Promise<{ status: StudentStatus; machine: StudentMachine | null; lastActivityAt: number | null }> {
    const managed = this.#machines.machine(studentId);
    if (!managed) return { status: 'none', machine: null, lastActivityAt: null };
    const observed = this.#driver.sandbox(managed.id);
    const lastActivityAt = observed && observed.lastActivityAt > 0 ? observed.lastActivityAt : null;
    const usage = await managed.sandbox.usage().catch(() => undefined);
    let cpuPercent: number | null = null;
    if (usage) {
      const previous = this.#cpuSamples.get(managed.id);
      if (previous && now > previous.at) cpuPercent = Math.max(0, ((usage.cpuSeconds - previous.cpuSeconds) / ((now - previous.at) / 1000)) * 100);
      this.#cpuSamples.set(managed.id, { cpuSeconds: usage.cpuSeconds, at: now });
    }
    const status = managed.status();
    const online = managed.attachedCount > 0 && now - (lastActivityAt ?? managed.createdAt.getTime()) < IDLE_AFTER_MS;
    return {
      status: online ? 'online' : 'idle',
      lastActivityAt,
      machine: {
        id: managed.id,
        createdAt: status.createdAt,
        ageSeconds: Math.round((now - managed.createdAt.getTime()) / 1000),
        expiresAt: status.expiresAt,
        terminals: status.terminals.map(({ name, attached, cols, rows }) => ({ name, attached, cols, rows })),
        cpuPercent: cpuPercent === null ? null : Math.round(cpuPercent * 10) / 10,
        memoryBytes: usage?.memoryBytes ?? null,
        pids: usage?.pids ?? null,
      },
    };
  }

  /** What a read-only viewer follows: the terminal's recent output and its live stream. */
  viewerTarget(studentId: string, terminal: string): { sandboxId: string; session: TerminalSession; stream: ObservedTerminal } | undefined {
    const managed = this.#machines.machine(studentId);
    if (!managed) return undefined;
    const session = [...managed.terminalSessions].find((candidate) => candidate.name === terminal);
    const stream = this.#driver.sandbox(managed.id)?.terminal(terminal);
    return session && stream ? { sandboxId: managed.id, session, stream } : undefined;
  }

  /** The machine was let go: its CPU sample is of no more use. */
  forget(sandboxId: string): void {
    this.#cpuSamples.delete(sandboxId);
  }
}
