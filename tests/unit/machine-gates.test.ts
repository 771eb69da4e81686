// The class registry's gates over real unix sockets, with small HTTP servers
// standing for the registries behind them: the socket a request comes in on
// decides whose it is, a namespace's writes stop at its quota, a pull the
// class's images lack goes on to the cache, and a reader's images go with
// their last machine.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readerNamespace } from '../../sandbox-server/src/images/gate-rules.ts';
import { MachineGates } from '../../sandbox-server/src/images/machine-gates.ts';

const root = mkdtempSync(join(tmpdir(), 'gates-test-'));
const storage = join(root, 'readers');
const repositories = join(storage, 'docker/registry/v2/repositories');
const QUOTA = 1024 * 1024;

interface Seen {
  method: string;
  url: string;
  bytes: number;
}

/** A stand-in registry: records what reaches it; answers 404 to the paths in `missing`, else 200 (202 to uploads). */
function fakeRegistry(name: string, missing: RegExp = /^$/): { socket: string; seen: Seen[]; server: http.Server } {
  const socket = join(root, `${name}.sock`);
  const seen: Seen[] = [];
  const server = http.createServer((request, response) => {
    let bytes = 0;
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    request.on('end', () => {
      seen.push({ method: request.method!, url: request.url!, bytes });
      if (missing.test(request.url!)) {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
        return;
      }
      response.writeHead(request.method === 'PATCH' ? 202 : 200, { 'x-from': name }).end(name);
    });
    request.on('aborted', () => seen.push({ method: request.method!, url: request.url!, bytes: -bytes }));
  });
  server.listen(socket);
  return { socket, seen, server };
}

const shared = fakeRegistry('shared', /\/manifests\/absent$/);
const cache = fakeRegistry('cache');
const readers = fakeRegistry('readers');
const gates = new MachineGates(join(root, 'gates'), {
  shared: shared.socket,
  readers: readers.socket,
  cache: cache.socket,
  readersStorageDir: storage,
  quotaBytes: QUOTA,
});

