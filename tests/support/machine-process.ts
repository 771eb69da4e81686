// A process of a namespace machine, found from the host: the task of the
// machine's pids cgroup with that command name. Tests kill the machine's
// terminal keeper with it to make a machine die for good (the Node agent
// behind the keeper is started again when it dies, so killing that one
// ends nothing: tests/integration/namespace-agent-restart.test.ts).
import { readFileSync } from 'node:fs';
import { resolveOptions } from '../../sandbox-server/src/drivers/namespace/options.ts';

export function machineProcessPid(sandboxId: string, command: string): number {
  const { prefix } = resolveOptions();
  const procs = readFileSync(`/sys/fs/cgroup/pids/${prefix}/${sandboxId}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
  const found = procs.find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === command;
    } catch {
      return false; // gone meanwhile
    }
  });
  if (found === undefined) throw new Error(`no ${command} among the tasks of sandbox ${sandboxId}: ${procs.join(', ')}`);
  return found;
}
