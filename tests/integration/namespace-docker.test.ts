// Docker in a namespace machine, as the course uses it: the student (member
// of `docker`, no sudo) runs, builds, networks, publishes, mounts, composes
// and swarms, offline, with images from the class store; pushes to their own
// namespace of the class registry and to no one else's; pulls through the
// store's cache of an upstream registry (a second registry on loopback here);
// and none of it opens a way out of the machine.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamespaceSandbox } from '../../sandbox-server/src/drivers/namespace/index.ts';
import { DEFAULT_LIMITS, createNamespaceDriver } from '../../sandbox-server/src/drivers/namespace/index.ts';
import { readerNamespace } from '../../sandbox-server/src/images/gate-rules.ts';
import { withWritableRegistry } from '../../sandbox-server/src/images/image-store.ts';
import { RegistryProcess, freeLoopbackPort } from '../../sandbox-server/src/images/registry-process.ts';
import { ImageStoreFixture } from '../support/image-store-fixture.ts';
import { NamespaceFixture, type OpenedTerminal } from '../support/namespace-fixture.ts';

const run = promisify(execFile);
// Small, so that one test fills it with a single 12 MiB layer.
const READER_QUOTA = 8 * 1024 ** 2;
const images = new ImageStoreFixture({ readerQuotaBytes: READER_QUOTA });
// Stands for Docker Hub: a registry on the host's loopback, with an image the class's store lacks.
const upstreamDir = mkdtempSync('/var/tmp/cours-linux-upstream-');
let upstream: RegistryProcess;
const UPSTREAM_IMAGE = 'cours-test/amont:1';
const fixture = new NamespaceFixture({ registry: images.gates });
let machine: NamespaceSandbox;
let term: OpenedTerminal;
/** A second reader's machine (made by the import test, used after it). */
let neighbour: NamespaceSandbox | undefined;
let neighbourTerm: OpenedTerminal | undefined;
/** The main machine once taken over by a second driver (the restart test): destroyed first. */
let adopted: NamespaceSandbox | undefined;
const slow = { timeoutMs: 120_000 };
const cgroupFile = (sandbox: NamespaceSandbox, hierarchy: string, file: string) =>
  readFileSync(`/sys/fs/cgroup/${hierarchy}/${fixture.driver.options.prefix}/${sandbox.id}/${file}`, 'utf8').trim();

/** Runs `command` in the student's terminal and returns its output; fails the test with the output if it fails. */
async function ok(command: string): Promise<string> {
  const result = await term.reader.run(command, slow);
  if (result.exitCode !== 0) throw new Error(`"${command}" exited ${result.exitCode}:\n${result.output}`);
  return result.output.replace(/\r/g, '');
}

beforeAll(async () => {
  await fixture.prepare();
  const port = await freeLoopbackPort();
  upstream = new RegistryProcess({
    name: 'upstream',
    storageDir: join(upstreamDir, 'storage'),
    configDir: upstreamDir,
    listen: { tcpPort: port },
    readOnly: false,
  });
  await upstream.start();
  images.configure({ upstream: `http://127.0.0.1:${port}` });
  await images.start();
  await withWritableRegistry(images.paths, (address) =>
    run('skopeo', [
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://${address}/library/busybox:latest`,
      `docker://127.0.0.1:${port}/${UPSTREAM_IMAGE}`,
    ]),
  );
  machine = await fixture.create('docker', { docker: true });
  term = await fixture.open(machine, '1');
  // dockerd starts in the background: wait until it answers (a safety net, not a speed check).
  await ok('for i in $(seq 300); do docker info >/dev/null 2>&1 && break; sleep 0.2; done; docker info --format "{{.Driver}}"');
}, 600_000);

afterAll(async () => {
  await adopted?.destroy();
  const left = await fixture.destroyAll();
  await upstream?.stop();
  rmSync(upstreamDir, { recursive: true, force: true });
  expect([...left, ...(await images.stop())]).toEqual([]);
}, 120_000);

