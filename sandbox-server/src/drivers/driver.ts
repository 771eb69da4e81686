// The contract between the sandbox server and the ways of making a sandbox.
// The HTTP/WebSocket layer and the sandbox manager only ever see these types;
// whether a sandbox is a set of Linux namespaces or a QEMU virtual machine is
// the driver's business alone.
import { HintedError } from '../../../contracts/errors.ts';
import type { ProcessSnapshot } from '../../../contracts/process-snapshot.ts';

import type { TerminalSize } from '../../../contracts/sizes.ts';

export type { TerminalSize };

export interface Disposable {
  dispose(): void;
}

export interface SandboxLimits {
  /** Memory limit for everything in the sandbox, in bytes. */
  memoryBytes: number;
  /** Most tasks (processes + threads) the sandbox may hold. */
  pids: number;
  /** CPU share, in cores (0.5 = half a core). */
  cpus: number;
  /** Size of the sandbox's private writable layer, in bytes. */
  diskBytes: number;
}

export interface SandboxSpec {
  /** Unguessable id chosen by the manager; also names host-side resources. */
  id: string;
  limits: SandboxLimits;
  /** Start a real Docker daemon inside (the lesson needs `pidof dockerd`). */
  docker: boolean;
  /**
   * The server's sandbox records file (SANDBOX_DB) that lists this sandbox:
   * while its server is down, a leftover clean-up by a server with other
   * records (another test run) leaves it for its own server to take over.
   */
  recordedIn?: string | undefined;
  /**
   * A lab: these named machines (names as terminal names, all different),
   * created and destroyed together on a private network of their own, each
   * with these limits. Absent: one machine, as the lessons have by default.
   */
  machines?: readonly string[];
  /**
   * adopt() of a lab only: the addresses its machines had, in order (create()
   * picks them; the server's records keep them), so that a machine made anew
   * later gets its old one back.
   */
  addresses?: readonly string[];
}

export interface LeftoverOptions {
  /** The caller's records file: sandboxes recorded in another existing file are not its to remove. */
  recordsPath?: string | undefined;
  /** Remove every sandbox whose server is gone, recorded or not (stopping for good: `npm run sandbox:cleanup`). */
  all?: boolean;
}

/** One machine of a lab as the reader sees it: its host name and its address on the lab's network. */
export interface LabMachine {
  name: string;
  address: string;
}

/** A pty running inside the sandbox (allocated there, not on the host). */
export interface TerminalStream {
  readonly name: string;
  /** Bytes the shell wrote; the callback's Buffer is owned by the receiver. */
  onData(listener: (chunk: Buffer) => void): Disposable;
  /** The shell exited (the terminal is then gone; opening the name again starts a new shell). */
  onExit(listener: (exit: { code: number | null; signal: number | null }) => void): Disposable;
  write(data: Buffer | string): void;
  /**
   * Input backpressure: false while input would only pile up on the host (the
   * sandbox does not read it); stop reading the reader until onWritable.
   * Streams without it take all input.
   */
  readonly writable?: boolean;
  onWritable?(listener: () => void): Disposable;
  resize(size: TerminalSize): void;
  /** Flow control: stop reading the pty (the shell blocks on write) until resume(). */
  pause(): void;
  resume(): void;
  /** Hang up the terminal (SIGHUP to its shell). */
  close(): void;
}

/**
 * Start of the reason given to Sandbox.onExit when the driver ended a sandbox
 * for misbehaving (flooding the host, ignoring flow control, an agent that
 * stopped answering): root inside did it, and the reader is told so.
 */
export const MISBEHAVED = 'the machine misbehaved';
export function isMisbehaviour(reason: string): boolean {
  return reason.startsWith(MISBEHAVED);
}

/**
 * Start of the reason given to Sandbox.onExit when a machine died with its
 * memory limit hit (the kernel's OOM killer ended its agent or its init):
 * the reader is told that its memory was full, not just that it stopped.
 */
export const OUT_OF_MEMORY = 'the machine ran out of memory';
export function isOutOfMemory(reason: string): boolean {
  return reason.startsWith(OUT_OF_MEMORY);
}

