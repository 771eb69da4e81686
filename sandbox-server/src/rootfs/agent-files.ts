// Where the agent and what it needs live inside a sandbox, and where they come
// from on the host. The namespace driver bind-mounts them read-only; a VM
// driver copies the same files to the same paths in its disk image.
//
//   /.sandbox/bin/node                 the server's own Node (same glibc: Debian 12 both sides)
//   /.sandbox/bin/sandbox-init         PID 1 (native/sandbox-init.c)
//   /.sandbox/app/sandbox-server/agent/  sandbox-server/agent/, as JavaScript, and its terminal keeper (agent-build.ts)
//   /.sandbox/app/contracts/           the contracts the agent imports (agent-protocol, process-snapshot, names, sizes), so that `../../contracts/…` resolves
//   /.sandbox/run/                     the agent's socket to the host (namespace driver only)
import { dirname, join } from 'node:path';
import { agentBuildName } from './agent-build.ts';

export const SANDBOX_PATHS = {
  node: '/.sandbox/bin/node',
  init: '/.sandbox/bin/sandbox-init',
  agentDir: '/.sandbox/app/sandbox-server/agent',
  agentMain: '/.sandbox/app/sandbox-server/agent/main.js',
  /** The agent's front (terminal-keeper.c): the machine's init starts it, it starts `node agentMain`. */
  keeper: '/.sandbox/app/sandbox-server/agent/terminal-keeper',
  contracts: '/.sandbox/app/contracts',
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
  const agentDir = options.agentDir ?? join(dirname(options.initPath), agentBuildName());
  return [
    { source: options.nodePath, target: SANDBOX_PATHS.node, readonly: true },
    { source: options.initPath, target: SANDBOX_PATHS.init, readonly: true },
    { source: join(agentDir, 'sandbox-server', 'agent'), target: SANDBOX_PATHS.agentDir, readonly: true },
    { source: join(agentDir, 'contracts'), target: SANDBOX_PATHS.contracts, readonly: true },
  ];
}