describe('the student, without sudo', () => {
  it("is in the docker group and talks to the machine's dockerd, storing on its own disk", async () => {
    expect(await ok('id -nG')).toMatch(/\bdocker\b/);
    expect(await ok('docker info --format "{{.Driver}} {{.CgroupDriver}}"')).toMatch(/overlay2 cgroupfs/);
    // /var/lib/docker is the machine's ext4 disk of the configured size, not memory.
    const df = await ok('df -B1 --output=fstype,size /var/lib/docker | tail -1');
    const [, size] = df.trim().split(/\s+/);
    expect(Number(size)).toBeGreaterThan(fixture.driver.options.dockerDiskBytes * 0.9);
    expect(Number(size)).toBeLessThanOrEqual(fixture.driver.options.dockerDiskBytes);
    expect(await ok('findmnt -no FSTYPE /var/lib/docker')).toMatch(/ext4/);
  });

  it('pulls busybox and debian:bookworm-slim from the class store, offline', async () => {
    expect(await ok('docker pull busybox')).toMatch(/Downloaded newer image for busybox:latest|Image is up to date/);
    expect(await ok('docker pull debian:bookworm-slim')).toMatch(/debian:bookworm-slim/);
    expect(await ok('docker run --rm debian:bookworm-slim cat /etc/debian_version')).toMatch(/^12\.\d+/m);
    expect(await ok('docker images --format "{{.Repository}}:{{.Tag}}" | sort')).toMatch(/busybox:latest\s+debian:bookworm-slim/);
  });

  it('runs containers: --rm, -e, --name, -d, -ti; logs, exec, ps, inspect, stats, stop, rm', async () => {
    expect(await ok('docker run --rm -e GREETING=bonjour busybox sh -c \'echo "$GREETING from $(hostname)"\'')).toMatch(/^bonjour from [0-9a-f]{12}$/m);
    await ok("docker run -d --name ticker busybox sh -c 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done'");
    expect(await ok('docker ps --format "{{.Names}} {{.Status}}"')).toMatch(/^ticker Up/m);
    expect(await ok('sleep 1; docker logs ticker | head -2')).toMatch(/tick 0\s+tick 1/);
    expect(await ok('docker exec ticker cat /etc/hostname')).toMatch(/^[0-9a-f]{12}$/m);
    expect(await ok('docker inspect -f "{{.State.Running}} {{.Config.Image}}" ticker')).toMatch(/true busybox/);
    expect(await ok('docker stats --no-stream --format "{{.Name}} {{.PIDs}}" ticker')).toMatch(/^ticker \d+$/m);
    await ok('docker stop -t 1 ticker');
    expect(await ok('docker ps -a --filter name=ticker --format "{{.Status}}"')).toMatch(/Exited/);
    await ok('docker rm ticker');
    expect(await ok('docker ps -a --filter name=ticker --format "{{.Names}}" | wc -l')).toMatch(/^0$/m);
    // -ti: a terminal inside the container, from the reader's own terminal.
    const tty = await term.reader.run('docker run --rm -ti busybox tty', slow);
    expect(tty.output).toMatch(/\/dev\/pts\/\d+/);
  });

  it('builds an image from a Dockerfile and runs it', async () => {
    await ok(
      'mkdir -p ~/app && cd ~/app && printf \'FROM busybox\\nCOPY message.txt /message.txt\\nCMD ["cat", "/message.txt"]\\n\' > Dockerfile && echo "construite ici" > message.txt; cd',
    );
    expect(await ok('docker build -t mon-app ~/app')).toMatch(/Successfully tagged mon-app:latest/);
    expect(await ok('docker run --rm mon-app')).toMatch(/^construite ici$/m);
  });

  it('resolves container names on a user-defined network', async () => {
    await ok('docker network create reseau');
    await ok('mkdir -p ~/www && echo "page du serveur" > ~/www/index.html');
    await ok('docker run -d --name serveur --network reseau -v ~/www:/www:ro busybox httpd -f -p 80 -h /www');
    expect(await ok('docker run --rm --network reseau busybox wget -qO- http://serveur/')).toMatch(/page du serveur/);
    // Off that network, the name means nothing.
    const outside = await term.reader.run('docker run --rm busybox wget -T 3 -qO- http://serveur/ 2>&1', slow);
    expect(outside.exitCode).not.toBe(0);
    await ok('docker rm -f serveur && docker network rm reseau');
  });

  it('publishes a port that the machine reaches on 127.0.0.1', async () => {
    await ok('docker run -d --name web -p 8080:80 -v ~/www:/www:ro busybox httpd -f -p 80 -h /www');
    expect(await ok('for i in $(seq 50); do curl -sf 127.0.0.1:8080 && break; sleep 0.2; done')).toMatch(/page du serveur/);
    await ok('docker rm -f web');
  });

  it('keeps data in a named volume across containers, and shares a bind-mounted folder', async () => {
    await ok('docker volume create donnees');
    await ok('docker run --rm -v donnees:/data busybox sh -c "echo persistant > /data/f"');
    expect(await ok('docker run --rm -v donnees:/data busybox cat /data/f')).toMatch(/^persistant$/m);
    await ok('mkdir -p ~/partage && docker run --rm -v ~/partage:/out busybox sh -c "echo du conteneur > /out/g"');
    expect(await ok('cat ~/partage/g')).toMatch(/^du conteneur$/m);
    await ok('docker volume rm donnees');
  });

  it("runs a two-service application with docker compose (Debian's docker-compose behind the v2 spelling)", async () => {
    expect(await ok('docker compose version')).toMatch(/docker-compose version 1\.29/);
    await ok(
      [
        "mkdir -p ~/pile && cd ~/pile && printf '%s\\n'",
        '"services:" "  web:" "    image: busybox" "    command: httpd -f -p 80 -h /www" "    volumes: [\\"../www:/www:ro\\"]" "    ports: [\\"8081:80\\"]"',
        '"  client:" "    image: busybox" "    command: sh -c \\"sleep 1; wget -qO- http://web/\\"" "    depends_on: [web]"',
        '> docker-compose.yml; cd',
      ].join(' '),
    );
    await ok('cd ~/pile && docker compose up -d; cd');
    expect(await ok('for i in $(seq 50); do curl -sf 127.0.0.1:8081 && break; sleep 0.2; done')).toMatch(/page du serveur/);
    expect(await ok('cd ~/pile && sleep 2 && docker compose logs client; cd')).toMatch(/page du serveur/);
    await ok('cd ~/pile && docker compose down; cd');
    expect(await ok('docker ps -a --format "{{.Names}}" | grep -c pile || true')).toMatch(/^0$/m);
  });

  it('initialises a one-node swarm and runs a service on it', async () => {
    expect(await ok('docker swarm init --advertise-addr 127.0.0.1')).toMatch(/Swarm initialized/);
    await ok('docker service create --detach=false --name veilleur --replicas 2 busybox sleep 600');
    expect(await ok('docker service ls --format "{{.Name}} {{.Replicas}}"')).toMatch(/^veilleur 2\/2$/m);
    await ok('docker service rm veilleur && docker swarm leave --force');
  });
});

