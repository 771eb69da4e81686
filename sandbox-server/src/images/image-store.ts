// The class image store: a registry (Debian's docker-registry) over one
// storage directory, served read-only to sandboxes through the gate, and
// written only by the instructor's `npm run images` through a short-lived
// writable registry on the host's loopback.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { displayName, type ImageName } from './image-names.ts';
import { DEFAULT_IMAGE_STORE_PATHS, GATE_SOCKET_NAME, REGISTRY_SOCKET_NAME, type ImageStorePaths } from './paths.ts';
import { ReadOnlyGate } from './read-only-gate.ts';
import { RegistryProcess, freeLoopbackPort, registryConfig, REGISTRY_BINARY } from './registry-process.ts';

export type StoreLog = (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;

/** The store as sandboxes see it: started and stopped by the sandbox server. */
export class ClassImageStore {
  readonly paths: ImageStorePaths;
  #registry: RegistryProcess;
  #gate: ReadOnlyGate;

  constructor(paths: ImageStorePaths = DEFAULT_IMAGE_STORE_PATHS, log: StoreLog = () => {}) {
    this.paths = paths;
    this.#registry = new RegistryProcess({
      name: 'read-only',
      storageDir: paths.storageDir,
      configDir: paths.privateDir,
      listen: { unixSocket: join(paths.privateDir, REGISTRY_SOCKET_NAME) },
      readOnly: true,
    });
    this.#gate = new ReadOnlyGate({ socket: join(paths.gateDir, GATE_SOCKET_NAME), upstream: join(paths.privateDir, REGISTRY_SOCKET_NAME), log });
  }

  /** True when this host can serve a store (the registry is installed). */
  static available(): boolean {
    return existsSync(REGISTRY_BINARY);
  }

  async start(): Promise<void> {
    await this.#registry.start();
    try {
      await this.#gate.start();
    } catch (error) {
      await this.#registry.stop();
      throw error;
    }
  }

  /** Stops both and removes their sockets and configuration (the storage stays). */
  async stop(): Promise<void> {
    await this.#gate.stop();
    await this.#registry.stop();
    await rm(this.paths.gateDir, { recursive: true, force: true });
    await rm(join(this.paths.privateDir, 'read-only.yml'), { force: true });
    // The directories too, when nothing else uses them (a server's own are empty by now).
    await rmdir(this.paths.privateDir).catch(() => {});
    await rmdir(dirname(this.paths.gateDir)).catch(() => {});
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
