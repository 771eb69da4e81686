// Host directories a machine could write into, made so that its limits apply
// and removed whatever it left there.
//
// A machine's root can make any tree in a directory it may write, including
// one deeper than PATH_MAX, where fs.rm gives up with ENAMETOOLONG (and the
// server then refused to start). So:
// - the agent's socket directory is a tiny tmpfs of its own (a few pages, a
//   few inodes), mounted by the host: writing there fills it, not the host;
// - removal first detaches every mount below the directory (the tmpfs goes
//   at once, whatever it holds), then leaves the rest to GNU `rm -rf
//   --one-file-system`, which walks with directory descriptors (openat,
//   unlinkat) and so reaches any depth, and never crosses into a mount.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The socket directory's tmpfs: room for the socket and a little more, never the host's disk. */
export const RUN_DIR_TMPFS = { sizeBytes: 64 * 1024, inodes: 16 } as const;

/** Mounts a tmpfs of RUN_DIR_TMPFS's size on `dir`, owned by `uid` (the machine's root), mode 0700, where the host follows no symlink. */
export async function mountSmallTmpfs(dir: string, uid: number): Promise<void> {
  const options = [
    `size=${RUN_DIR_TMPFS.sizeBytes}`,
    `nr_inodes=${RUN_DIR_TMPFS.inodes}`,
    'mode=0700',
    `uid=${uid}`,
    `gid=${uid}`,
    'nosuid',
    'nodev',
    'noexec',
    // The host connects to the agent's socket by its path in here: a symlink
    // root inside put in its place must not lead the host elsewhere.
    'nosymfollow',
  ].join(',');
  await run('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
}

/** Mount points at or below `root` in this process's mount namespace, deepest first. */
export async function mountsUnder(root: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const found: string[] = [];
  for (const line of text.split('\n')) {
    const mountPoint = unescapeMountPath(line.split(' ')[4] ?? '');
    if (mountPoint === root || mountPoint.startsWith(`${root}/`)) found.push(mountPoint);
  }
  return found.sort((a, b) => b.length - a.length);
}

/**
 * Removes `root` and everything under it, however deep, mounts included
 * (detached, not entered). Throws with what stayed, if anything did.
 */
export async function removeHostTree(root: string): Promise<void> {
  const problems: string[] = [];
  for (const mountPoint of await mountsUnder(root)) {
    await run('umount', ['--lazy', mountPoint]).catch((error: Error) => problems.push(`umount ${mountPoint}: ${stderrOf(error)}`));
  }
  try {
    await run('rm', ['-rf', '--one-file-system', '--', root]);
  } catch (error) {
    problems.push(`rm -rf ${root}: ${stderrOf(error as Error)}`);
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
}

function stderrOf(error: Error): string {
  const stderr = (error as { stderr?: string }).stderr?.trim();
  return (stderr || error.message).slice(0, 500);
}

/** mountinfo writes spaces, tabs, newlines and backslashes in octal (\040…). */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}
