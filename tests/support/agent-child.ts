// The agent behind a real terminal keeper, as the unit and fuzz tests run it
// on this host (agent-harness.ts starts `terminal-keeper node agent-child.ts`):
// the real Agent, but no cgroups and a plain /bin/sh for every terminal (no
// sandbox, no login, no user switch). The transport and hostname come from
// the harness in the environment.
import net from 'node:net';
import { Agent } from '../../sandbox-server/agent/agent.ts';
import { LINK_FD } from '../../sandbox-server/agent/keeper-link.ts';
import { createLog } from '../../sandbox-server/agent/log.ts';
import type { TerminalGroups } from '../../sandbox-server/agent/terminal-groups.ts';

const noGroups: TerminalGroups = { create: () => [], killAll: async () => 0, watchLimit: () => {}, stop: () => {} };
const { log, sendTo } = createLog();
const link = new net.Socket({ fd: LINK_FD, readable: true, writable: true });
const agent = new Agent({
  user: 'nobody',
  groups: noGroups,
  shellCommand: () => ({ argv: ['/bin/sh'], cwd: '/tmp', env: { PATH: '/usr/bin:/bin', PS1: '$ ', TERM: 'xterm' } }),
  log,
});
sendTo((record) => agent.sendLog(record));
link.on('close', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
agent.serve(link, process.env.TEST_AGENT_TRANSPORT ?? 'stdio', process.env.TEST_AGENT_HOSTNAME ?? 'test');
