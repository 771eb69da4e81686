// What a namespace sandbox may leave on the host, looked for the hard way
// (the kernel's tables, not the driver's bookkeeping): processes in its
// cgroups, cgroup directories, mounts, crun containers, state directories and
// uid-range locks. Tests call it after destroying their sandboxes.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LeftoverScope {
  prefix: string;
  stateDir: string;
  /** Where the driver makes the sandboxes' Docker disks (options.dockerDiskDir). */
  dockerDiskDir?: string;
  /** Sandbox ids the test created. */
  ids: string[];
  /** Lab ids the test created: their network namespaces, bridges and veth pairs. */
  labIds?: string[];
}

export function namespaceLeftovers({ prefix, stateDir, dockerDiskDir, ids, labIds = [] }: LeftoverScope): string[] {
  const found: string[] = [];
  const groups = ids.map((id) => `/${prefix}/${id}`);

  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let cgroups = '';
    try {
      cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const group = groups.find((path) => cgroups.includes(`:${path}\n`) || cgroups.includes(`:${path}/`));
    if (group) found.push(`process ${pid} in cgroup ${group}`);
  }

  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    for (const id of ids) {
      const dir = join('/sys/fs/cgroup', hierarchy, prefix, id);
      if (existsSync(dir)) found.push(`cgroup ${dir}`);
    }
  }

  const mountInfo = readFileSync('/proc/self/mountinfo', 'utf8');
  for (const id of ids) {
    if (mountInfo.includes(`/sandboxes/${id}/`)) found.push(`mount of sandbox ${id} in the host's mount table`);
    if (existsSync(join(stateDir, 'sandboxes', id))) found.push(`state directory of sandbox ${id}`);
  }

  const crunRoot = join(stateDir, 'crun');
  if (existsSync(crunRoot)) {
    const containers = JSON.parse(execFileSync('crun', ['--root', crunRoot, 'list', '--format=json'], { encoding: 'utf8' }) || '[]') as { id: string }[];
    for (const { id } of containers) if (ids.some((sandbox) => id === `${prefix}-${sandbox}`)) found.push(`crun container ${id}`);
  }

  if (dockerDiskDir) {
    for (const id of ids) {
      const disk = join(dockerDiskDir, `${id}.ext4`);
      if (existsSync(disk)) found.push(`Docker disk ${disk}`);
      // The kernel's own table of loop devices: one still backed by the (maybe deleted) image is a leak.
      for (const name of existsSync('/sys/block') ? readdirSync('/sys/block') : []) {
        if (!name.startsWith('loop')) continue;
        let backing = '';
        try {
          backing = readFileSync(join('/sys/block', name, 'loop', 'backing_file'), 'utf8').trim();
        } catch {
          continue;
        }
        if (backing.startsWith(disk)) found.push(`loop device /dev/${name} backed by ${backing}`);
      }
      if (mountInfo.includes(disk)) found.push(`mount of ${disk}`);
    }
  }

  // A lab's network namespace, looked for in the kernel's mount table (ip netns binds it) and in /run/netns;
  // its bridge and pairs live only inside it, and no end of a pair is ever in the host's namespace.
  for (const labId of labIds) {
    const netns = `${prefix}-lab-${labId}`;
    if (existsSync(join('/run/netns', netns))) found.push(`lab network namespace /run/netns/${netns}`);
    if (mountInfo.includes(`/netns/${netns} `)) found.push(`mount of lab network namespace ${netns}`);
  }
  const hostLinks = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
  for (const line of hostLinks.split('\n'))
    if (/^\d+: (m\d+|lab0)[@:]/.test(line) && labIds.length > 0) found.push(`link in the host's namespace: ${line.slice(0, 80)}`);

  const locks = join(stateDir, 'uid-ranges');
  if (existsSync(locks)) {
    for (const index of readdirSync(locks)) {
      // A lock names its holder by a file holder-<id> (uid-ranges.ts); an older server's by the content of its file sandbox.
      const holderFile = readdirSync(join(locks, index)).find((entry) => entry.startsWith('holder-'));
      const legacy = existsSync(join(locks, index, 'sandbox')) ? readFileSync(join(locks, index, 'sandbox'), 'utf8') : '';
      const holder = holderFile ? holderFile.slice('holder-'.length) : legacy;
      if (ids.includes(holder)) found.push(`uid range ${index} still held by ${holder}`);
    }
  }
  return found;
}
