// Debian's i386 packages for the browser machine, through the host's own apt
// sources but with a private apt state (lists, cache, an empty dpkg status)
// whose only architecture is i386. The host's dpkg is never touched: no
// `dpkg --add-architecture`, nothing to remove afterwards, and no apt lock
// shared with anyone else using apt on this machine at the same time.
import { execFile } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DebianPackage {
  name: string;
  version: string;
}

export class AptI386 {
  private readonly dir: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(dir: string) {
    this.dir = dir;
    this.env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', DEBIAN_FRONTEND: 'noninteractive', APT_CONFIG: join(dir, 'apt.conf') };
  }

  /** Writes the private configuration and reads the i386 package lists from the host's sources. */
  async update(): Promise<void> {
    for (const sub of ['lists/partial', 'cache/archives/partial']) await mkdir(join(this.dir, sub), { recursive: true });
    await writeFile(join(this.dir, 'status'), '');
    await writeFile(
      join(this.dir, 'apt.conf'),
      [
        'APT::Architecture "i386";',
        'APT::Architectures { "i386"; };',
        `Dir::State "${this.dir}";`,
        `Dir::State::Lists "${join(this.dir, 'lists')}";`,
        `Dir::State::status "${join(this.dir, 'status')}";`,
        `Dir::Cache "${join(this.dir, 'cache')}";`,
        // Private lists and cache: nobody else takes these locks.
        'Debug::NoLocking "true";',
        // Root downloads directly: the _apt user could not write into a root-only directory.
        'APT::Sandbox::User "root";',
        '',
      ].join('\n'),
    );
    try {
      await run('apt-get', ['update', '-qq'], { env: this.env, maxBuffer: 16 << 20 });
    } catch (error) {
      // One failed index (a security suite caught mid-sync) is not fatal as long as the main suite was read.
      const lists = await readdir(join(this.dir, 'lists')).catch(() => [] as string[]);
      if (!lists.some((name) => /_main_binary-i386_Packages/.test(name))) {
        throw new Error(`apt-get update found no i386 package list in the host's apt sources (/etc/apt/sources.list.d): ${(error as Error).message}`);
      }
    }
  }

  /** The version apt would pick for `name`; a metapackage is followed to its first dependency starting with `followPrefix`. */
  async candidate(name: string, followPrefix?: string): Promise<DebianPackage> {
    let target = name;
    if (followPrefix !== undefined) {
      const { stdout } = await run('apt-cache', ['depends', name], { env: this.env });
      const match = new RegExp(`Depends: (${followPrefix}\\S*)`).exec(stdout);
      if (!match?.[1]) throw new Error(`apt knows ${name} but not the ${followPrefix}* package it depends on`);
      target = match[1];
    }
    const { stdout } = await run('apt-cache', ['policy', target], { env: this.env });
    const version = /Candidate:\s*(\S+)/.exec(stdout)?.[1];
    if (!version || version === '(none)') throw new Error(`apt has no i386 candidate of ${target}: check the host's apt sources`);
    return { name: target, version };
  }

  /**
   * `roots` and everything they depend on (pre-depends and depends, no
   * recommends), minus `skip`: apt-cache lists every branch of an "a | b"
   * alternative, and packaging tools (dpkg, debconf, perl) have no use in a
   * system that is unpacked once and never administered with apt.
   */
  async closure(roots: readonly string[], skip: ReadonlySet<string>): Promise<DebianPackage[]> {
    const { stdout } = await run(
      'apt-cache',
      ['depends', '--recurse', '--no-recommends', '--no-suggests', '--no-conflicts', '--no-breaks', '--no-replaces', '--no-enhances', ...roots],
      { env: this.env, maxBuffer: 16 << 20 },
    );
    const names = [
      ...new Set(
        stdout
          .split('\n')
          .filter((line) => /^[a-z0-9]/.test(line))
          .map((line) => line.trim().replace(/:i386$/, '')),
      ),
    ]
      .filter((name) => !skip.has(name))
      .sort();
    // One apt-cache call for all of them (one per package takes a minute on a busy host).
    const { stdout: policy } = await run('apt-cache', ['policy', ...names], { env: this.env, maxBuffer: 16 << 20 });
    const versions = new Map<string, string>();
    let current: string | undefined;
    for (const line of policy.split('\n')) {
      const head = /^(\S+):$/.exec(line);
      if (head?.[1] !== undefined) current = head[1].replace(/:i386$/, '');
      const candidate = /^\s+Candidate:\s*(\S+)/.exec(line)?.[1];
      if (current !== undefined && candidate !== undefined && candidate !== '(none)') versions.set(current, candidate);
    }
    return names.map((name) => {
      const version = versions.get(name);
      if (version === undefined) throw new Error(`apt has no i386 candidate of ${name} (needed by ${roots.join(', ')}): check the host's apt sources`);
      return { name, version };
    });
  }

  /** Downloads `pkg` (once; kept in the private cache) and returns the .deb's path. */
  async download(pkg: DebianPackage): Promise<string> {
    const dir = join(this.dir, 'debs');
    await mkdir(dir, { recursive: true });
    // apt escapes the epoch's colon in file names ("1%3a1.35.0-4"); arch-independent packages end in _all.
    const prefix = `${pkg.name}_${pkg.version.replace(':', '%3a')}_`;
    const find = async () => (await readdir(dir)).find((name) => name.startsWith(prefix) && name.endsWith('.deb'));
    let deb = await find();
    if (deb === undefined) {
      await run('apt-get', ['download', '-q', `${pkg.name}=${pkg.version}`], { cwd: dir, env: this.env });
      deb = await find();
    }
    if (deb === undefined) throw new Error(`apt-get download ${pkg.name}=${pkg.version} left no ${prefix}*.deb in ${dir}`);
    return join(dir, deb);
  }

  /** Unpacks a .deb into `root` (dpkg-deb -x: files only, no maintainer scripts). */
  static async unpack(deb: string, root: string): Promise<void> {
    await mkdir(root, { recursive: true });
    await run('dpkg-deb', ['-x', deb, root]);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