export interface SandboxUsage {
  memoryBytes: number;
  cpuSeconds: number;
  pids: number;
}

/** What a command run with Sandbox.exec did. */
export interface ExecResult {
  /** Exit status; null when it was killed (signal, timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A terminal found open in a sandbox taken over from an earlier server process. */
export interface RestoredTerminal {
  name: string;
  size: TerminalSize;
}

export interface Sandbox {
  readonly id: string;
  /**
   * Terminals that were open when this sandbox was adopted (SandboxDriver.adopt):
   * openTerminal(name) gives each one back with its shell and recent output.
   * Empty for a sandbox made by create().
   */
  restoredTerminals(): RestoredTerminal[];
  /**
   * Open terminal `name` at `size`, or return the one already open under
   * that name (same shell; the size is then applied as a resize).
   */
  openTerminal(name: string, size: TerminalSize): Promise<TerminalStream>;
  usage(): Promise<SandboxUsage>;
  /**
   * Run `argv` as root inside the sandbox, without a terminal, and wait for it
   * (the class's exercise checks). Resolves whatever the exit status; rejects
   * only when the command could not be run at all.
   */
  exec(argv: readonly string[], options?: { timeoutMs?: number }): Promise<ExecResult>;
  /**
   * The machine's processes and their namespaces as its own root sees them
   * (the « Vue des namespaces » panel), at most `maxProcesses` described.
   * Optional: a driver without an agent has no way to look inside.
   */
  processSnapshot?(maxProcesses: number): Promise<ProcessSnapshot>;
  /** A lab's machines, in the order asked (absent for a lone machine). */
  readonly machines?: readonly LabMachine[];
  /** A lab's machine by name: the rest of this interface (terminals, exec…) means the first one. */
  machine?(name: string): Sandbox | undefined;
  /**
   * A lab's machine made anew at the same name, address and hosts, on the
   * same network, the others running on (absent: the driver cannot). Rejects
   * with a RangeError for a machine the lab does not have.
   */
  resetMachine?(name: string): Promise<LabMachine>;
  /** The sandbox died on its own (init killed, VM crashed). */
  onExit(listener: (reason: string) => void): Disposable;
  /** Kill every process, remove every mount, cgroup and namespace. Idempotent. */
  destroy(): Promise<void>;
  /**
   * Let go of the sandbox without stopping it (the server is restarting): its
   * processes, files and terminals stay, for adopt() in the next server
   * process. A driver whose sandboxes cannot outlive the server destroys it
   * instead and says so in `kept`.
   */
  detach(): Promise<{ kept: boolean }>;
}

export type PrepareProgress = (step: string, detail?: string) => void;

export interface SandboxDriver {
  readonly name: 'namespace' | 'vm';
  /**
   * Throws HostNotSupportedError when this host cannot make sandboxes,
   * saying what is missing and what to do.
   */
  checkHost(): Promise<void>;
  /** Build or verify what every sandbox needs (root filesystem…), cached. */
  prepare(progress: PrepareProgress): Promise<void>;
  create(spec: SandboxSpec): Promise<Sandbox>;
  /**
   * Take over sandbox `spec.id`, left running by an earlier server process
   * (detached, or orphaned by a crash), and reconnect to its agent. Throws
   * SandboxLostError when it is not running any more; its remains are then
   * removed.
   */
  adopt(spec: SandboxSpec): Promise<Sandbox>;
  /**
   * Remove what earlier runs left behind and nobody owns any more (sandboxes
   * this process adopted, or that another live server runs, are spared);
   * returns how many sandboxes it removed.
   */
  cleanupLeftovers(options?: LeftoverOptions): Promise<number>;
}

/** adopt() found no live sandbox to take over: it died, or never outlives a server with this driver. */
export class SandboxLostError extends Error {
  override name = 'SandboxLostError';
}

export class HostNotSupportedError extends HintedError {
  override name = 'HostNotSupportedError';
}

/** This driver cannot make labs (several machines on a network of their own) yet. */
export class LabsNotSupportedError extends HintedError {
  override name = 'LabsNotSupportedError';
}
