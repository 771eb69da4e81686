// `npm run bench -- adversarial`: the long version of tests/adversarial/.
// Root inside a real machine attacks the real server (copied agent
// descriptors, forged frames, floods, a stopped agent; half-sent requests and
// foreign origins from outside) while a neighbour reader types in their own
// machine. Per attack: the server's RSS peak, the host disk used under the
// state directory, the log bytes written, the neighbour's keystroke echo
// p50/p99, and what the attacker's machine left on the host (0 expected).
// Every attack is capped in bytes and seconds.
import { statfsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { resolveOptions } from '../sandbox-server/src/drivers/namespace/options.ts';
import { attack, hostileMachine, serverRssMiB, stopAgent, type HostileMachine } from '../tests/support/adversary.ts';
import { namespaceLeftovers } from '../tests/support/namespace-leftovers.ts';
import { type RunningServer, startServer } from '../tests/support/server.ts';
import { attachTerminal, createSandbox, deleteSandbox, type TerminalClient } from '../tests/support/server-client.ts';
import { percentile, report } from './stats.ts';

const KEYS = Number(process.env.BENCH_KEYS ?? 150);
const { prefix, stateDir } = resolveOptions();

function diskUsedBytes(): number {
  const stats = statfsSync(stateDir);
  return (stats.blocks - stats.bfree) * stats.bsize;
}

/** Keystroke echo in the neighbour's terminal, `KEYS` keys (Ctrl-U every 50 keeps the line short). */
async function echo(terminal: TerminalClient, keys = KEYS, deadlineMs = 60_000): Promise<number[]> {
  const samples: number[] = [];
  const deadline = Date.now() + deadlineMs;
  for (let i = 0; i < keys && Date.now() < deadline; i++) {
    if (i % 50 === 49) {
      terminal.type('\x15');
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    const key = String.fromCharCode(97 + (i % 26));
    const echoed = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      const subscription = terminal.onData((chunk) => {
        if (!chunk.includes(key)) return;
        clearTimeout(timer);
        subscription.dispose();
        resolve();
      });
    });
    const started = performance.now();
    terminal.type(key);
    await echoed;
    samples.push(performance.now() - started);
  }
  return samples;
}

interface Attack {
  name: string;
  /** Needs a hostile machine (else it attacks from outside). */
  machine: boolean;
  /** Runs the attack; resolves when it is over (bounded). */
  run(server: RunningServer, machine: HostileMachine | undefined): Promise<void>;
}

const until = (promise: Promise<unknown>, ms: number) => Promise.race([promise, new Promise((resolve) => setTimeout(resolve, ms))]);

