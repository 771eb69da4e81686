// The sandbox server's part of the class image store: build the default
// images if missing, then serve the store to the machines until shutdown.
// The store's gates exist from the start (the driver gives every machine
// one); a host without docker-registry still serves machines (their pulls
// fail as they would offline), with a warning that says what to install.
import type { Logger } from '../log.ts';
import { ensureDefaultImages } from './default-images.ts';
import { ClassImageStore, type StoreOptions } from './image-store.ts';
import { removeStaleServerStores, type ImageStorePaths } from './paths.ts';
import { stopOrphanedRegistries } from './registry-owner.ts';

export function createImageStore(paths: ImageStorePaths, log: Logger, options: StoreOptions): ClassImageStore {
  return new ClassImageStore(paths, (level, msg, fields) => log[level](fields ?? {}, msg), options);
}

/**
 * Stops the registries of server processes that died without stopping them (a SIGKILL, an OOM
 * kill): called at every start, with or without a store of its own, before anything is served.
 */
export async function stopRegistriesOfDeadServers(log: Logger): Promise<void> {
  const stopped = await stopOrphanedRegistries().catch((error: unknown) => {
    log.warn({ err: error }, 'orphaned image registries not looked for');
    return [];
  });
  if (stopped.length > 0) log.info({ pids: stopped }, 'stopped image registries left running by a server that died');
}

/** Starts the store's registries; false when this host cannot (the machines' gates then answer "unavailable"). */
export async function startImageStore(store: ClassImageStore, log: Logger): Promise<boolean> {
  if (!ClassImageStore.available()) {
    log.warn(
      { hint: 'apt-get install --no-install-recommends docker-registry skopeo (scripts/install.sh does it)' },
      'no class image store: docker pull will fail in the machines',
    );
    return false;
  }
  try {
    await ensureDefaultImages(store.paths, (step, detail) => log.info({ step, detail }, 'preparing images'));
  } catch (error) {
    log.error({ err: error }, 'the default images could not be built; the store serves what it has');
  }
  removeStaleServerStores();
  await store.start();
  log.info({ storage: store.paths.storageDir, gates: store.paths.gateDir }, 'class image store serving');
  return true;
}
