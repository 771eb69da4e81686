// The class image store: registries (Debian's docker-registry) over their
// storage directories, reached by machines only through their own gate
// socket (machine-gates.ts). The class's images are read-only to readers and
// written only by the instructor's `npm run images` through a short-lived
// writable registry on the host's loopback; readers push into the readers'
// registry, under their own namespace; a pull-through cache of an upstream
// registry is asked for what the class's images lack, when configured.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { displayName, type ImageName } from './image-names.ts';
import { MachineGates, type RegistryAccess } from './machine-gates.ts';
import {
  CACHE_REGISTRY_SOCKET_NAME,
  DEFAULT_CACHE_STORAGE,
  DEFAULT_IMAGE_STORE_PATHS,
  DEFAULT_READERS_STORAGE,
  READERS_REGISTRY_SOCKET_NAME,
  REGISTRY_SOCKET_NAME,
  type ImageStorePaths,
} from './paths.ts';
import { removeUnlinkedBlobs } from './reader-storage.ts';
import { RegistryProcess, freeLoopbackPort, registryConfig, REGISTRY_BINARY } from './registry-process.ts';

export type StoreLog = (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;

export interface StoreOptions {
  /** Most bytes one reader's namespace may hold (IMAGE_STORE_READER_QUOTA). */
  readerQuotaBytes?: number;
  /** A registry to cache pulls from (IMAGE_STORE_UPSTREAM); absent: the class's images only. */
  upstream?: string | undefined;
}

export const DEFAULT_READER_QUOTA = 512 * 1024 ** 2;

/** The store as machines see it: started and stopped by the sandbox server. */
export class ClassImageStore {
  readonly paths: ImageStorePaths;
  /** What drivers give their machines (one socket each); usable before start(): until then requests answer "unavailable". */
  readonly gates: MachineGates;
  #registries: RegistryProcess[];

  constructor(paths: ImageStorePaths = DEFAULT_IMAGE_STORE_PATHS, log: StoreLog = () => {}, options: StoreOptions = {}) {
    this.paths = paths;
    const socket = (name: string) => join(paths.privateDir, name);
    const readersStorageDir = paths.readersStorageDir ?? DEFAULT_READERS_STORAGE;
    const registry = (name: string, storageDir: string, socketName: string, readOnly: boolean, proxyRemoteUrl?: string) =>
      new RegistryProcess({ name, storageDir, configDir: paths.privateDir, listen: { unixSocket: socket(socketName) }, readOnly, proxyRemoteUrl });
    this.#registries = [
      registry('read-only', paths.storageDir, REGISTRY_SOCKET_NAME, true),
      registry('readers', readersStorageDir, READERS_REGISTRY_SOCKET_NAME, false),
      ...(options.upstream ? [registry('cache', paths.cacheStorageDir ?? DEFAULT_CACHE_STORAGE, CACHE_REGISTRY_SOCKET_NAME, false, options.upstream)] : []),
    ];
    this.gates = new MachineGates(
      paths.gateDir,
      {
        shared: socket(REGISTRY_SOCKET_NAME),
        readers: socket(READERS_REGISTRY_SOCKET_NAME),
        readersStorageDir,
        cache: options.upstream ? socket(CACHE_REGISTRY_SOCKET_NAME) : undefined,
        quotaBytes: options.readerQuotaBytes ?? DEFAULT_READER_QUOTA,
      },
      log,
    );
  }

  /** What a driver needs to give its machines the store. */
  get access(): RegistryAccess {
    return this.gates;
  }

  /** True when this host can serve a store (the registry is installed). */
  static available(): boolean {
    return existsSync(REGISTRY_BINARY);
  }

  async start(): Promise<void> {
    const started: RegistryProcess[] = [];
    try {
      for (const registry of this.#registries) {
        await registry.start();
        started.push(registry);
      }
    } catch (error) {
      await Promise.all(started.map((registry) => registry.stop()));
      throw error;
    }
    // Blobs a gone reader's namespace left while they were still fresh (reader-storage.ts).
    await removeUnlinkedBlobs(this.paths.readersStorageDir ?? DEFAULT_READERS_STORAGE).catch(() => 0);
  }

  /**
   * Stops the gates' sockets and the registries, and removes the registries'
   * sockets and configuration. The storage stays, and so do the machines'
   * gate directories (machines kept across a restart still have them bound).
   */
  async stop(): Promise<void> {
    await this.gates.closeAll();
    await Promise.all(this.#registries.map((registry) => registry.stop()));
    for (const registry of this.#registries) await rm(join(this.paths.privateDir, `${registry.options.name}.yml`), { force: true });
    // The directory too, when nothing else uses it (a server's own is empty by now).
    await rmdir(this.paths.privateDir).catch(() => {});
    await rmdir(dirname(this.paths.privateDir)).catch(() => {});
  }
}

/** Runs `action` with a writable registry on 127.0.0.1:PORT over the store's storage, stopped afterwards. */
export async function withWritableRegistry<T>(paths: ImageStorePaths, action: (address: string) => Promise<T>): Promise<T> {
  const port = await freeLoopbackPort();
  const registry = new RegistryProcess({
    name: `writable-${process.pid}`,
    storageDir: paths.storageDir,
    configDir: paths.privateDir,
    listen: { tcpPort: port },
    readOnly: false,
  });
  await registry.start();
  try {
    return await action(`127.0.0.1:${port}`);
  } finally {
    await registry.stop();
    await rm(join(paths.privateDir, `writable-${process.pid}.yml`), { force: true });
  }
}

/** Copies `source` (a skopeo transport: docker-archive:…, oci-archive:…, oci:DIR:TAG) into the store as `name`. */
export async function copyIntoStore(address: string, source: string, name: ImageName): Promise<void> {
  try {
    await promisify(execFile)(
      'skopeo',
      ['copy', '--quiet', '--dest-tls-verify=false', '--format', 'v2s2', source, `docker://${address}/${name.repository}:${name.tag}`],
      { maxBuffer: 4 * 1024 * 1024 },
    );
  } catch (error) {
    const detail = ((error as { stderr?: string }).stderr ?? '').trim() || (error as Error).message;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error('skopeo is missing: apt-get install --no-install-recommends skopeo (scripts/install.sh does it)');
    throw new Error(`copying ${source} into the store as ${displayName(name)} failed: ${detail}`);
  }
}

export interface StoredImage {
  name: string;
  repository: string;
  tag: string;
}

/** The tags in the store, read from its files (distribution's filesystem layout). */
export function listImages(paths: ImageStorePaths = DEFAULT_IMAGE_STORE_PATHS): StoredImage[] {
  const repositories = join(paths.storageDir, 'docker', 'registry', 'v2', 'repositories');
  const found: StoredImage[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const entry of existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : []) {
      if (!entry.isDirectory() || entry.name.startsWith('_')) continue;
      const repository = prefix ? `${prefix}/${entry.name}` : entry.name;
      const tags = join(dir, entry.name, '_manifests', 'tags');
      if (existsSync(tags)) {
        for (const tag of readdirSync(tags)) {
          if (existsSync(join(tags, tag, 'current', 'link'))) found.push({ repository, tag, name: displayName({ repository, tag }) });
        }
      }
      walk(join(dir, entry.name), repository);
    }
  };
  walk(repositories, '');
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

export function hasImage(name: ImageName, paths: ImageStorePaths = DEFAULT_IMAGE_STORE_PATHS): boolean {
  return listImages(paths).some((image) => image.repository === name.repository && image.tag === name.tag);
}

/** Removes a tag, then the blobs nothing refers to any more (distribution's garbage collector). */
export async function removeImage(name: ImageName, paths: ImageStorePaths = DEFAULT_IMAGE_STORE_PATHS): Promise<void> {
  const repositoryDir = join(paths.storageDir, 'docker', 'registry', 'v2', 'repositories', name.repository);
  const tagDir = join(repositoryDir, '_manifests', 'tags', name.tag);
  if (!existsSync(tagDir)) throw new Error(`no image ${displayName(name)} in the store (npm run images -- list shows what there is)`);
  await rm(tagDir, { recursive: true, force: true });
  const tagsLeft = readdirSync(join(repositoryDir, '_manifests', 'tags'));
  if (tagsLeft.length === 0) await rm(repositoryDir, { recursive: true, force: true });
  // The collector works on the files alone: no registry needs to serve for it.
  const config = join(paths.privateDir, `gc-${process.pid}.yml`);
  await mkdir(paths.privateDir, { recursive: true, mode: 0o700 });
  await writeFile(config, registryConfig({ name: 'gc', storageDir: paths.storageDir, configDir: paths.privateDir, listen: { tcpPort: 0 }, readOnly: false }), {
    mode: 0o600,
  });
  try {
    await promisify(execFile)(REGISTRY_BINARY, ['garbage-collect', '--delete-untagged', config]);
  } catch (error) {
    const detail = ((error as { stderr?: string }).stderr ?? (error as Error).message).trim().slice(-500);
    throw new Error(`the registry's garbage collector failed: ${detail}`);
  } finally {
    await rm(config, { force: true });
  }
}

/** Bytes the store's files take on disk. */
export function storeBytes(paths: ImageStorePaths = DEFAULT_IMAGE_STORE_PATHS): number {
  let total = 0;
  const walk = (dir: string) => {
    for (const entry of existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : []) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) total += statSync(path).size;
    }
  };
  walk(paths.storageDir);
  return total;
}
