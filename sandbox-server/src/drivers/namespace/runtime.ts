// The OCI runtime (crun), always started through sandbox-launch: from a
// private mount namespace where the cgroup2 tree beside the v1 hierarchies is
// unmounted (crun 1.8 refuses such "hybrid" hosts), and, for `run`, where the
// sandbox's root filesystem is mounted (see native/sandbox-launch.c).
import { execFile, spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { promisify } from 'node:util';

export interface RuntimeOptions {
  crun: string;
  launchPath: string;
  /** crun's state directory (--root). */
  stateDir: string;
  /** Mount points to detach before crun runs (the hybrid cgroup2 tree). */
  unmounts: string[];
}

export interface RootfsLayout {
  /** The shared, read-only root filesystem on the host. */
  lower: string;
  uidBase: number;
  idCount: number;
  /** Size of the sandbox's writable layer (tmpfs), in bytes. */
  layerBytes: number;
  /** An ext4 image to mount at the layer's docker/ (sandbox-launch --docker-disk). */
  dockerDisk?: string;
  /**
   * Where sandbox-launch binds the machine's user namespace, made as host uid
   * uidBase (its owner) rather than by crun as host root; config.json joins it
   * there (oci-config.ts: userNamespacePath).
   */
  userNamespace: string;
}

export interface RunningContainer {
  /**
   * The sandbox's init and agent inherit crun's stdout and stderr: these
   * streams carry what they print and end when the last of them exits.
   */
  output: Readable;
}

export class RuntimeError extends Error {
  override name = 'RuntimeError';
}

export class Runtime {
  #options: RuntimeOptions;

  constructor(options: RuntimeOptions) {
    this.#options = options;
  }

  #launchArgs(extra: string[], crunArgs: string[]): string[] {
    return [
      ...this.#options.unmounts.flatMap((path) => ['--unmount', path]),
      ...extra,
      '--',
      this.#options.crun,
      '--root',
      this.#options.stateDir,
      ...crunArgs,
    ];
  }

  /** `crun run --detach`: resolves once the sandbox's init runs. */
  run(id: string, bundle: string, rootfs: RootfsLayout): Promise<RunningContainer> {
    const args = this.#launchArgs(
      [
        '--lower',
        rootfs.lower,
        '--bundle',
        bundle,
        '--uid-base',
        String(rootfs.uidBase),
        '--id-count',
        String(rootfs.idCount),
        '--layer-size',
        String(rootfs.layerBytes),
        ...(rootfs.dockerDisk ? ['--docker-disk', rootfs.dockerDisk] : []),
        '--user-namespace',
        rootfs.userNamespace,
      ],
      ['run', '--detach', '--bundle', bundle, id],
    );
    return new Promise((resolve, reject) => {
      const child = spawn(this.#options.launchPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      // What crun and the sandbox say before crun returns; root inside may already write there: bounded.
      const early: Buffer[] = [];
      let earlyBytes = 0;
      const collect = (chunk: Buffer) => {
        if (earlyBytes < 64 * 1024) early.push(chunk.subarray(0, 64 * 1024 - earlyBytes));
        earlyBytes += chunk.length;
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.once('error', (error) => reject(new RuntimeError(`cannot start ${this.#options.launchPath}: ${error.message}`)));
      child.once('exit', (code, signal) => {
        child.stdout.off('data', collect);
        child.stderr.off('data', collect);
        if (code === 0) {
          resolve({ output: mergeStreams(child.stdout, child.stderr, Buffer.concat(early)) });
          return;
        }
        child.stdout.destroy();
        child.stderr.destroy();
        const message = Buffer.concat(early).toString('utf8').trim();
        reject(new RuntimeError(`crun run ${id} failed (${signal ?? `exit ${code}`}): ${message || 'no message'}`));
      });
    });
  }

  async kill(id: string, signal = 'KILL'): Promise<void> {
    await this.#crun(['kill', '--all', id, signal]);
  }

  async delete(id: string): Promise<void> {
    await this.#crun(['delete', '--force', id]);
  }

  /** The host pid of a running container's init. */
  async pid(id: string): Promise<number> {
    const { stdout } = await this.#crun(['state', id]);
    const pid = (JSON.parse(stdout) as { pid?: unknown }).pid;
    if (typeof pid !== 'number' || !(pid > 0)) throw new RuntimeError(`crun state ${id} gave no pid`);
    return pid;
  }

  /** Containers crun knows in our state directory. */
  async list(): Promise<{ id: string; pid: number; status: string }[]> {
    const { stdout } = await this.#crun(['list', '--format=json']);
    const entries = JSON.parse(stdout || '[]') as { id: string; pid: number; status: string }[];
    return entries.map(({ id, pid, status }) => ({ id, pid, status }));
  }

  async #crun(crunArgs: string[]): Promise<{ stdout: string; stderr: string }> {
    try {
      return await promisify(execFile)(this.#options.launchPath, this.#launchArgs([], crunArgs));
    } catch (error) {
      const stderr = ((error as { stderr?: string }).stderr ?? '').trim();
      throw new RuntimeError(`crun ${crunArgs.join(' ')} failed: ${stderr || (error as Error).message}`);
    }
  }
}

/** One readable of both pipes, starting with what was already read; ends when both end. */
function mergeStreams(stdout: Readable, stderr: Readable, already: Buffer): Readable {
  const merged = new PassThrough();
  if (already.length > 0) merged.write(already);
  let open = 2;
  for (const stream of [stdout, stderr]) {
    stream.pipe(merged, { end: false });
    stream.once('close', () => {
      if (--open === 0) merged.end();
    });
  }
  return merged;
}
