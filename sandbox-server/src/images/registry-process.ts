// One process of Debian's docker-registry (the CNCF distribution server, 2.8)
// over one storage directory: the long-lived read-only one of the class's
// images, and a short-lived writable one on the host's loopback that
// `npm run images` pushes into, both over the class's storage (what one
// writes, the other serves at once: no blob cache is configured); the
// readers' writable one over their own storage; and, on a host with
// internet, a pull-through cache of an upstream registry over a third.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { registryOwnerEnv } from './registry-owner.ts';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';
const SETPRIV = '/usr/bin/setpriv';

export type RegistryListen = { unixSocket: string } | { tcpPort: number };

export interface RegistryProcessOptions {
  storageDir: string;
  /** Where its configuration file goes (a root-only directory). */
  configDir: string;
  listen: RegistryListen;
  readOnly: boolean;
  name: string;
  /** A pull-through cache of this registry (distribution's proxy mode): what it serves, it fetches there once and keeps. */
  proxyRemoteUrl?: string | undefined;
}

/** distribution's YAML, written by hand: every value is ours, nothing to escape but paths (quoted). */
export function registryConfig(options: RegistryProcessOptions): string {
  const addr = 'unixSocket' in options.listen ? options.listen.unixSocket : `127.0.0.1:${options.listen.tcpPort}`;
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  formatter: json',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(options.storageDir)}`,
    '  delete:',
    `    enabled: ${!options.readOnly}`,
    // Read-only: refuses every write, and purges nothing (the writable one does, on its own schedule).
    ...(options.readOnly ? ['  maintenance:', '    uploadpurging:', '      enabled: false', '    readonly:', '      enabled: true'] : []),
    ...(options.proxyRemoteUrl ? ['proxy:', `  remoteurl: ${JSON.stringify(options.proxyRemoteUrl)}`] : []),
    'http:',
    `  net: ${'unixSocket' in options.listen ? 'unix' : 'tcp'}`,
    `  addr: ${JSON.stringify(addr)}`,
    '  headers:',
    '    X-Content-Type-Options: [nosniff]',
    '',
  ].join('\n');
}

export class RegistryProcess {
  readonly options: RegistryProcessOptions;
  #child: ChildProcess | undefined;
  #output: string[] = [];

  constructor(options: RegistryProcessOptions) {
    this.options = options;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async start(timeoutMs = 15_000): Promise<void> {
    if (!existsSync(REGISTRY_BINARY)) {
      throw new Error(`${REGISTRY_BINARY} is missing: apt-get install --no-install-recommends docker-registry (scripts/install.sh does it)`);
    }
    await mkdir(this.options.storageDir, { recursive: true, mode: 0o755 });
    await mkdir(this.options.configDir, { recursive: true, mode: 0o700 });
    const configPath = join(this.options.configDir, `${this.options.name}.yml`);
    await writeFile(configPath, registryConfig(this.options), { mode: 0o600 });
    if ('unixSocket' in this.options.listen) await rm(this.options.listen.unixSocket, { force: true });
    // Its owner written into it (registry-owner.ts), and told to end with it: Node has no
    // PR_SET_PDEATHSIG of its own, util-linux's setpriv sets it and execs the registry in place
    // (same process, no wrapper left). A registry whose owner died before that, or without
    // setpriv, is stopped by the next server start or `npm run sandbox:cleanup`.
    const [command, args] = existsSync(SETPRIV)
      ? [SETPRIV, ['--pdeathsig', 'SIGTERM', '--', REGISTRY_BINARY, 'serve', configPath]]
      : [REGISTRY_BINARY, ['serve', configPath]];
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...registryOwnerEnv() } });
    this.#child = child;
    const keep = (chunk: Buffer) => {
      this.#output.push(chunk.toString('utf8'));
      if (this.#output.length > 40) this.#output.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) =>
        reject(new Error(`docker-registry exited at start (${signal ?? `exit ${code}`}): ${this.#output.join('').trim().slice(-800)}`)),
      ),
    );
    exited.catch(() => {});
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await this.#answers()) return;
      if (child.exitCode !== null || child.signalCode !== null) await exited;
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`docker-registry did not answer within ${timeoutMs} ms: ${this.#output.join('').trim().slice(-800)}`);
      }
      await Promise.race([sleep(50), exited]);
    }
  }

  #answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = 'unixSocket' in this.options.listen ? net.connect(this.options.listen.unixSocket) : net.connect(this.options.listen.tcpPort, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    }
    if ('unixSocket' in this.options.listen) await rm(this.options.listen.unixSocket, { force: true });
  }
}

/** A free TCP port on the host's loopback (for the short-lived writable registry). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}
