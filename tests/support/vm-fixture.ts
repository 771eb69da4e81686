// What every VM driver test sets up the same way: the class image store on
// sockets of this run, a VM driver whose VMs reach it, the driver's log kept
// (errors echoed on stderr), and the host checked, cleaned of an earlier
// run's leftovers and prepared. A second driver on the same store and log is
// what the next server process would be (a restart: adopt()).
//
//   const vms = new VmFixture();
//   beforeAll(() => vms.start());   afterAll(async () => expect(await vms.stop()).toEqual([]));
//   const sandbox = await vms.driver.create({ … });
import type { LogRecord, VmDriverOptions } from '../../sandbox-server/src/drivers/vm/index.ts';
import { createVmDriver, type VmDriver } from '../../sandbox-server/src/drivers/vm/index.ts';
import { ImageStoreFixture } from './image-store-fixture.ts';

export class VmFixture {
  readonly logs: LogRecord[] = [];
  readonly store = new ImageStoreFixture();
  readonly driver: VmDriver;
  readonly #options: VmDriverOptions;

  constructor(options: VmDriverOptions = {}) {
    this.#options = options;
    this.driver = this.newDriver();
  }

  /** Another driver instance with the same options, store and log: the next server process's. */
  newDriver(): VmDriver {
    return createVmDriver({
      registry: this.store.gates,
      log: (record) => {
        this.logs.push(record);
        if (record.level === 'error') process.stderr.write(`${JSON.stringify(record)}\n`);
      },
      ...this.#options,
    });
  }

  /** Checks the host, removes what an earlier run left, starts the store, prepares (the first run on a machine builds for minutes). */
  async start(): Promise<void> {
    await this.driver.checkHost();
    await this.driver.cleanupLeftovers();
    await this.store.start();
    await this.driver.prepare(() => {});
  }

  /** Stops the store; resolves with what it left behind (an empty list when nothing). */
  stop(): Promise<string[]> {
    return this.store.stop();
  }
}

/** Resolves once `condition()` holds, looking every 50 ms; throws after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
