// Puts the pieces together: one Node HTTP server carrying the static site,
// the REST API, metrics and the terminal WebSockets, over one sandbox
// manager. main.ts owns the process (signals, exit codes); this owns the
// server's lifetime, so tests and benchmarks could run it in-process too.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config.ts';
import type { SandboxDriver } from '../drivers/driver.ts';
import type { Logger } from '../log.ts';
import { SandboxManager } from '../manager/sandbox-manager.ts';
import type { SandboxRecords } from '../manager/sandbox-records.ts';
import { Metrics } from '../metrics.ts';
import { ClassMode, classModeOff } from '../classroom/class-mode.ts';
import { CloseCode } from '../../../contracts/protocol.ts';
import { NamespaceEndpoint } from '../ws/namespace-endpoint.ts';
import { TerminalEndpoint } from '../ws/terminal-endpoint.ts';
import { reportFailure } from '../contain.ts';
import { answerClientError } from './client-error.ts';
import { ConnectionGuard } from './connection-guard.ts';
import { hostAllowed, hostRefusal } from './host-policy.ts';
import { createRequestHandler } from './request-handler.ts';
import { SandboxApi } from './sandbox-api.ts';
import { createStaticSite } from './static-site.ts';

/** How often Node's HTTP server looks for requests past their headers or request timeout (see createServer below). */
const CONNECTIONS_CHECK_MS = 5000;

export interface SandboxServer {
  /** The address it listens on, e.g. http://127.0.0.1:4321/ (base path included). */
  readonly url: string;
  readonly manager: SandboxManager;
  readonly metrics: Metrics;
  /** Refuse new work, close every socket (1001), destroy every sandbox, stop listening. Idempotent. */
  shutdown(): Promise<void>;
  /**
   * The same, but the handed-out sandboxes are let go, still running, for the
   * next server process (a restart); their pages reconnect to it by themselves.
   */
  detach(): Promise<void>;
}

export interface ServerState {
  /** Where handed-out sandboxes are written down; they are taken over from it before the server listens. */
  records?: SandboxRecords | undefined;
}

