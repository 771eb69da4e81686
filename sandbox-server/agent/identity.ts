// Who the machine says it is: host name, /etc/hosts, and a fresh machine id,
// so that a reset visibly gives a new machine (`cat /etc/machine-id`).
// Written at every start into the sandbox's private writable layer; the
// shared root filesystem underneath is never touched.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import type { LabHost } from '../../contracts/agent-protocol.ts';

export function applyIdentity(hostname: string, labHosts: readonly LabHost[] = []): void {
  // The namespace driver already set it through the OCI config; a VM guest has not.
  if (os.hostname() !== hostname) execFileSync('hostname', [hostname]);
  writeFileSync('/etc/hostname', `${hostname}\n`);
  // sudo resolves the host name on every call and complains when it cannot.
  writeFileSync(
    '/etc/hosts',
    [
      '127.0.0.1\tlocalhost',
      // In a lab, the machine's own name is its lab address (Swarm advertises what the name resolves to).
      ...(labHosts.some((host) => host.name === hostname) ? [] : [`127.0.1.1\t${hostname}`]),
      ...labHosts.map((host) => `${host.address}\t${host.name}`),
      '::1\t\tlocalhost ip6-localhost ip6-loopback',
      'ff02::1\t\tip6-allnodes',
      'ff02::2\t\tip6-allrouters',
      '',
    ].join('\n'),
  );
  writeFileSync('/etc/machine-id', `${randomBytes(16).toString('hex')}\n`, { mode: 0o444 });
}
