// Where the reader's machine comes from, as the terminal app sees it: the
// sandbox server (sandbox-client.ts), or a machine emulated in this tab
// (browser-machine/). Both hand out the same record and a way to open its
// terminals, so the dock, the terminals and Exécuter never know which.
import type { TerminalConnection } from './lesson-terminal.ts';
import type { SandboxClient } from './sandbox-client.ts';
import type { RememberedSandbox } from './sandbox-memory.ts';
import type { BrowserMachine, StartProgress } from './browser-machine/browser-machine.ts';

export interface MachineSource {
  readonly kind: 'server' | 'browser';
  /** The machine in use or remembered, if any. */
  readonly current: RememberedSandbox | undefined;
  /** The machine, started if needed (`progress` says what is happening meanwhile). */
  ensure(progress: StartProgress): Promise<RememberedSandbox>;
  /** A fresh machine instead of the current one (every machine of a lab). */
  reset(progress: StartProgress): Promise<RememberedSandbox>;
  /** The page's lab (machine names), or undefined: one machine. */
  readonly lab: readonly string[] | undefined;
  /** Machine `machine` of the lab made anew, the others untouched (server labs only). */
  resetOne(machine: string): Promise<RememberedSandbox>;
  /** The remembered machine if it still exists; never starts one. */
  check(): Promise<RememberedSandbox | undefined>;
  /** Forgets the machine: it is gone. */
  drop(): void;
  rememberTerminals(names: readonly string[]): void;
  /** Words to add after a run of `commands` on this kind of machine (the browser machine's missing Docker), if any. */
  remark?(commands: readonly string[]): string | undefined;
  /** How terminals of `machine` connect; `labMachine` picks one machine of a lab (undefined: the first, or the only one). */
  connection(machine: RememberedSandbox, labMachine?: string): TerminalConnection;
}

export function serverMachines(client: SandboxClient): MachineSource {
  return {
    kind: 'server',
    get current() {
      return client.current;
    },
    lab: client.machines,
    ensure: () => client.ensure(),
    reset: () => client.reset(),
    resetOne: (machine) => client.resetMachine(machine),
    check: () => client.check(),
    drop: () => client.drop(),
    rememberTerminals: (names) => client.rememberTerminals(names),
    connection: (machine, labMachine) => ({
      url: (name, size) => client.terminalUrl(machine, name, size, labMachine),
      started: (name) => client.takeStarted(machine, name, labMachine),
    }),
  };
}

/**
 * The browser machine lives as long as the tab: nothing to remember or check across reloads.
 * It is one machine: on a lab page, every block runs on it.
 */
export function browserMachines(machine: BrowserMachine): MachineSource {
  let terminals: string[] = [];
  const record = (): RememberedSandbox => ({ id: machine.id, token: '', expiresAt: '9999-12-31T00:00:00Z', terminals });
  return {
    kind: 'browser',
    lab: undefined,
    resetOne: async (_machine) => {
      await machine.reset(() => undefined);
      return record();
    },
    get current() {
      return machine.running ? record() : undefined;
    },
    ensure: async (progress) => {
      await machine.start(progress);
      return record();
    },
    reset: async (progress) => {
      await machine.reset(progress);
      return record();
    },
    check: async () => (machine.running ? record() : undefined),
    drop: () => undefined,
    rememberTerminals: (names) => {
      terminals = [...names];
    },
    connection: () => machine.connection(),
    remark: (commands) => machine.remarkAbout(commands),
  };
}
