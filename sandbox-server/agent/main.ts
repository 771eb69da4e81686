// The sandbox agent: started by its terminal keeper (terminal-keeper.c, itself
// started by the sandbox's init, native/sandbox-init.c), it makes the machine
// what the lesson expects (name, machine id, dockerd) and answers, over its
// link to the keeper (fd 3), what the host asks that is not terminal bytes:
// which shell a terminal runs, window sizes, exercise commands, process
// descriptions (see agent.ts). The keeper serves the host on the configured
// transport; with "listen:" the terminals outlive the host (a restarted
// server connects again and finds every shell where it was), with a one-shot
// transport the keeper ends when its host goes away, and the sandbox with it.
// If this process dies, the keeper starts it again (AGENT_RESTART_ENV set):
// the machine is made already, and what the reader did to it since (their
// /etc/hosts, a dockerd they restarted) is theirs, so it is left as it is.
//
//   SANDBOX_AGENT_CONFIG='{"transport":"listen:/.sandbox/run/agent.sock",…}' terminal-keeper node main.js
import net from 'node:net';
import { AGENT_CONFIG_ENV, parseAgentConfig } from '../../contracts/agent-protocol.ts';
import { Agent } from './agent.ts';
import { processRuns, startDocker } from './docker.ts';
import { applyIdentity } from './identity.ts';
import { AGENT_RESTART_ENV, LINK_FD } from './keeper-link.ts';
import { startRegistryForwarder, writeDepotProfile } from './registry-forwarder.ts';
import { createLog } from './log.ts';
import { loginShellCommand } from './login-shell.ts';
import { openTerminalGroups } from './terminal-groups.ts';

// What `ps aux` shows inside the sandbox.
process.title = 'sandbox-agent';
const { log, sendTo } = createLog();
// A stray rejection must not take every terminal of the sandbox down with it.
process.on('unhandledRejection', (reason) => log('error', 'unhandled rejection in the agent', { error: String(reason) }));

try {
  const config = parseAgentConfig(process.env[AGENT_CONFIG_ENV]);
  // Shells get an environment of their own; this one is none of their business.
  delete process.env[AGENT_CONFIG_ENV];
  const restarted = process.env[AGENT_RESTART_ENV] === '1';
  delete process.env[AGENT_RESTART_ENV];
  if (restarted) log('warn', 'agent started again after the previous one died: its terminals are adopted');
  if (config.writeIdentity && !restarted) applyIdentity(config.hostname, config.hosts);
  if (config.docker && config.registryNamespace && !restarted) writeDepotProfile(config.registryNamespace, log);
  const groups = openTerminalGroups(config.terminalPidsMax, log);
  const link = new net.Socket({ fd: LINK_FD, readable: true, writable: true });
  const agent = new Agent({ user: config.user, groups, shellCommand: loginShellCommand, log });
  sendTo((record) => agent.sendLog(record));
  // The keeper gone, there is nothing left to serve (it ends the machine).
  link.on('close', () => process.exit(0));
  agent.serve(link, config.transport, config.hostname);
  if (config.docker) {
    // The previous agent's forwarder died with it; its dockerd did not.
    startRegistryForwarder(log);
    if (!restarted || !processRuns('dockerd')) startDocker(log, config.terminalPidsMax);
  }
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => {
      log('info', `agent stopping on ${signal}`);
      agent.stop();
      process.exit(0);
    });
  }
} catch (error) {
  log('error', 'agent failed to start', { error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