describe('images imported by the instructor', () => {
  it('runs in a machine created after `npm run images -- import`, and goes with `remove`', async () => {
    const name = `cours-test/importee-${randomBytes(3).toString('hex')}:1`;
    const dir = mkdtempSync('/var/tmp/cours-linux-import-');
    const archive = join(dir, 'image.tar');
    try {
      // A `docker save`-format archive, made from the store's busybox under another name.
      await withWritableRegistry(images.paths, (address) =>
        run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${address}/library/busybox:latest`, `docker-archive:${archive}:${name}`]),
      );
      const imported = await run('node', ['sandbox-server/src/images-cli.ts', 'import', archive]);
      expect(imported.stdout).toContain(`imported: ${name}`);
      expect((await run('node', ['sandbox-server/src/images-cli.ts', 'list'])).stdout).toContain(name);

      const later = await fixture.create('after-import', { docker: true });
      const other = await fixture.open(later, '1');
      neighbour = later;
      neighbourTerm = other;
      await other.reader.run('for i in $(seq 300); do docker info >/dev/null 2>&1 && break; sleep 0.2; done', slow);
      expect((await other.reader.run(`docker run --rm ${name} echo importee-ok`, slow)).output).toMatch(/^importee-ok\r?$/m);

      await run('node', ['sandbox-server/src/images-cli.ts', 'remove', name]);
      expect((await run('node', ['sandbox-server/src/images-cli.ts', 'list'])).stdout).not.toContain(name);
      const gone = await other.reader.run(`docker pull ${name} 2>&1`, slow);
      expect(gone.exitCode).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the class registry, for pushes', () => {
  const ns = () => readerNamespace(machine.id);

  it("takes a push to the reader's own namespace ($DEPOT), and gives it back to the same machine", async () => {
    expect(await ok('echo $DEPOT')).toMatch(new RegExp(`^localhost:5000/${ns()}$`, 'm'));
    // mon-app was built by the test above (FROM busybox, prints "construite ici").
    await ok('docker tag mon-app $DEPOT/mon-app:1');
    expect(await ok('docker push $DEPOT/mon-app:1 2>&1')).toMatch(/1: digest: sha256:[0-9a-f]{64}/);
    expect(await ok('curl -s localhost:5000/v2/$(basename $DEPOT)/mon-app/tags/list')).toMatch(/"tags":\["1"\]/);
    // Gone from the machine, back from the registry.
    await ok('docker rmi $DEPOT/mon-app:1 mon-app');
    expect(await ok('docker run --rm $DEPOT/mon-app:1')).toMatch(/^construite ici$/m);
    // The class's images are untouched: the push went to the readers' storage only.
    expect(existsSync(join(images.paths.readersStorageDir, 'docker/registry/v2/repositories', ns(), 'mon-app'))).toBe(true);
    expect(existsSync(join(images.paths.storageDir, 'docker/registry/v2/repositories', ns()))).toBe(false);
  });

  it("refuses a push beyond the namespace's quota, in French, and leaves the namespace usable", async () => {
    await ok("mkdir -p ~/gros && printf 'FROM busybox\\nRUN head -c 12m /dev/urandom > /gros\\n' > ~/gros/Dockerfile && docker build -q -t $DEPOT/gros ~/gros");
    const push = await term.reader.run('docker push $DEPOT/gros 2>&1', slow);
    expect(push.exitCode).not.toBe(0);
    expect(push.output).toMatch(/denied: votre espace du dépôt de la classe est plein \(8 Mio au plus pour localhost:5000\/lecteur-[0-9a-f]{10}\/…\)/);
    // The cut-off upload is not counted against the reader: a small push still goes through.
    const uploads = join(images.paths.readersStorageDir, 'docker/registry/v2/repositories', ns(), 'gros', '_uploads');
    expect(existsSync(uploads) ? readdirSync(uploads) : []).toEqual([]);
    await ok('docker tag busybox $DEPOT/petit && docker push $DEPOT/petit');
    await ok('docker rmi $DEPOT/gros');
  });

  it("keeps a reader out of another reader's namespace and out of the class's images", async () => {
    if (!neighbour || !neighbourTerm) throw new Error("the import test above makes the second reader's machine");
    const mine = `localhost:5000/${ns()}/mon-app:1`;
    await neighbourTerm.reader.run('docker pull -q busybox', slow);
    const pull = await neighbourTerm.reader.run(`docker pull ${mine} 2>&1`, slow);
    expect(pull.exitCode).not.toBe(0);
    expect(pull.output).toMatch(/denied: cet espace du dépôt de la classe est celui d'un autre lecteur/);
    const push = await neighbourTerm.reader.run(`docker tag busybox ${mine} && docker push ${mine} 2>&1`, slow);
    expect(push.exitCode).not.toBe(0);
    expect(push.output).toMatch(/celui d'un autre lecteur/);
    const shared = await neighbourTerm.reader.run('docker tag busybox localhost:5000/library/busybox && docker push localhost:5000/library/busybox 2>&1', slow);
    expect(shared.output).toMatch(/denied: les images de la classe sont en lecture seule/);
    // Its own namespace is another one, and works.
    expect((await neighbourTerm.reader.run('echo $DEPOT')).output).toContain(readerNamespace(neighbour.id));
    expect((await neighbourTerm.reader.run('docker tag busybox $DEPOT/a-moi && docker push $DEPOT/a-moi >/dev/null && echo pousse', slow)).output).toMatch(
      /^pousse\r?$/m,
    );
    // My image is still mine.
    expect(await ok(`docker pull -q ${mine}`)).toContain(mine);
  });

  it('removes what a reader pushed when their machine goes, and only theirs', async () => {
    if (!neighbour) throw new Error("the import test above makes the second reader's machine");
    const repositories = join(images.paths.readersStorageDir, 'docker/registry/v2/repositories');
    const theirs = readerNamespace(neighbour.id);
    expect(existsSync(join(repositories, theirs, 'a-moi'))).toBe(true);
    await neighbour.destroy();
    expect(existsSync(join(repositories, theirs))).toBe(false);
    expect(existsSync(join(images.paths.gateDir, neighbour.id))).toBe(false);
    expect(existsSync(join(repositories, ns(), 'mon-app'))).toBe(true);
  });
});

describe('the class registry across a server restart', () => {
  it("gives a machine kept across a restart its namespace and its images back, through the next server's socket", async () => {
    const depot = await ok('echo $DEPOT');
    expect(await machine.detach()).toEqual({ kept: true });
    // The old socket is gone; its directory stays, bound in the running machine.
    expect(existsSync(join(images.paths.gateDir, machine.id))).toBe(true);
    expect(existsSync(join(images.paths.gateDir, machine.id, 'gate.sock'))).toBe(false);
    const next = createNamespaceDriver({ registry: images.gates, log: () => {} });
    await next.prepare(() => {});
    adopted = await next.adopt({ id: machine.id, limits: DEFAULT_LIMITS, docker: true });
    machine = adopted;
    term = await fixture.open(machine, '2');
    expect(await ok('echo $DEPOT')).toBe(depot);
    await ok('docker rmi $DEPOT/mon-app:1');
    expect(await ok('docker run --rm $DEPOT/mon-app:1')).toMatch(/^construite ici$/m);
  });
});

describe('the pull-through cache', () => {
  it('fetches from the upstream what the class lacks, once, and serves it again when the upstream is gone', async () => {
    expect(await ok(`docker pull ${UPSTREAM_IMAGE}`)).toMatch(/Downloaded newer image for cours-test\/amont:1/);
    expect(existsSync(join(images.paths.cacheStorageDir, 'docker/registry/v2/repositories/cours-test/amont'))).toBe(true);
    // The class's own images still come first: busybox is the store's, not the upstream's.
    expect(existsSync(join(images.paths.cacheStorageDir, 'docker/registry/v2/repositories/library/busybox'))).toBe(false);
    await upstream.stop();
    await ok(`docker rmi ${UPSTREAM_IMAGE}`);
    expect(await ok(`docker run --rm ${UPSTREAM_IMAGE} echo du-cache`)).toMatch(/^du-cache$/m);
  });
});

describe('what Docker does not open', () => {
  it('the store is read-only for readers: no push, no delete, no catalogue', async () => {
    const push = await term.reader.run(
      'docker pull -q busybox >/dev/null && docker tag busybox 127.0.0.1:5000/moi/app && docker push 127.0.0.1:5000/moi/app 2>&1',
      slow,
    );
    expect(push.exitCode).not.toBe(0);
    expect(push.output).toMatch(
      /denied: les images de la classe sont en lecture seule : poussez vos images dans votre espace, localhost:5000\/lecteur-[0-9a-f]{10}\//,
    );
    expect(await ok('curl -s 127.0.0.1:5000/v2/_catalog')).toMatch(/DENIED/);
    expect(await ok('curl -s -X DELETE 127.0.0.1:5000/v2/library/busybox/manifests/latest')).toMatch(/DENIED/);
    expect(await ok('curl -s 127.0.0.1:5000/v2/library/busybox/tags/list')).toMatch(/DENIED/);
    expect(images.refused).toEqual(expect.arrayContaining([expect.stringMatching(/^POST \/v2\/moi\/app\/blobs\/uploads/), 'GET /v2/_catalog']));
    // The gate's directory is mounted read-only, even for root inside; the storage is not there at all.
    expect((await term.reader.run('sudo touch /.sandbox/registry/x 2>&1')).output).toMatch(/Read-only file system/);
    expect((await term.reader.run(`sudo ls ${images.paths.storageDir} 2>&1`)).output).toMatch(/No such file or directory/);
    expect(existsSync(join(images.paths.gateDir, 'x'))).toBe(false);
  });

  it('a container reaches neither the mirror, nor the host, nor anything beyond the machine', async () => {
    // The mirror listens on the machine's loopback only.
    const mirror = await term.reader.run('docker run --rm busybox wget -T 3 -qO- http://172.17.0.1:5000/v2/ 2>&1', slow);
    expect(mirror.exitCode).not.toBe(0);
    // The machine routes to its containers' networks and nowhere else: no default route.
    expect(await ok('ip route show default | wc -l')).toMatch(/^0$/m);
    // (Whatever a container's own routes, they end at the machine, which routes nowhere: no traffic is sent to prove it.)
  });

  it('a memory hog in a container is OOM-killed inside the machine, which goes on', async () => {
    const agent = (await ok('pidof sandbox-agent')).trim();
    const hog = await term.reader.run('docker run --name glouton busybox sh -c "head -c 900m /dev/zero | tail"', slow);
    expect(hog.exitCode).toBe(137);
    // Killed by the kernel's OOM killer inside the machine, as dockerd saw it.
    expect(await ok('docker inspect -f "{{.State.OOMKilled}}" glouton && docker rm glouton')).toMatch(/^true$/m);
    expect(Number(cgroupFile(machine, 'memory', 'containers/memory.limit_in_bytes'))).toBeLessThan(DEFAULT_LIMITS.memoryBytes);
    expect((await ok('pidof sandbox-agent')).trim()).toBe(agent);
    expect(await ok('docker run --rm busybox echo encore-la')).toMatch(/^encore-la$/m);
  });

  it("a fork bomb in a container stops at the machine's pids limit, and the machine recovers", async () => {
    await ok('docker run -d --name bombe busybox sh -c "b() { b | b & }; b; sleep 1000"');
    // Let it fill the machine; the host never sees more than the limit in that cgroup.
    await term.reader.run('sleep 5', slow);
    expect(Number(cgroupFile(machine, 'pids', 'pids.current'))).toBeLessThanOrEqual(DEFAULT_LIMITS.pids);
    // It sits at the containers' own limit, below the machine's: the shells keep room to stop it.
    expect(Number(cgroupFile(machine, 'pids', 'containers/pids.current'))).toBeLessThanOrEqual(Number(cgroupFile(machine, 'pids', 'containers/pids.max')));
    expect(Number(cgroupFile(machine, 'pids', 'containers/pids.max'))).toBeLessThan(DEFAULT_LIMITS.pids);
    expect((await term.reader.run('echo le-shell-repond', slow)).output).toMatch(/le-shell-repond/);
    // Killing the container ends the bomb (its processes live in the container's cgroup, under the machine's).
    await term.reader.run('until docker rm -f bombe >/dev/null 2>&1; do sleep 1; done', { timeoutMs: 180_000 });
    expect(await ok('docker run --rm busybox echo apres-la-bombe')).toMatch(/^apres-la-bombe$/m);
  });
});
