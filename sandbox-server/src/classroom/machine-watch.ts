// What the instructor sees of a student's machine: online or idle, its age,
// CPU (from the change since the previous look), memory, processes, open
// terminals; and what a read-only viewer of one of its terminals follows.
import type { TerminalSession } from '../manager/terminal-session.ts';
import { labTerminalKey, machineOfKey, type ManagedSandbox } from '../manager/managed-sandbox.ts';
import type { LabMachineView, StudentMachine, StudentStatus } from '../../../contracts/class-api.ts';
import type { MachineAllocator } from './machine-allocator.ts';
import type { ObservedDriver, ObservedTerminal } from './observed-driver.ts';

/** Why a viewed shell ended, when it did not just exit: its machine reset (a lab's named one), or the student's machine gone. */
export type ViewerEnding = { kind: 'reset'; machine: string | undefined } | { kind: 'gone' };

export interface ViewerTarget {
  sandboxId: string;
  session: TerminalSession;
  stream: ObservedTerminal;
  ending(): ViewerEnding | undefined;
}

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
    const cpuPercent = this.#cpuPercent(managed.id, usage?.cpuSeconds, now);
    const status = managed.status();
    const machines = managed.sandbox.machines ? await this.#labMachines(managed, status.terminals, now) : undefined;
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
        ...(machines ? { machines } : {}),
      },
    };
  }

  /** CPU use since the previous look at `key` (a machine, or one machine of a lab), in percent of one core. */
  #cpuPercent(key: string, cpuSeconds: number | undefined, now: number): number | null {
    if (cpuSeconds === undefined) return null;
    const previous = this.#cpuSamples.get(key);
    this.#cpuSamples.set(key, { cpuSeconds, at: now });
    if (!previous || now <= previous.at || cpuSeconds < previous.cpuSeconds) return null;
    return Math.round(Math.max(0, ((cpuSeconds - previous.cpuSeconds) / ((now - previous.at) / 1000)) * 100) * 10) / 10;
  }

  /** Each machine of a student's lab: its state, its terminals by their own names, its own figures. */
  async #labMachines(managed: ManagedSandbox, terminals: ReturnType<ManagedSandbox['status']>['terminals'], now: number): Promise<LabMachineView[]> {
    const sandbox = managed.sandbox;
    return Promise.all(
      (sandbox.machines ?? []).map(async ({ name, address }): Promise<LabMachineView> => {
        const resetting = managed.isResetting(name);
        const usage = resetting
          ? undefined
          : await sandbox
              .machine?.(name)
              ?.usage()
              .catch(() => undefined);
        return {
          name,
          address,
          state: resetting ? 'resetting' : 'running',
          terminals: terminals
            .filter((terminal) => machineOfKey(sandbox, terminal.name) === name)
            .map(({ name: key, attached, cols, rows }) => ({ name: key.slice(key.indexOf('/') + 1), attached, cols, rows })),
          cpuPercent: this.#cpuPercent(`${managed.id}/${name}`, usage?.cpuSeconds, now),
          memoryBytes: usage?.memoryBytes ?? null,
          pids: usage?.pids ?? null,
        };
      }),
    );
  }

  /**
   * What a read-only viewer follows: the terminal's recent output and its
   * live stream. `machine` picks a machine of the student's lab (absent: the first).
   */
  viewerTarget(studentId: string, terminal: string, machine?: string): ViewerTarget | undefined {
    const managed = this.#machines.machine(studentId);
    if (!managed) return undefined;
    if (machine !== undefined && !managed.sandbox.machines?.some(({ name }) => name === machine)) return undefined;
    const key = labTerminalKey(managed.sandbox, machine, terminal);
    const session = [...managed.terminalSessions].find((candidate) => candidate.name === key);
    const stream = this.#driver.sandbox(managed.id)?.terminal(key);
    const onMachine = machineOfKey(managed.sandbox, key);
    // Asked when the shell ends: the machine under it being made anew, or gone with its sandbox, is not a shell that exited.
    const ending = (): ViewerEnding | undefined => {
      if (managed.isResetting(onMachine ?? '')) return { kind: 'reset', machine: onMachine };
      return managed.state === 'running' ? undefined : { kind: 'gone' };
    };
    return session && stream ? { sandboxId: managed.id, session, stream, ending } : undefined;
  }

  /** The machine was let go: its CPU sample is of no more use. */
  forget(sandboxId: string): void {
    for (const key of this.#cpuSamples.keys()) if (key === sandboxId || key.startsWith(`${sandboxId}/`)) this.#cpuSamples.delete(key);
  }
}
