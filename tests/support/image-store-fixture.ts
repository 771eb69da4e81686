// A class image store for integration tests: the real registries over the
// host's real storage of the class's images (the default images are built
// there once, like `npm run sandbox:prepare` does), but with their sockets,
// the machines' gates, the readers' pushes and the cache in directories of
// this test run, so that a running server's store is left alone and nothing
// a test pushed outlives it.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { ensureDefaultImages } from '../../sandbox-server/src/images/default-images.ts';
import { ClassImageStore, type StoreOptions } from '../../sandbox-server/src/images/image-store.ts';
import type { RegistryAccess } from '../../sandbox-server/src/images/machine-gates.ts';
import { DEFAULT_IMAGE_STORE_PATHS, type ImageStorePaths } from '../../sandbox-server/src/images/paths.ts';

export class ImageStoreFixture {
  readonly paths: ImageStorePaths & { readersStorageDir: string; cacheStorageDir: string };
  readonly refused: string[] = [];
  readonly #run = randomBytes(3).toString('hex');
  #options: StoreOptions;
  #store: ClassImageStore | undefined;

  constructor(options: StoreOptions = {}) {
    const run = `/run/cours-linux/test-images-${this.#run}`;
    this.paths = {
      storageDir: DEFAULT_IMAGE_STORE_PATHS.storageDir,
      privateDir: `${run}/registry`,
      gateDir: `${run}/gate`,
      readersStorageDir: `/var/tmp/cours-linux-test-readers-${this.#run}`,
      cacheStorageDir: `/var/tmp/cours-linux-test-cache-${this.#run}`,
    };
    this.#options = options;
  }

  /** Options known only once the test has started something (e.g. the upstream's port); before start(). */
  configure(options: StoreOptions): void {
    this.#options = { ...this.#options, ...options };
  }

  /** What the namespace driver gives its machines (handed over before start(): the store is made on first use). */
  readonly gates: RegistryAccess = {
    open: (machine) => this.#made().gates.open(machine),
    close: (machineId, options) => this.#made().gates.close(machineId, options),
  };

  #made(): ClassImageStore {
    this.#store ??= new ClassImageStore(
      this.paths,
      (_level, msg, fields) => {
        if (msg === 'registry gate refused a request') this.refused.push(`${String(fields?.method)} ${String(fields?.url)}`);
      },
      this.#options,
    );
    return this.#store;
  }

  async start(): Promise<void> {
    await ensureDefaultImages(this.paths, () => {});
    await this.#made().start();
  }

  /** Stops the registries and the gates and removes the run's directories; returns what was left. */
  async stop(): Promise<string[]> {
    await this.#store?.stop();
    const run = this.paths.gateDir.replace(/\/gate$/, '');
    const dirs = [run, this.paths.readersStorageDir, this.paths.cacheStorageDir];
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    return dirs.filter((dir) => existsSync(dir)).map((dir) => `directory ${dir}`);
  }
}