const ATTACKS: Attack[] = [
  {
    name: "1 no newline on the agent's stderr (512 MiB, 20 s)",
    machine: true,
    run: async (_server, m) => {
      await m!.reader.run(attack('nonewline', [2, 512 * 2 ** 20], 20), { timeoutMs: 60_000 });
    },
  },
  {
    name: '2 agent stopped, reader pastes (1 GiB, 15 s)',
    machine: true,
    run: async (_server, m) => {
      const machine = m!;
      await stopAgent(machine.reader, (text) => machine.client.type(text));
      const frame = Buffer.alloc(60 * 1024, 'x');
      const deadline = Date.now() + 15_000;
      for (let sent = 0; sent < 2 ** 30 && Date.now() < deadline && machine.client.ws.readyState === machine.client.ws.OPEN; ) {
        if (machine.client.ws.bufferedAmount < 8 * 2 ** 20) {
          machine.client.type(frame);
          sent += frame.length;
        } else await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await until(machine.client.closed, 30_000);
    },
  },
  {
    name: '3 forged Data frames, client not reading (1 GiB, 15 s)',
    machine: true,
    run: async (_server, m) => {
      const machine = m!;
      machine.client.autoAck = false;
      machine.client.type(`${attack('data', [1, 2 ** 30], 15)}\r`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      machine.client.ws.pause();
      await new Promise((resolve) => setTimeout(resolve, 5000));
      machine.client.ws.resume();
      await until(machine.client.closed, 20_000);
    },
  },
  {
    name: '4 filling the socket directory (1 GiB)',
    machine: true,
    run: async (_server, m) => {
      await m!.reader.run('sudo dd if=/dev/zero of=/.sandbox/run/fill bs=1M count=1024 2>&1 | tail -1', { timeoutMs: 120_000 });
    },
  },
  {
    name: '5 tree deeper than PATH_MAX in the socket directory (40 levels)',
    machine: true,
    run: async (_server, m) => {
      await m!.reader.run(attack('deeptree', ['/.sandbox/run', 40], 20), { timeoutMs: 60_000 });
      await m!.reader.run(attack('deeptree', ['/tmp', 40], 20), { timeoutMs: 60_000 });
    },
  },
  {
    name: '6a log flood: output lines (4 M lines, 20 s)',
    machine: true,
    run: async (_server, m) => {
      await m!.reader.run(attack('lines', [1, 4_000_000], 20), { timeoutMs: 60_000 });
    },
  },
  {
    name: '6b log flood: forged Log frames (2 M frames, 20 s)',
    machine: true,
    run: async (_server, m) => {
      m!.client.type(`${attack('logframes', [2_000_000], 20)}\r`);
      await until(m!.client.closed, 30_000);
    },
  },
  {
    name: '7 half-sent requests from one address (2000)',
    machine: false,
    run: async (server) => {
      const sockets: net.Socket[] = [];
      for (let i = 0; i < 2000; i++) {
        const socket = net.connect({ host: '127.0.0.1', port: server.port, localAddress: '127.0.0.2' }, () =>
          socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '),
        );
        socket.on('error', () => {});
        socket.resume();
        sockets.push(socket);
      }
      await new Promise((resolve) => setTimeout(resolve, 12_000));
      report('  half-sent: still open after 12 s', sockets.filter((socket) => !socket.destroyed).length);
      for (const socket of sockets) socket.destroy();
    },
  },
  {
    name: '9 refused requests with an 8 KB Origin (20 000)',
    machine: false,
    run: async (server) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      const origin = `http://${'x'.repeat(8000)}.example`;
      const one = () =>
        new Promise<void>((resolve) => {
          const req = http.request({ host: '127.0.0.1', port: server.port, path: '/api/sandboxes', method: 'POST', agent, headers: { origin } }, (res) => {
            res.resume();
            res.on('end', () => resolve());
          });
          req.on('error', () => resolve());
          req.end();
        });
      for (let batch = 0; batch < 200; batch++) await Promise.all(Array.from({ length: 100 }, one));
      agent.destroy();
    },
  },
];

async function main(): Promise<void> {
  const server = await startServer({ env: { SANDBOX_DOCKER: 'false', LOG_LEVEL: 'info', MAX_SANDBOXES: '6' } });
  const ids: string[] = [];
  try {
    const neighbourSandbox = await createSandbox(server);
    ids.push(neighbourSandbox.id);
    const neighbour = await attachTerminal(server, neighbourSandbox, '1');
    await neighbour.reader.waitForPrompt();
    const quiet = await echo(neighbour.client);
    report('quiet: neighbour echo p50', percentile(quiet, 50), 'ms');
    report('quiet: neighbour echo p99', percentile(quiet, 99), 'ms');
    report('quiet: server rss', await serverRssMiB(server), 'MiB');

    for (const attackSpec of ATTACKS) {
      console.log(`# ${attackSpec.name}`);
      const machine = attackSpec.machine ? await hostileMachine(server) : undefined;
      if (machine) ids.push(machine.sandbox.id);
      const rssBefore = await serverRssMiB(server);
      const diskBefore = diskUsedBytes();
      const logBefore = server.logBytes;
      let rssPeak = rssBefore;
      let diskPeak = diskBefore;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          rssPeak = Math.max(rssPeak, await serverRssMiB(server).catch(() => rssPeak));
          diskPeak = Math.max(diskPeak, diskUsedBytes());
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      const attacking = attackSpec.run(server, machine).catch((error: Error) => console.log(`  (attack ended: ${error.message.split('\n')[0]})`));
      // The neighbour types while the attack runs (it starts a moment in).
      await new Promise((resolve) => setTimeout(resolve, 500));
      const during = await echo(neighbour.client);
      await attacking;
      if (machine) await deleteSandbox(server, machine.sandbox);
      sampling = false;
      await sampler;
      const healthy = (await fetch(new URL('healthz', server.url)).catch(() => undefined))?.status === 200;
      report('  server up', healthy ? 'yes' : 'NO');
      report('  server rss peak', rssPeak, 'MiB');
      report('  server rss growth', rssPeak - rssBefore, 'MiB');
      report("  host disk used (peak, state dir's filesystem)", (diskPeak - diskBefore) / 2 ** 20, 'MiB');
      report('  log bytes', server.logBytes - logBefore, 'B');
      report('  neighbour echo p50', percentile(during, 50), 'ms');
      report('  neighbour echo p99', percentile(during, 99), 'ms');
      // A machine the server ended itself may still be on its way out when DELETE answers 410: give it a moment.
      let leftovers = machine ? namespaceLeftovers({ prefix, stateDir, ids: [machine.sandbox.id] }) : [];
      for (let wait = 0; wait < 100 && leftovers.length > 0; wait++) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        leftovers = namespaceLeftovers({ prefix, stateDir, ids: [machine!.sandbox.id] });
      }
      report('  leftovers', leftovers.length);
    }
    await neighbour.client.close();
    await deleteSandbox(server, neighbourSandbox);
  } finally {
    await server.stop();
  }
  report('leftovers after shutdown', namespaceLeftovers({ prefix, stateDir, ids }).length);
}

await main();
