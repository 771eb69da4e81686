// Writes a one-layer OCI image layout (the format `skopeo copy oci:DIR:TAG`
// reads) from a directory tree: the layer is the tree as a gzip'd tar with
// numeric owners, the config says what `docker run IMAGE` runs by default.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { createGzip } from 'node:zlib';

export interface ImageConfig {
  cmd: string[];
  env: string[];
  workingDir?: string;
}

interface Blob {
  digest: string;
  size: number;
}

export async function writeOciLayout(tree: string, layoutDir: string, tag: string, config: ImageConfig): Promise<void> {
  await rm(layoutDir, { recursive: true, force: true });
  const blobs = join(layoutDir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const { layer, diffId } = await writeLayer(tree, blobs);
  const configBlob = await writeBlob(
    blobs,
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: config.env, Cmd: config.cmd, ...(config.workingDir ? { WorkingDir: config.workingDir } : {}) },
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created_by: 'cours-linux: built from Debian packages (sandbox-server/src/images/default-images.ts)' }],
    }),
  );
  const manifest = await writeBlob(
    blobs,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    }),
  );
  await writeFile(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(layoutDir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
}

async function writeBlob(blobs: string, content: string): Promise<Blob> {
  const digest = createHash('sha256').update(content).digest('hex');
  await writeFile(join(blobs, digest), content);
  return { digest: `sha256:${digest}`, size: Buffer.byteLength(content) };
}

/** tar (GNU, numeric owners, sorted, /dev left empty: nodes cannot be made in a user namespace) → gzip, hashing both. */
async function writeLayer(tree: string, blobs: string): Promise<{ layer: Blob; diffId: string }> {
  const temporary = join(blobs, `layer-${process.pid}.tmp`);
  const tar = spawn('tar', ['--numeric-owner', '--sort=name', '--exclude=./dev/*', '-C', tree, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tarErrors = '';
  tar.stderr.on('data', (chunk: Buffer) => (tarErrors += chunk.toString('utf8')));
  const tarDone = new Promise<void>((resolve, reject) =>
    tar.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar of ${tree} failed (exit ${code}): ${tarErrors.trim()}`)))),
  );
  const uncompressed = createHash('sha256');
  const compressed = createHash('sha256');
  const hashing = (hash: ReturnType<typeof createHash>) =>
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
  await Promise.all([pipeline(tar.stdout, hashing(uncompressed), createGzip({ level: 6 }), hashing(compressed), createWriteStream(temporary)), tarDone]);
  const digest = compressed.digest('hex');
  await rename(temporary, join(blobs, digest));
  const { size } = await stat(join(blobs, digest));
  return { layer: { digest: `sha256:${digest}`, size }, diffId: `sha256:${uncompressed.digest('hex')}` };
}
