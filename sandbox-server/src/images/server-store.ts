// The sandbox server's part of the class image store: build the default
// images if missing, then serve the store to the machines until shutdown.
// A host without docker-registry still serves machines (their pulls fail as
// they would offline), with a warning that says what to install.
import type { Logger } from '../log.ts';
import { ensureDefaultImages } from './default-images.ts';
import { ClassImageStore } from './image-store.ts';
import { removeStaleServerStores, type ImageStorePaths } from './paths.ts';

export async function startImageStore(paths: ImageStorePaths, log: Logger): Promise<ClassImageStore | undefined> {
  if (!ClassImageStore.available()) {
    log.warn(
      { hint: 'apt-get install --no-install-recommends docker-registry skopeo (scripts/install.sh does it)' },
      'no class image store: docker pull will fail in the machines',
    );
    return undefined;
  }
  try {
    await ensureDefaultImages(paths, (step, detail) => log.info({ step, detail }, 'preparing images'));
  } catch (error) {
    log.error({ err: error }, 'the default images could not be built; the store serves what it has');
  }
  removeStaleServerStores();
  const store = new ClassImageStore(paths, (level, msg, fields) => log[level](fields ?? {}, msg));
  await store.start();
  log.info({ storage: paths.storageDir, gate: paths.gateDir }, 'class image store serving');
  return store;
}
