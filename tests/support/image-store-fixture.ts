// A class image store for integration tests: the real registry over the
// host's real storage (the default images are built there once, like
// `npm run sandbox:prepare` does), but with its sockets in a directory of
// this test run, so that a running server's store is left alone.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { ensureDefaultImages } from '../../sandbox-server/src/images/default-images.ts';
import { ClassImageStore } from '../../sandbox-server/src/images/image-store.ts';
import { DEFAULT_IMAGE_STORE_PATHS, type ImageStorePaths } from '../../sandbox-server/src/images/paths.ts';

export class ImageStoreFixture {
  readonly paths: ImageStorePaths;
  readonly refused: string[] = [];
  #store: ClassImageStore;

  constructor() {
    const run = `/run/cours-linux/test-images-${randomBytes(3).toString('hex')}`;
    this.paths = { storageDir: DEFAULT_IMAGE_STORE_PATHS.storageDir, privateDir: `${run}/registry`, gateDir: `${run}/gate` };
    this.#store = new ClassImageStore(this.paths, (_level, msg, fields) => {
      if (msg === 'registry gate refused a request') this.refused.push(`${String(fields?.method)} ${String(fields?.url)}`);
    });
  }

  async start(): Promise<void> {
    await ensureDefaultImages(this.paths, () => {});
    await this.#store.start();
  }

  /** Stops the registry and the gate and removes the run's directories; returns what was left. */
  async stop(): Promise<string[]> {
    await this.#store.stop();
    const run = this.paths.gateDir.replace(/\/gate$/, '');
    await rm(run, { recursive: true, force: true });
    return existsSync(run) ? [`directory ${run}`] : [];
  }
}
