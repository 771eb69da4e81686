// What every sandbox whose terminals live in an in-machine agent does the same
// way, whatever makes the machine (crun container, QEMU VM): terminals, root
// commands and process snapshots go to the agent session, and only while the
// sandbox is ready. Written once here so that the two drivers cannot drift.
import type { ProcessSnapshot } from '../../../contracts/process-snapshot.ts';
import type { AgentSession } from './agent-session.ts';
import type { ExecDone } from '../../../contracts/agent-protocol.ts';
import type { TerminalSize, TerminalStream } from './driver.ts';

/** How long a root command may run when its caller does not say (the classroom's exercise checks). */
const DEFAULT_EXEC_TIMEOUT_MS = 30_000;

export abstract class AgentBackedSandbox {
  abstract readonly id: string;

  /** The agent session, when the sandbox is ready; undefined while it starts or once it closes. */
  protected abstract readyAgent(): AgentSession | undefined;

  openTerminal(name: string, size: TerminalSize): Promise<TerminalStream> {
    return this.#withAgent((agent) => agent.openTerminal(name, size));
  }

  /**
   * Runs `argv` as root inside the sandbox, without a terminal, and returns
   * its exit and output (64 KiB of each stream at most; `truncated` says so,
   * `error` says why it could not start): the driver contract's ExecResult, and more.
   */
  exec(argv: readonly string[], options: { timeoutMs?: number } = {}): Promise<ExecDone> {
    return this.#withAgent((agent) => agent.exec(argv, options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS));
  }

  processSnapshot(maxProcesses: number): Promise<ProcessSnapshot> {
    return this.#withAgent((agent) => agent.snapshot(maxProcesses));
  }

  #withAgent<T>(call: (agent: AgentSession) => Promise<T>): Promise<T> {
    const agent = this.readyAgent();
    if (!agent) return Promise.reject(new Error(`sandbox ${this.id} is not running`));
    return call(agent);
  }
}
