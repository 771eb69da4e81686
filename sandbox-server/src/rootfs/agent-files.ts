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

/**
 * Node's options for the agent, between `node` and agentMain (both drivers).
 * --no-memory-reducer: V8's memory reducer otherwise wakes an idle agent every
 * 8.1 s for ever (it tries again to shrink a heap that no longer shrinks).
 * Measured, 3 + 3 namespace machines side by side after 40 process snapshots
 * and 20 × 1.3 MB of exec output each: idle agent 0.22 → 0.09 wake-ups/s
 * (≈ 27/s fewer for a host of 200 machines), RSS after 5 idle minutes
 * 63.7 → 63.9 MiB, anonymous 21.1 → 21.4 MiB (the reducer had given nothing
 * back in those 5 minutes either).
 */
export const AGENT_NODE_OPTIONS = ['--no-memory-reducer'] as const;

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
