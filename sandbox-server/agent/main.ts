// The sandbox agent: started by the sandbox's init (see native/sandbox-init.c),
// it makes the machine what the lesson expects (name, machine id, dockerd)
// and serves the host's terminals over one byte stream (see
// contracts/agent-protocol.ts). With a "listen:" transport the terminals
// outlive the host: a restarted server connects again and finds every shell
// where it was. With a one-shot transport the agent exits when its host goes
// away, and the sandbox with it.
//
//   SANDBOX_AGENT_CONFIG='{"transport":"listen:/.sandbox/run/agent.sock",…}' node main.ts
import { AGENT_CONFIG_ENV, parseAgentConfig } from '../../contracts/agent-protocol.ts';
import { Agent } from './agent.ts';
import { startDocker } from './docker.ts';
import { applyIdentity } from './identity.ts';
import { startRegistryForwarder, writeDepotProfile } from './registry-forwarder.ts';
import { createLog } from './log.ts';
import { spawnLoginShell } from './login-shell.ts';
import { openTerminalGroups } from './terminal-groups.ts';
import { openTransport } from './transport.ts';

// What `ps aux` shows inside the sandbox.
process.title = 'sandbox-agent';
const { log, sendTo } = createLog();
// A stray rejection must not take every terminal of the sandbox down with it.
process.on('unhandledRejection', (reason) => log('error', 'unhandled rejection in the agent', { error: String(reason) }));

try {
  const config = parseAgentConfig(process.env[AGENT_CONFIG_ENV]);
  // Shells get an environment of their own; this one is none of their business.
  delete process.env[AGENT_CONFIG_ENV];
  if (config.writeIdentity) applyIdentity(config.hostname, config.hosts);
  if (config.docker && config.registryNamespace) writeDepotProfile(config.registryNamespace, log);
  const groups = openTerminalGroups(config.terminalPidsMax, log);
  const transport = openTransport(config.transport);
  const agent = new Agent({ user: config.user, hostname: config.hostname, groups, spawnShell: spawnLoginShell, log });
  agent.onHostGone(() => {
    if (transport.reconnectable) {
      log('info', 'host gone: terminals kept until a host connects again');
      return;
    }
    log('info', 'host gone, agent exiting');
    process.exit(0);
  });
  sendTo((record) => agent.sendLog(record));
  agent.start();
  await transport.serve((stream) => agent.serve(stream));
  if (config.docker) {
    startRegistryForwarder(log);
    startDocker(log, config.terminalPidsMax);
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
