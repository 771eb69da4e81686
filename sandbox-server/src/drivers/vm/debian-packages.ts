// The Debian packages the VM driver needs, through the host's own apt (the
// only package source this kind of machine reaches):
// - qemu-system-x86 is installed on the host, on demand (the default
//   namespace driver does not need it, so scripts/install.sh leaves it out);
// - the guest's kernel and busybox are only downloaded and unpacked
//   (`apt-get download` + `dpkg -x`) while the guest's boot files are built:
//   the host never runs them.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { PrepareProgress } from '../driver.ts';
import { commandExists, runCommand } from './run-command.ts';

const APT_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', DEBIAN_FRONTEND: 'noninteractive' };

export interface DebianPackage {
  name: string;
  version: string;
}

/** The exact package and version apt would install for `name`, following a metapackage to its first dependency of `followPrefix`. */
export async function candidate(name: string, followPrefix?: string): Promise<DebianPackage> {
  let target = name;
  if (followPrefix) {
    const depends = await aptCache(['depends', name]);
    const match = new RegExp(`Depends: (${followPrefix}\\S*)`).exec(depends);
    if (!match?.[1]) throw new Error(`apt knows ${name} but not the ${followPrefix}* package it depends on`);
    target = match[1];
  }
  const policy = await aptCache(['policy', target]);
  const version = /Candidate:\s*(\S+)/.exec(policy)?.[1];
  if (!version || version === '(none)') {
    throw new Error(`apt has no candidate version of ${target}: check the host's apt sources (/etc/apt/sources.list.d) and run apt-get update`);
  }
  return { name: target, version };
}

/** apt-cache, after one `apt-get update` when it knows nothing yet (fresh machine, empty lists). */
async function aptCache(args: string[]): Promise<string> {
  const output = await runCommand('apt-cache', args, { env: APT_ENV }).catch(() => '');
  if (output.trim() && !/Candidate:\s*\(none\)/.test(output)) return output;
  await runCommand('apt-get', ['update', '-qq'], { env: APT_ENV });
  return runCommand('apt-cache', args, { env: APT_ENV });
}

/** Downloads `pkg` into `downloadDir` and unpacks it into `unpackDir` (made anew); returns `unpackDir`. */
export async function downloadAndUnpack(pkg: DebianPackage, downloadDir: string, unpackDir: string): Promise<string> {
  await mkdir(downloadDir, { recursive: true });
  // Root downloads directly: the _apt user could not write into a root-only directory.
  await runCommand('apt-get', ['download', '-q', '-o', 'APT::Sandbox::User=root', `${pkg.name}=${pkg.version}`], { cwd: downloadDir, env: APT_ENV });
  // apt escapes the epoch's colon in file names ("1%3a1.35.0-4").
  const prefix = `${pkg.name}_${pkg.version.replace(':', '%3a')}_`;
  const deb = (await readdir(downloadDir)).find((file) => file.startsWith(prefix) && file.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${pkg.name}=${pkg.version} succeeded but left no ${prefix}*.deb in ${downloadDir}`);
  await rm(unpackDir, { recursive: true, force: true });
  await mkdir(unpackDir, { recursive: true });
  await runCommand('dpkg-deb', ['-x', join(downloadDir, deb), unpackDir]);
  return unpackDir;
}

/** Installs the Debian packages missing for `commands` (command → package), or says how to. */
export async function ensureHostCommands(commands: Record<string, string>, options: { install: boolean; progress: PrepareProgress }): Promise<void> {
  const missing: string[] = [];
  for (const [command, pkg] of Object.entries(commands)) {
    if (!(await commandExists(command)) && !missing.includes(pkg)) missing.push(pkg);
  }
  if (missing.length === 0) return;
  if (!options.install) {
    throw new Error(`missing ${missing.join(', ')}: install with apt-get install --no-install-recommends ${missing.join(' ')}`);
  }
  if (process.getuid?.() !== 0) {
    throw new Error(`missing ${missing.join(', ')} and not root to install it: run apt-get install --no-install-recommends ${missing.join(' ')} as root`);
  }
  options.progress('packages', `installing ${missing.join(', ')} with apt-get (once)`);
  const install = () => runCommand('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env: APT_ENV });
  await install().catch(async () => {
    await runCommand('apt-get', ['update', '-qq'], { env: APT_ENV });
    await install();
  });
  for (const [command, pkg] of Object.entries(commands)) {
    if (!(await commandExists(command))) throw new Error(`${pkg} is installed but ${command} is still not on PATH`);
  }
}