/** A request as machine `machine`'s forwarder would send it, on that machine's socket. */
function ask(machine: string, method: string, path: string, body?: Buffer): Promise<{ status: number; text: string; from?: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ socketPath: join(gates.machineDir(machine), 'gate.sock'), method, path, headers: { host: 'localhost:5000' } }, (answer) => {
      let text = '';
      answer.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      answer.on('end', () => resolve({ status: answer.statusCode!, text, from: answer.headers['x-from'] as string | undefined }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

beforeAll(async () => {
  await gates.open({ id: 'alice-1', reader: 'alice' });
  await gates.open({ id: 'bob-1', reader: 'bob' });
});

afterEach(() => {
  for (const registry of [shared, cache, readers]) registry.seen.length = 0;
});

afterAll(async () => {
  await gates.closeAll();
  await Promise.all([shared, cache, readers].map(({ server }) => new Promise((resolve) => server.close(resolve))));
  rmSync(root, { recursive: true, force: true });
});

const alice = readerNamespace('alice');
const bob = readerNamespace('bob');

describe('machine gates', () => {
  it('give each machine a socket of its own, in a directory of its own', () => {
    expect(existsSync(join(gates.machineDir('alice-1'), 'gate.sock'))).toBe(true);
    expect(gates.machineDir('alice-1')).not.toBe(gates.machineDir('bob-1'));
  });

  it('know whose a request is from the socket it came in on', async () => {
    expect(await ask('alice-1', 'GET', `/v2/${alice}/app/manifests/1`)).toMatchObject({ status: 200, from: 'readers' });
    const refused = await ask('bob-1', 'GET', `/v2/${alice}/app/manifests/1`);
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.text)).toEqual({
      errors: [
        {
          code: 'DENIED',
          message: `cet espace du dépôt de la classe est celui d'un autre lecteur : vous n'y lisez ni n'y écrivez rien ; le vôtre est localhost:5000/${bob}/… (la variable $DEPOT le contient)`,
        },
      ],
    });
    expect(readers.seen).toEqual([{ method: 'GET', url: `/v2/${alice}/app/manifests/1`, bytes: 0 }]);
  });

  it("pull the class's images first, and what they lack from the cache", async () => {
    expect(await ask('bob-1', 'GET', '/v2/library/busybox/manifests/latest')).toMatchObject({ status: 200, from: 'shared' });
    expect(await ask('bob-1', 'GET', '/v2/library/nginx/manifests/absent')).toMatchObject({ status: 200, from: 'cache' });
    expect(cache.seen.map((seen) => seen.url)).toEqual(['/v2/library/nginx/manifests/absent']);
  });

  it("strip a blob mount from another reader's namespace", async () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    await ask('alice-1', 'POST', `/v2/${alice}/app/blobs/uploads/?mount=${digest}&from=${bob}/x`);
    await ask('alice-1', 'POST', `/v2/${alice}/app/blobs/uploads/?mount=${digest}&from=${alice}/y`);
    expect(readers.seen.map((seen) => seen.url)).toEqual([
      `/v2/${alice}/app/blobs/uploads/`,
      `/v2/${alice}/app/blobs/uploads/?mount=${digest}&from=${alice}/y`,
    ]);
  });

  it('cut a write off at the quota, say so in French, and drop the cut-off upload', async () => {
    const upload = join(repositories, alice, 'app', '_uploads', 'u-1');
    mkdirSync(upload, { recursive: true });
    writeFileSync(join(upload, 'data'), Buffer.alloc(1000));
    const refused = await ask('alice-1', 'PATCH', `/v2/${alice}/app/blobs/uploads/u-1`, Buffer.alloc(QUOTA + 1));
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.text).errors[0].message).toMatch(
      new RegExp(`^votre espace du dépôt de la classe est plein \\(1 Mio au plus pour localhost:5000/${alice}/…\\) : l'image n'a pas été envoyée`),
    );
    // Whatever reached the registry was less than the whole body, and the upload's files are gone.
    expect(readers.seen.every((seen) => Math.abs(seen.bytes) <= QUOTA)).toBe(true);
    await expect.poll(() => existsSync(upload)).toBe(false);
    // Within the quota, writes go through; another reader's quota is its own.
    expect(await ask('alice-1', 'PATCH', `/v2/${alice}/app/blobs/uploads/u-2`, Buffer.alloc(1000))).toMatchObject({ status: 202 });
    expect(await ask('bob-1', 'PATCH', `/v2/${bob}/app/blobs/uploads/u-3`, Buffer.alloc(QUOTA - 10))).toMatchObject({ status: 202 });
  });

  it("remove a reader's images with their last machine, not before", async () => {
    await gates.open({ id: 'alice-2', reader: 'alice' });
    mkdirSync(join(repositories, alice, 'app', '_manifests'), { recursive: true });
    mkdirSync(join(repositories, bob, 'app', '_manifests'), { recursive: true });
    await gates.close('alice-1', { destroyed: true });
    expect(existsSync(gates.machineDir('alice-1'))).toBe(false);
    expect(existsSync(join(repositories, alice))).toBe(true);
    // A server that stops keeps the machine's directory (it is bound in the running machine) and the images.
    await gates.close('alice-2', { destroyed: false });
    expect(existsSync(gates.machineDir('alice-2'))).toBe(true);
    expect(existsSync(join(repositories, alice))).toBe(true);
    await gates.open({ id: 'alice-2', reader: 'alice' });
    expect(await ask('alice-2', 'GET', `/v2/${alice}/app/manifests/1`)).toMatchObject({ status: 200, from: 'readers' });
    await gates.close('alice-2', { destroyed: true });
    expect(existsSync(join(repositories, alice))).toBe(false);
    expect(existsSync(join(repositories, bob))).toBe(true);
  });

  it("remove the images of a dead server's leftover machine, told whose it was", async () => {
    const ghost = readerNamespace('ghost');
    mkdirSync(join(repositories, ghost, 'app', '_manifests'), { recursive: true });
    mkdirSync(gates.machineDir('ghost-1'), { recursive: true });
    await gates.close('ghost-1', { destroyed: true, reader: 'ghost' });
    expect(existsSync(join(repositories, ghost))).toBe(false);
    expect(existsSync(gates.machineDir('ghost-1'))).toBe(false);
    // A live reader's are not touched by a leftover of theirs.
    await gates.close('bob-0', { destroyed: true, reader: 'bob' });
    expect(existsSync(join(repositories, bob))).toBe(true);
  });
});
