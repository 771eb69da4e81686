// The real Docker daemon, so that `pidof dockerd` and /proc/$(pidof dockerd)/ns
// show what the lesson talks about. Its options (no iptables, no bridge, no IP
// forwarding: a sandbox has no network to share) live in the root
// filesystem's /etc/docker/daemon.json. Started in the background: the first
// prompt never waits for it.
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import type { Log } from './log.ts';

const LOG_FILE = '/var/log/dockerd.log';

export function startDocker(log: Log): void {
  const output = openSync(LOG_FILE, 'a');
  const started = Date.now();
  const daemon = spawn('dockerd', [], {
    stdio: ['ignore', output, output],
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  closeSync(output);
  daemon.once('spawn', () => log('info', 'dockerd started', { pid: daemon.pid }));
  daemon.once('error', (error) => log('error', 'dockerd could not start', { error: error.message }));
  daemon.once('exit', (code, signal) =>
    log('warn', `dockerd exited; see ${LOG_FILE} inside the sandbox`, { code, signal, uptimeMs: Date.now() - started }),
  );
}