export async function startSandboxServer(config: Config, driver: SandboxDriver, log: Logger, state: ServerState = {}): Promise<SandboxServer> {
  let shuttingDown = false;
  let manager: SandboxManager | undefined;
  const metrics = new Metrics({
    sandboxes: () => manager?.sandboxes() ?? { assigned: 0, pool: 0, creating: 0 },
    terminals: () => manager?.terminals() ?? { open: 0, attached: 0, paused: 0, unackedBytes: 0, bufferedBytes: 0 },
  });
  // Class mode watches every terminal through the driver (exercise checks, read-only viewers).
  const classMode = config.classMode ? await ClassMode.open(config, driver, log, metrics) : undefined;
  manager = new SandboxManager({
    driver: classMode?.driver ?? driver,
    log,
    metrics,
    limits: { memoryBytes: config.sandboxMemory, pids: config.sandboxPids, cpus: config.sandboxCpus, diskBytes: config.sandboxDisk },
    docker: config.sandboxDocker,
    warmPoolSize: config.warmPoolSize,
    maxSandboxes: config.maxSandboxes,
    maxSandboxesPerClient: config.maxSandboxesPerClient,
    maxSandboxesPerAddress: config.maxSandboxesPerAddress,
    unclaimedIdleTimeoutMs: config.unclaimedIdleTimeout,
    maxTerminalsPerSandbox: config.maxTerminalsPerSandbox,
    idleTimeoutMs: config.idleTimeout,
    maxAgeMs: config.maxAge,
    records: state.records,
  });
  // Before listening: a page that reconnects must find its machine, not a 404.
  await manager.adoptAll();
  // Then what nobody owns any more (the sandboxes just taken over are ours, hence spared).
  const removed = await driver.cleanupLeftovers({ recordsPath: state.records?.path });
  log.info({ removed }, removed > 0 ? 'removed sandboxes left by an earlier run' : 'no sandboxes left by an earlier run');
  const isShuttingDown = () => shuttingDown;
  classMode?.start(manager);

  const site = createStaticSite(config.siteDir);
  if (!site.built) log.warn({ siteDir: config.siteDir }, 'no built site: pages answer 404 until `npm run build` writes it (the API works regardless)');
  const api = new SandboxApi({
    manager,
    metrics,
    log,
    cookie: { basePath: config.basePath, secure: config.cookieSecure },
    clientIpHeader: config.clientIpHeader,
    maxAgeMs: config.maxAge,
    maxMachinesPerLab: config.maxMachinesPerLab,
    classGate: classMode,
  });
  // Both sockets on a reader's machine: the same admission (ws/upgrade-admission.ts), from the same settings.
  const sandboxSockets = {
    basePath: config.basePath,
    allowedOrigins: config.allowedOrigins,
    clientIpHeader: config.clientIpHeader,
    manager,
    metrics,
    log,
    isShuttingDown,
    attachRefusal: classMode ? (id: string) => classMode.attachRefusal(id) : undefined,
  };
  const terminals = new TerminalEndpoint(sandboxSockets);
  const namespaces = new NamespaceEndpoint(sandboxSockets);
  const http: Server = createServer(
    // Half-sent requests are looked for every 5 s (headers and request timeouts: connection-guard.ts), so one is cut
    // 10–15 s after it began. Node runs this check for ever, connections or not: every second was a wake-up a
    // second of an idle server (Node's default, 30 s, would let a half-sent request hold its connection 40 s).
    { connectionsCheckingInterval: CONNECTIONS_CHECK_MS },
    createRequestHandler({
      basePath: config.basePath,
      allowedOrigins: config.allowedOrigins,
      allowedHosts: config.allowedHosts,
      metricsToken: config.metricsToken,
      clientIpHeader: config.clientIpHeader,
      driverName: driver.name,
      api,
      classApi: classMode ? (req, res, rest, headers) => classMode.handleApi(req, res, rest, headers) : classModeOff,
      site: site.handler,
      manager,
      metrics,
      log,
      isShuttingDown,
    }),
  );
  const connections = new ConnectionGuard(
    { total: config.maxConnections, perAddress: config.maxConnectionsPerClient, perAddressApplies: config.clientIpHeader === '' },
    (address, why) => {
      metrics.rejected.inc({ reason: 'connection-limit' });
      log.warn({ client: address, limit: why }, 'connection refused: too many open');
    },
  );
  connections.watch(http);
  http.on('upgrade', (req, socket, head) => {
    if (!hostAllowed(req.headers.host, config.allowedHosts)) {
      metrics.rejected.inc({ reason: 'host' });
      log.warn({ host: req.headers.host }, 'upgrade for a name this server does not answer to refused');
      socket.end(`HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${hostRefusal(req.headers.host).message}\n`);
      return;
    }
    // An upgrade the endpoints cannot even route (a request target no URL
    // parser takes, say) fails this one connection, not the server.
    try {
      if (classMode?.handleUpgrade(req, socket, head)) return;
      if (namespaces.matches(req)) namespaces.handleUpgrade(req, socket, head);
      else terminals.handleUpgrade(req, socket, head);
    } catch (error) {
      reportFailure(log, metrics.failuresContained, 'websocket-upgrade', error, { url: String(req.url).slice(0, 200) });
      if (socket.writable)
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nThis WebSocket request could not be understood.\n');
      else socket.destroy();
    }
  });
  http.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    log.debug({ err: error }, 'HTTP connection given up by the parser');
    answerClientError(error, socket);
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}${config.basePath}`;
  manager.start();

  const managerRef = manager;
  let shutdownPromise: Promise<void> | undefined;
  const stop = (keep: boolean) => {
    shutdownPromise ??= (async () => {
      shuttingDown = true;
      log.info({ sandboxes: keep ? 'kept' : 'destroyed' }, 'shutting down');
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      classMode?.stop();
      // Sandboxes first: their terminals' clients are told why (1001 + error frame).
      if (keep) await managerRef.detachAll();
      else await managerRef.shutdown();
      const goingAway = keep
        ? ({
            code: 'server-restarting',
            message: 'Le serveur redémarre : votre machine est conservée.',
            hint: 'La page se reconnecte toute seule dans un instant.',
          } as const)
        : ({ code: 'server-shutting-down', message: 'The sandbox server is shutting down.', hint: 'Reload the page in a moment.' } as const);
      terminals.closeAll(CloseCode.goingAway, goingAway);
      namespaces.closeAll(CloseCode.goingAway, goingAway);
      // Give clients a moment to answer the close handshake, then drop what is left.
      await new Promise((resolve) => setTimeout(resolve, 200));
      terminals.dispose();
      namespaces.dispose();
      http.closeAllConnections();
      await closed;
      classMode?.close();
      log.info('shut down');
    })();
    return shutdownPromise;
  };

  return { url, manager: managerRef, metrics, shutdown: () => stop(false), detach: () => stop(true) };
}
