// The class image store from the command line (as root), for an instructor:
//
//   npm run images -- list                 the images every machine can pull, then what readers pushed
//   npm run images -- import FILE [NAME]   a `docker save` archive or an OCI archive/layout;
//                                          its own tags, or NAME (e.g. alice/app:1) when it has none
//   npm run images -- remove NAME          a tag, then the layers nothing uses any more; a reader's
//                                          (lecteur-…/app:1) too, though theirs go with their machine anyway
//   npm run images -- prepare              build the default images (busybox, debian:bookworm-slim)
//                                          from Debian's packages if missing (npm run sandbox:prepare does it too)
//
// Machines see a change at once: the store is read from disk on every pull.
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureDefaultImages } from './images/default-images.ts';
import { ImageNameError, displayName, parseImageName, type ImageName } from './images/image-names.ts';
import { copyIntoStore, listImages, removeImage, storeBytes, withWritableRegistry } from './images/image-store.ts';
import { isReaderRepository } from './images/gate-rules.ts';
import { DEFAULT_IMAGE_STORE_PATHS, DEFAULT_READERS_STORAGE } from './images/paths.ts';
import { listReaderImages, namespaceBytes, removeReaderTag } from './images/reader-storage.ts';

const USAGE = 'usage: npm run images -- list | import FILE [NAME] | remove NAME | prepare';
const paths = DEFAULT_IMAGE_STORE_PATHS;

async function main([command, ...args]: string[]): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('npm run images must run as root: the store belongs to the sandbox server');
    return 2;
  }
  switch (command) {
    case 'list': {
      const images = listImages(paths);
      if (images.length === 0) console.log('(no image: npm run images -- prepare builds the default ones)');
      for (const image of images) console.log(image.name);
      console.error(`${images.length} image(s), ${(storeBytes(paths) / 1024 ** 2).toFixed(1)} MiB in ${paths.storageDir}`);
      const pushed = listReaderImages(DEFAULT_READERS_STORAGE);
      for (const image of pushed) console.log(image.name);
      const namespaces = new Set(pushed.map((image) => image.namespace));
      const pushedBytes = [...namespaces].reduce((sum, namespace) => sum + namespaceBytes(DEFAULT_READERS_STORAGE, namespace), 0);
      console.error(
        `${pushed.length} image(s) pushed by ${namespaces.size} reader(s), ${(pushedBytes / 1024 ** 2).toFixed(1)} MiB in ${DEFAULT_READERS_STORAGE}`,
      );
      return 0;
    }
    case 'import': {
      const [file, name] = args;
      if (!file) break;
      const names = await importImages(file, name);
      console.log(`imported: ${names.map(displayName).join(', ')}`);
      return 0;
    }
    case 'remove': {
      const [name] = args;
      if (!name) break;
      const image = parseImageName(name);
      if (isReaderRepository(image.repository)) {
        if (!(await removeReaderTag(DEFAULT_READERS_STORAGE, image.repository, image.tag))) {
          throw new Error(`no image ${displayName(image)} pushed by a reader (npm run images -- list shows what there is)`);
        }
      } else await removeImage(image, paths);
      console.log(`removed: ${displayName(image)}`);
      return 0;
    }
    case 'prepare':
      await ensureDefaultImages(paths, (step, detail) => console.error(`» ${step}: ${detail ?? ''}`));
      return 0;
  }
  console.error(USAGE);
  return 2;
}

/** Finds what FILE is and which names it carries, then copies each into the store. */
async function importImages(file: string, override: string | undefined): Promise<ImageName[]> {
  if (!existsSync(file)) throw new Error(`${file} does not exist`);
  const { source, tags } = await describeArchive(file);
  const names = override ? [parseImageName(override)] : tags.map((tag) => parseImageName(tag));
  const readers = names.filter((name) => isReaderRepository(name.repository));
  if (readers.length > 0) {
    throw new Error(
      `${displayName(readers[0]!)} is in a reader's namespace (lecteur-…): give the image another name, e.g. npm run images -- import ${file} cours/app:1`,
    );
  }
  if (names.length === 0) {
    throw new Error(`${file} carries no image name: give one, e.g. npm run images -- import ${file} alice/app:1`);
  }
  await withWritableRegistry(paths, async (address) => {
    for (const [index, name] of names.entries()) {
      // A docker save archive may hold several images: pick each by its own tag (or the first, under NAME).
      const pick = source.startsWith('docker-archive:') ? (override ? '@0' : `:${tags[index]}`) : '';
      await copyIntoStore(address, `${source}${pick}`, name);
    }
  });
  return names;
}

async function describeArchive(file: string): Promise<{ source: string; tags: string[] }> {
  if (statSync(file).isDirectory()) {
    if (!existsSync(join(file, 'oci-layout'))) throw new Error(`${file} is a directory but not an OCI layout (no oci-layout file)`);
    const index = JSON.parse(await readFileText(join(file, 'index.json'))) as OciIndex;
    return { source: `oci:${file}`, tags: ociTags(index).map((tag) => tag) };
  }
  const members = await tarMembers(file);
  if (members.includes('manifest.json')) {
    const manifest = JSON.parse(await tarMember(file, 'manifest.json')) as { RepoTags?: string[] | null }[];
    return { source: `docker-archive:${file}`, tags: manifest.flatMap((entry) => entry.RepoTags ?? []) };
  }
  if (members.includes('index.json') && members.includes('oci-layout')) {
    const index = JSON.parse(await tarMember(file, 'index.json')) as OciIndex;
    return { source: `oci-archive:${file}`, tags: ociTags(index) };
  }
  throw new Error(`${file} is neither a docker save archive (manifest.json) nor an OCI archive (index.json + oci-layout)`);
}

interface OciIndex {
  manifests?: { annotations?: Record<string, string> }[];
}

/** OCI ref names are often bare tags ("1.0"): those need a NAME on the command line. */
function ociTags(index: OciIndex): string[] {
  return (index.manifests ?? [])
    .map((manifest) => manifest.annotations?.['io.containerd.image.name'] ?? manifest.annotations?.['org.opencontainers.image.ref.name'] ?? '')
    .filter((ref) => ref.includes(':') || ref.includes('/'));
}

async function tarMembers(file: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('tar', ['-tf', file], { maxBuffer: 64 * 1024 * 1024 }).catch(() => {
    throw new Error(`${file} is not a tar archive (docker save and OCI archives are)`);
  });
  return stdout.split('\n').map((line) => line.replace(/^\.\//, ''));
}

async function tarMember(file: string, member: string): Promise<string> {
  const tryRead = (name: string) => promisify(execFile)('tar', ['-xOf', file, name], { maxBuffer: 16 * 1024 * 1024 }).then(({ stdout }) => stdout);
  return tryRead(member).catch(() => tryRead(`./${member}`));
}

async function readFileText(path: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(path, 'utf8');
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error instanceof ImageNameError ? error.message : `npm run images: ${error.message}`);
    process.exit(1);
  },
);
