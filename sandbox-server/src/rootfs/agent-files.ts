// Where the agent and what it needs live inside a sandbox, and where they come
// from on the host. The namespace driver bind-mounts them read-only; a VM
// driver copies the same files to the same paths in its disk image.
//
//   /.sandbox/bin/node                 the server's own Node (same glibc: Debian 12 both sides)
//   /.sandbox/bin/sandbox-init         PID 1 (native/sandbox-init.c)
//   /.sandbox/app/sandbox-server/agent/  sandbox-server/agent/, as JavaScript (agent-build.ts)
//   /.sandbox/app/contracts/           the contracts the agent imports (agent-protocol, process-snapshot, names, sizes), so that `../../contracts/…` resolves
//   /.sandbox/node_modules/node-pty/   the host's build of node-pty
//   /.sandbox/run/                     the agent's socket to the host (namespace driver only)
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { agentBuildName } from './agent-build.ts';

export const SANDBOX_PATHS = {
  node: '/.sandbox/bin/node',
  init: '/.sandbox/bin/sandbox-init',
  agentDir: '/.sandbox/app/sandbox-server/agent',
  agentMain: '/.sandbox/app/sandbox-server/agent/main.js',
  contracts: '/.sandbox/app/contracts',
  nodePty: '/.sandbox/node_modules/node-pty',
  runDir: '/.sandbox/run',
  socket: '/.sandbox/run/agent.sock',
} as const;

export interface BindMount {
  source: string;
  target: string;
  readonly: boolean;
}

/**
 * The agent's files: host path → sandbox path. `agentDir` is the agent's
 * build (ensureHelpers() makes it beside the helpers, hence the default).
 */
export function agentFiles(options: { nodePath: string; initPath: string; agentDir?: string }): BindMount[] {
  const require = createRequire(import.meta.url);
  const nodePtyDir = dirname(require.resolve('node-pty/package.json'));
  const agentDir = options.agentDir ?? join(dirname(options.initPath), agentBuildName());
  return [
    { source: options.nodePath, target: SANDBOX_PATHS.node, readonly: true },
    { source: options.initPath, target: SANDBOX_PATHS.init, readonly: true },
    { source: join(agentDir, 'sandbox-server', 'agent'), target: SANDBOX_PATHS.agentDir, readonly: true },
    { source: join(agentDir, 'contracts'), target: SANDBOX_PATHS.contracts, readonly: true },
    { source: nodePtyDir, target: SANDBOX_PATHS.nodePty, readonly: true },
  ];
}
