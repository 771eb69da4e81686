// Removing a cgroup directory, shared by the drivers that make cgroups.
import { rmdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Removes an empty cgroup. Right after its last task died the kernel may still
 * hold the group for a moment (EBUSY), so this retries for up to ≈ 2 s; a group
 * already gone is fine.
 */
export async function removeCgroupDir(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 100) throw new Error(`cannot remove cgroup ${dir}: ${(error as Error).message}`);
      await sleep(20);
    }
  }
}
