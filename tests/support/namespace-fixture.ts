// Real namespace sandboxes for integration tests: a driver with the default
// options (the same host paths a server would use), ids unique to the test
// run, readers on terminals, and teardown that proves nothing was left.
import { randomBytes } from 'node:crypto';
import type { Sandbox, SandboxLimits, TerminalSize } from '../../sandbox-server/src/drivers/driver.ts';
import {
  DEFAULT_LIMITS,
  createNamespaceDriver,
  type LogRecord,
  type NamespaceDriver,
  type NamespaceDriverOptions,
  type NamespaceSandbox,
} from '../../sandbox-server/src/drivers/namespace/index.ts';
import type { NamespaceLab } from '../../sandbox-server/src/drivers/namespace/lab.ts';
import { labMachineId } from '../../sandbox-server/src/drivers/namespace/lab.ts';
import { namespaceLeftovers } from './namespace-leftovers.ts';
import { openTerminal, type OpenedTerminal } from './terminal-reader.ts';

export type { OpenedTerminal };

export class NamespaceFixture {
  readonly driver: NamespaceDriver;
  readonly ids: string[] = [];
  /** Ids of the labs the fixture made (their machines' ids are in `ids` too). */
  readonly labIds: string[] = [];
  readonly logs: LogRecord[] = [];
  #sandboxes: Sandbox[] = [];

  constructor(options: Omit<NamespaceDriverOptions, 'log'> = {}) {
    this.driver = createNamespaceDriver({
      ...options,
      log: (record) => {
        this.logs.push(record);
        if (record.level === 'error') process.stderr.write(`${JSON.stringify(record)}\n`);
      },
    });
  }

  async prepare(): Promise<void> {
    await this.driver.checkHost();
    await this.driver.prepare(() => {});
  }

  newId(label: string): string {
    const id = `test-${label}-${randomBytes(3).toString('hex')}`;
    this.ids.push(id);
    return id;
  }

  async create(label: string, options: { docker?: boolean; limits?: Partial<SandboxLimits> } = {}): Promise<NamespaceSandbox> {
    const sandbox = await this.driver.create({
      id: this.newId(label),
      docker: options.docker ?? false,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
    });
    this.#sandboxes.push(sandbox);
    return sandbox;
  }

  /** A lab of `machines` (Docker on by default, as the Swarm chapter needs it). */
  async createLab(label: string, machines: string[], options: { docker?: boolean; limits?: Partial<SandboxLimits> } = {}): Promise<NamespaceLab> {
    const id = this.newId(label);
    this.labIds.push(id);
    this.ids.push(...machines.map((_, index) => labMachineId(id, index)));
    const lab = await this.driver.create({
      id,
      machines,
      docker: options.docker ?? true,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
    });
    this.#sandboxes.push(lab);
    return lab;
  }

  /** Opens terminal `name` and waits for its first prompt. */
  open(sandbox: Sandbox, name: string, size?: TerminalSize): Promise<OpenedTerminal> {
    return openTerminal(sandbox, name, size);
  }

  /** Destroys every sandbox the fixture made (even after a failure) and returns what was left on the host. */
  async destroyAll(): Promise<string[]> {
    const results = await Promise.allSettled(this.#sandboxes.map((sandbox) => sandbox.destroy()));
    this.#sandboxes = [];
    const failures = results.filter((result) => result.status === 'rejected').map((result) => String((result as PromiseRejectedResult).reason));
    return [...failures, ...this.leftovers()];
  }

  leftovers(): string[] {
    const { prefix, stateDir, dockerDiskDir } = this.driver.options;
    return namespaceLeftovers({ prefix, stateDir, dockerDiskDir, ids: this.ids, labIds: this.labIds });
  }
}
