// A login shell for the course's user, as the command line the terminal
// keeper runs on a fresh pty (allocated inside the sandbox, so that `tty`,
// `stty size` and `ps` tell the truth).
import { readFileSync } from 'node:fs';
import type { ShellCommand } from './keeper-link.ts';

export interface LoginShellOptions {
  user: string;
  /** cgroup.procs files the shell joins before it starts (see terminal-groups.ts). */
  groupProcsFiles: string[];
}

// Runs as root, then becomes the user. In order: join the terminal's cgroups
// (so everything the shell starts is counted there from its first fork), make
// the shell and its children the first candidates for the OOM killer rather
// than the agent or dockerd, then drop to the user with its own groups and a
// clean environment, as login(1) would (setpriv, from util-linux, also sets
// the supplementary groups).
const START_SCRIPT = `
for file do
  [ "$file" = -- ] && break
  echo $$ > "$file" || echo "sandbox: could not join $file" >&2
  shift
done
shift
echo 500 > /proc/self/oom_score_adj 2>/dev/null
exec "$@"`;

export function loginShellCommand(options: LoginShellOptions): ShellCommand {
  return {
    argv: [
      '/bin/sh',
      '-c',
      START_SCRIPT,
      'sandbox-shell',
      ...options.groupProcsFiles,
      '--',
      'setpriv',
      `--reuid=${options.user}`,
      `--regid=${options.user}`,
      '--init-groups',
      '--reset-env',
      '/bin/bash',
      '--login',
    ],
    cwd: homeOf(options.user),
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', TERM: 'xterm-256color', LANG: 'C.UTF-8' },
  };
}

function homeOf(user: string): string {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const fields = line.split(':');
    if (fields[0] === user && fields[5]) return fields[5];
  }
  throw new Error(`user ${user} is not in /etc/passwd: the root filesystem is not the course's`);
}
