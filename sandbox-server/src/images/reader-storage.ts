// The readers' images on disk: distribution's filesystem layout under the
// readers' own storage directory (never the class's), read directly to count
// a namespace's bytes against its quota, and to remove a namespace whose
// reader is gone. Blobs are shared between repositories: a namespace's usage
// counts each blob it links once, and a removal deletes only the blobs no
// repository links any more.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

const v2 = (storageDir: string) => join(storageDir, 'docker', 'registry', 'v2');
const blobData = (storageDir: string, hex: string) => join(v2(storageDir), 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');

/** Every repository directory under `dir` (one holding `_manifests`, `_layers` or `_uploads`), as [name, path]. */
function repositories(dir: string, prefix: string, found: [string, string][] = []): [string, string][] {
  for (const entry of existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : []) {
    if (!entry.isDirectory() || entry.name.startsWith('_')) continue;
    const path = join(dir, entry.name);
    const name = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (['_manifests', '_layers', '_uploads'].some((part) => existsSync(join(path, part)))) found.push([name, path]);
    repositories(path, name, found);
  }
  return found;
}

/** Digests (hex) a repository links: its layers and its manifests' revisions. */
function linkedBlobs(repositoryDir: string, into: Set<string>): void {
  for (const part of [join('_layers', 'sha256'), join('_manifests', 'revisions', 'sha256')]) {
    const dir = join(repositoryDir, part);
    for (const hex of existsSync(dir) ? readdirSync(dir) : []) {
      if (/^[a-f0-9]{64}$/.test(hex) && existsSync(join(dir, hex, 'link'))) into.add(hex);
    }
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Bytes a namespace holds: each blob it links once, plus its uploads in progress. */
export function namespaceBytes(storageDir: string, namespace: string): number {
  const root = join(v2(storageDir), 'repositories', namespace);
  if (!existsSync(root)) return 0;
  const blobs = new Set<string>();
  let uploads = 0;
  const repos = repositories(root, namespace);
  if (existsSync(join(root, '_layers')) || existsSync(join(root, '_uploads'))) repos.push([namespace, root]);
  for (const [, path] of repos) {
    linkedBlobs(path, blobs);
    const uploadsDir = join(path, '_uploads');
    for (const id of existsSync(uploadsDir) ? readdirSync(uploadsDir) : []) uploads += sizeOf(join(uploadsDir, id, 'data'));
  }
  let total = uploads;
  for (const hex of blobs) total += sizeOf(blobData(storageDir, hex));
  return total;
}

/** Where distribution keeps an upload in progress (removed by the gate when it cut one off at the quota). */
export function uploadDir(storageDir: string, repository: string, upload: string): string {
  return join(v2(storageDir), 'repositories', repository, '_uploads', upload);
}

export interface ReaderImage {
  /** As `docker pull` spells it, without the registry: lecteur-…/app:1 */
  name: string;
  namespace: string;
}

/** The tags readers pushed, read from the files. */
export function listReaderImages(storageDir: string): ReaderImage[] {
  const found: ReaderImage[] = [];
  for (const [name, path] of repositories(join(v2(storageDir), 'repositories'), '')) {
    const tags = join(path, '_manifests', 'tags');
    for (const tag of existsSync(tags) ? readdirSync(tags) : []) {
      if (existsSync(join(tags, tag, 'current', 'link'))) found.push({ name: `${name}:${tag}`, namespace: name.split('/')[0]! });
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** Removes a whole namespace (its reader is gone), then the blobs nothing links any more. */
export async function removeNamespace(storageDir: string, namespace: string): Promise<void> {
  await rm(join(v2(storageDir), 'repositories', namespace), { recursive: true, force: true });
  await removeUnlinkedBlobs(storageDir);
}

/** Removes one tag of a reader's repository (npm run images -- remove), then what nothing links. */
export async function removeReaderTag(storageDir: string, repository: string, tag: string): Promise<boolean> {
  const repositoryDir = join(v2(storageDir), 'repositories', repository);
  const tagDir = join(repositoryDir, '_manifests', 'tags', tag);
  if (!existsSync(tagDir)) return false;
  const manifest = readFileSync(join(tagDir, 'current', 'link'), 'utf8')
    .trim()
    .replace(/^sha256:/, '');
  await rm(tagDir, { recursive: true, force: true });
  const tagsLeft = readdirSync(join(repositoryDir, '_manifests', 'tags'));
  if (tagsLeft.length === 0) await rm(repositoryDir, { recursive: true, force: true });
  else await rm(join(repositoryDir, '_manifests', 'revisions', 'sha256', manifest), { recursive: true, force: true });
  await removeUnlinkedBlobs(storageDir);
  return true;
}

/**
 * Distribution's own garbage collector must not run while the registry takes
 * pushes (it would delete the layers of a push whose manifest has not come
 * yet). This one keeps every blob any repository links — a push in progress
 * links its layers as each arrives — and any blob younger than `graceMs`
 * (one being linked right now): safe while readers push.
 */
export async function removeUnlinkedBlobs(storageDir: string, graceMs = 10 * 60_000): Promise<number> {
  const linked = new Set<string>();
  for (const [, path] of repositories(join(v2(storageDir), 'repositories'), '')) linkedBlobs(path, linked);
  const blobsDir = join(v2(storageDir), 'blobs', 'sha256');
  let removed = 0;
  for (const prefix of existsSync(blobsDir) ? readdirSync(blobsDir) : []) {
    for (const hex of readdirSync(join(blobsDir, prefix))) {
      if (linked.has(hex)) continue;
      const data = join(blobsDir, prefix, hex, 'data');
      if (existsSync(data) && Date.now() - statSync(data).mtimeMs < graceMs) continue;
      await rm(join(blobsDir, prefix, hex), { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}
