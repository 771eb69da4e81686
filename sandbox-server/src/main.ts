// `npm run server`: read the configuration, make sure this host can run
// sandboxes, take over the machines an earlier run left (a restart or a
// crash loses none), clean up what nobody owns, then serve the site, the API
// and the terminals until SIGINT/SIGTERM. Then the machines are kept for the
// next start (SANDBOXES_ON_EXIT=keep, the default) or destroyed (destroy).
import { ConfigError, loadConfig, describeConfig, sandboxRecordsPath, type Config } from './config.ts';
import { SandboxRecords, SandboxRecordsError } from './manager/sandbox-records.ts';
import { HostNotSupportedError } from './drivers/driver.ts';
import { createDriver } from './drivers/index.ts';
import { createLogger, type Logger, type LogLevel } from './log.ts';
import { startSandboxServer, type SandboxServer } from './http/server.ts';
import { installLastResort } from './last-resort.ts';
import { serverStorePaths } from './images/paths.ts';
import { createImageStore, startImageStore, stopRegistriesOfDeadServers } from './images/server-store.ts';

/** Exit statuses, so scripts can tell a bad configuration from an unfit host. */
const EXIT_CONFIG = 2;
const EXIT_HOST = 3;
const EXIT_FAILURE = 1;

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(`Sandbox server. Settings (environment variables, or keys of the JSON file named by SANDBOX_CONFIG):\n\n${describeConfig()}\n`);
    return;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    createLogger('error').error({ problems: error.problems }, error.message);
    process.stderr.write(`${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const log = createLogger(config.logLevel);
  const driverLog = log.child({ component: `driver-${config.driver}` });
  // This server's own sockets of the class image store, over the host's one storage;
  // its gates (one socket per machine) exist before the first machine does.
  const images = config.sandboxDocker
    ? createImageStore(serverStorePaths(), log.child({ component: 'images' }), {
        readerQuotaBytes: config.imageStoreReaderQuota,
        upstream: config.imageStoreUpstream,
      })
    : undefined;
  // The driver logs plain records; they join the server's JSON lines with its ids.
  const driverLogSink = ({ level, msg, ...fields }: { level: LogLevel; msg: string; [field: string]: unknown }) =>
    driverLog[level](renameReserved(fields), msg);
  const driver =
    config.driver === 'vm'
      ? createDriver('vm', {
          log: driverLogSink,
          accelerator: config.vmAccelerator,
          dockerDiskBytes: config.sandboxDockerDisk,
          registry: images?.access,
        })
      : createDriver('namespace', { log: driverLogSink, dockerDiskBytes: config.sandboxDockerDisk, registry: images?.access });

  try {
    await driver.checkHost();
  } catch (error) {
    if (!(error instanceof HostNotSupportedError)) throw error;
    log.fatal({ driver: driver.name, hint: error.hint }, `This host cannot run ${driver.name} sandboxes: ${error.message}`);
    process.stderr.write(`This host cannot run ${driver.name} sandboxes: ${error.message}\nWhat to do: ${error.hint}\n`);
    process.exit(EXIT_HOST);
  }
  let records: SandboxRecords;
  try {
    records = SandboxRecords.open(sandboxRecordsPath(config));
  } catch (error) {
    if (!(error instanceof SandboxRecordsError)) throw error;
    log.fatal({ hint: error.hint }, error.message);
    process.stderr.write(`${error.message}\nWhat to do: ${error.hint}\n`);
    process.exit(EXIT_CONFIG);
  }
  await driver.prepare((step: string, detail?: string) => log.info({ step, detail }, 'preparing sandboxes'));

  // A dead server's registries first (they outlive a SIGKILL); then the class image store
  // (machines' Docker Hub mirror) before the first machine asks for an image.
  await stopRegistriesOfDeadServers(log.child({ component: 'images' }));
  if (images) await startImageStore(images, log.child({ component: 'images' }));
  const server = await startSandboxServer(config, driver, log, { records });
  // Before the "listening" line: whoever reads it may signal at once (a signal with no handler yet kills outright).
  const stop = handleSignals(server, log, config.shutdownTimeout, config.sandboxesOnExit === 'keep', async () => {
    await images?.stop();
  });
  installLastResort({
    log,
    counter: server.metrics.failuresContained,
    giveUp: (reason) => {
      log.fatal({ reason }, 'too many uncaught failures: shutting down so that the supervisor starts a fresh server');
      stop('SIGTERM');
    },
  });
  log.info(
    { url: server.url, port: Number(new URL(server.url).port), driver: driver.name, warmPool: config.warmPoolSize, sandboxDb: records.path },
    'listening',
  );
}

/** The driver's `pid` (a process in a sandbox) must not clash with the server's own `pid` field. */
function renameReserved(fields: Record<string, unknown>): Record<string, unknown> {
  const renamed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) renamed[['pid', 'time', 'level', 'msg'].includes(key) ? `driver_${key}` : key] = value;
  return renamed;
}

function handleSignals(
  server: SandboxServer,
  log: Logger,
  timeoutMs: number,
  keep: boolean,
  afterShutdown: () => Promise<void>,
): (signal: NodeJS.Signals) => void {
  let signalled = false;
  const stop = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now; leftovers are removed at the next start');
      process.exit(EXIT_FAILURE);
    }
    signalled = true;
    log.info({ signal, sandboxes: keep ? 'kept for the next start' : 'destroyed' }, 'stopping');
    const timeout = setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown took too long: exiting; leftovers are removed at the next start');
      process.exit(EXIT_FAILURE);
    }, timeoutMs);
    (keep ? server.detach() : server.shutdown())
      .then(afterShutdown)
      .then(() => {
        clearTimeout(timeout);
        process.exit(0);
      })
      .catch((error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(EXIT_FAILURE);
      });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return stop;
}

main().catch((error: unknown) => {
  process.stderr.write(`The sandbox server failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(EXIT_FAILURE);
});
