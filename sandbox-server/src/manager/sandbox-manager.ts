// Every sandbox this server runs: hands them to readers (from the warm pool
// when one is ready), enforces the host and per-reader capacity, destroys
// them on request, on expiry, when they die and at shutdown, and remembers
// recently destroyed ids so a late client learns why its sandbox is gone.
import { reportRejection } from '../contain.ts';
//
// Handed-out sandboxes are written down (sandbox-records.ts) so that they
// outlive the server process: a restart detaches them (detachAll), a crash
// just leaves them, and the next process takes them over (adoptAll) before it
// answers anyone, terminals and clocks included.
import { SandboxLostError, isMisbehaviour, isOutOfMemory, type LabMachine, type Sandbox, type SandboxDriver, type SandboxLimits } from '../drivers/driver.ts';
import type { Logger } from '../log.ts';
import type { DestroyReason, Metrics, MetricsState } from '../metrics.ts';
import { newSandboxId, newToken, tokenHash } from './credentials.ts';
import { ManagedSandbox, ResetNotSupportedError, SandboxRetiredError, type ExpiryReason } from './managed-sandbox.ts';
import type { SandboxRecord, SandboxRecords } from './sandbox-records.ts';
import { WarmPool, type PooledSandbox } from './warm-pool.ts';
import { WarmShell } from './warm-shell.ts';
import { HintedError } from '../../../contracts/errors.ts';
import { CloseCode, type ErrorInfo } from '../../../contracts/protocol.ts';

export interface ManagerOptions {
  driver: SandboxDriver;
  log: Logger;
  metrics: Metrics;
  limits: SandboxLimits;
  docker: boolean;
  warmPoolSize: number;
  maxSandboxes: number;
  maxSandboxesPerClient: number;
  /** Most machines held from one network address, all its readers together (a classroom behind NAT is one address). */
  maxSandboxesPerAddress?: number;
  maxTerminalsPerSandbox: number;
  idleTimeoutMs: number;
  /** Idle timeout of a machine whose reader has not come back for it yet (its browser may keep no cookie: a closed tab loses it). */
  unclaimedIdleTimeoutMs?: number;
  maxAgeMs: number;
  /** Where handed-out sandboxes are written down to survive a restart; without it they end with the process. */
  records?: SandboxRecords | undefined;
}

/** Creation refused for lack of room; the HTTP layer turns it into 503 or 429 with Retry-After. */
export class CapacityError extends HintedError {
  override name = 'CapacityError';
  readonly scope: 'host' | 'client' | 'address';
  readonly retryAfterSeconds: number;
  constructor(scope: 'host' | 'client' | 'address', message: string, hint: string, retryAfterSeconds: number) {
    super(message, hint);
    this.scope = scope;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** What a caller may ask of one sandbox beyond the server's defaults (a class's own limits and end). */
export interface SandboxRequest {
  /** Limits and Docker for this sandbox; the warm pool serves only requests equal to the server's defaults. */
  limits?: SandboxLimits;
  docker?: boolean;
  /** A maximum age other than the server's (a class that ends sooner). */
  maxAgeMs?: number;
  /** A lab of these named machines (validated by the caller); absent: one machine. Never from the warm pool. */
  machines?: readonly string[];
  /** The network address it comes from, counted against maxSandboxesPerAddress. */
  address?: string;
  /**
   * False when nothing yet shows that the owner can come back for it (a
   * browser seen for the first time); it is then released after the short
   * unclaimed idle timeout until claim() is called. Default true.
   */
  claimed?: boolean;
  /** Who else it belongs to (class mode: class, student…): kept with it across restarts (SandboxRecord.tags). */
  tags?: Record<string, string | number>;
}

/** Whose a managed sandbox is and how it is opened (ManagedSandboxOptions, as the manager sets them). */
interface ManagedBy {
  owner: string;
  address: string | undefined;
  claimed: boolean;
  /** Known when this process made the sandbox. */
  token?: string;
  tokenHashes: readonly string[];
  maxAgeMs: number;
  tags: Record<string, string | number>;
  /** The shell the warm pool started in it, for its first terminal. */
  warmShell?: WarmShell | undefined;
  /** What it was made with (a lone machine is made the same again by resetSandbox). */
  spec: { limits: SandboxLimits; docker: boolean };
}

export class ShuttingDownError extends Error {
  override name = 'ShuttingDownError';
}

const HOST_RETRY_AFTER_SECONDS = 30;
const CLIENT_RETRY_AFTER_SECONDS = 60;
const TOMBSTONES_KEPT = 1000;

export interface Tombstone {
  reason: DestroyReason;
  at: Date;
}

export class SandboxManager implements MetricsState {
  private readonly options: ManagerOptions;
  private readonly log: Logger;
  private readonly assigned = new Map<string, ManagedSandbox>();
  /** Destructions under way, by sandbox id. */
  private readonly destroying = new Map<string, Promise<void>>();
  private readonly tombstones = new Map<string, Tombstone>();
  /** Sandboxes being made for readers, by client key. */
  private readonly creatingFor = new Map<string, number>();
  /** Sandboxes being made for readers, by network address. */
  private readonly creatingFrom = new Map<string, number>();
  private creatingForReaders = 0;
  private readonly pool: WarmPool;
  private shuttingDown = false;

  constructor(options: ManagerOptions) {
    this.options = options;
    this.log = options.log;
    this.pool = new WarmPool({
      target: options.warmPoolSize,
      log: options.log.child({ component: 'warm-pool' }),
      create: () => this.makeWarmSandbox(),
      hasRoom: () => this.total() < this.options.maxSandboxes,
      readersWaiting: () => this.creatingForReaders > 0,
      discard: (sandbox, reason) => this.destroyDriverSandbox(sandbox, reason),
    });
  }

  /** Start filling the warm pool. */
  start(): void {
    this.pool.wake();
  }

  /** A running sandbox; one being destroyed is already gone for the API (its tombstone says why). */
  get(id: string): ManagedSandbox | undefined {
    const managed = this.assigned.get(id);
    return managed?.state === 'running' ? managed : undefined;
  }

  /** Every running sandbox handed out (class mode finds the ones it took over after a restart by their tags). */
  running(): ManagedSandbox[] {
    return [...this.assigned.values()].filter((managed) => managed.state === 'running');
  }

  /** New tags for sandbox `id` (a student's new link): in memory and in the records. */
  setTags(id: string, tags: Record<string, string | number>): void {
    const managed = this.get(id);
    if (!managed) return;
    managed.tags = { ...tags };
    this.recordsDo('tags', (records) => records.setTags(id, tags));
  }

  tombstone(id: string): Tombstone | undefined {
    return this.tombstones.get(id);
  }

  /** A sandbox for `client`: from the pool when one is ready, else made now. */
  async create(client: string, request: SandboxRequest = {}): Promise<{ sandbox: ManagedSandbox; token: string; fromPool: boolean }> {
    if (this.shuttingDown) throw new ShuttingDownError('The server is shutting down.');
    const held = this.ownedBy(client) + (this.creatingFor.get(client) ?? 0);
    if (held >= this.options.maxSandboxesPerClient) {
      throw new CapacityError(
        'client',
        `You already have ${held} sandbox${held > 1 ? 'es' : ''}, the most one reader may hold at once.`,
        'Delete one you no longer use with DELETE /api/sandboxes/:id (a browser that keeps the reader cookie gets its one machine back in every tab), then try again.',
        CLIENT_RETRY_AFTER_SECONDS,
      );
    }
    const address = request.address;
    const fromAddress = address === undefined ? 0 : this.heldFrom(address) + (this.creatingFrom.get(address) ?? 0);
    const perAddress = this.options.maxSandboxesPerAddress;
    if (address !== undefined && perAddress !== undefined && fromAddress >= perAddress) {
      throw new CapacityError(
        'address',
        `Your network address already holds ${fromAddress} sandboxes, the most one address may hold at once.`,
        'Readers behind one address (a classroom behind NAT) share this ceiling: MAX_SANDBOXES_PER_ADDRESS raises it.',
        CLIENT_RETRY_AFTER_SECONDS,
      );
    }
    this.creatingFor.set(client, (this.creatingFor.get(client) ?? 0) + 1);
    if (address !== undefined) this.creatingFrom.set(address, (this.creatingFrom.get(address) ?? 0) + 1);
    try {
      const { sandbox, fromPool, shell } = await this.obtain(request);
      if (this.shuttingDown) {
        await this.destroyDriverSandbox(sandbox, 'shutdown');
        throw new ShuttingDownError('The server is shutting down.');
      }
      const token = newToken();
      const managed = this.manage(sandbox, {
        owner: client,
        address,
        claimed: request.claimed ?? true,
        token,
        tokenHashes: [tokenHash(token)],
        maxAgeMs: request.maxAgeMs ?? this.options.maxAgeMs,
        tags: request.tags ?? {},
        warmShell: shell,
        spec: { limits: request.limits ?? this.options.limits, docker: request.docker ?? this.options.docker },
      });
      this.persist({
        id: sandbox.id,
        tokenHashes: [tokenHash(token)],
        owner: client,
        address,
        claimed: request.claimed ?? true,
        limits: request.limits ?? this.options.limits,
        docker: request.docker ?? this.options.docker,
        createdAt: managed.createdAt,
        expiresAt: managed.expiresAt,
        idleSince: managed.idleStartedAt,
        tags: request.tags ?? {},
        machines: sandbox.machines,
      });
      this.options.metrics.sandboxesHandedOut.inc({ from: fromPool ? 'pool' : 'cold' });
      managed.log.info({ client, fromPool, expiresAt: managed.expiresAt.toISOString() }, 'sandbox handed out');
      return { sandbox: managed, token, fromPool };
    } finally {
      const left = (this.creatingFor.get(client) ?? 1) - 1;
      if (left === 0) this.creatingFor.delete(client);
      else this.creatingFor.set(client, left);
      if (address !== undefined) {
        const leftFrom = (this.creatingFrom.get(address) ?? 1) - 1;
        if (leftFrom === 0) this.creatingFrom.delete(address);
        else this.creatingFrom.set(address, leftFrom);
      }
      this.pool.wake();
    }
  }

  private manage(sandbox: Sandbox, who: ManagedBy, restored?: SandboxRecord): ManagedSandbox {
    const { maxAgeMs, ...owner } = who;
    const managed = new ManagedSandbox({
      sandbox,
      ...owner,
      unclaimedIdleTimeoutMs: this.options.unclaimedIdleTimeoutMs,
      log: this.log.child({ sandbox: sandbox.id }),
      metrics: this.options.metrics,
      idleTimeoutMs: this.options.idleTimeoutMs,
      maxAgeMs,
      maxTerminals: this.options.maxTerminalsPerSandbox * (sandbox.machines?.length ?? 1),
      onExpire: (expired, reason) => void this.expire(expired, reason).catch(this.failed({ sandbox: expired.id, during: `expiry (${reason})` })),
      onIdleChange: (since) => this.recordsDo('idle clock', (records) => records.setIdleSince(sandbox.id, since)),
      onTokensChange: (hashes) => this.recordsDo('tokens', (records) => records.setTokenHashes(sandbox.id, hashes)),
      onClaim: () => this.recordsDo('claim', (records) => records.setClaimed(sandbox.id)),
      ...(restored ? { restored: { createdAt: restored.createdAt, expiresAt: restored.expiresAt, idleSince: restored.idleSince } } : {}),
    });
    this.assigned.set(sandbox.id, managed);
    this.watchDeath(managed, sandbox);
    return managed;
  }

  /** A machine that dies on its own ends its managed sandbox (not one it was replaced by: resetSandbox). */
  private watchDeath(managed: ManagedSandbox, sandbox: Sandbox): void {
    sandbox.onExit((reason) => {
      if (this.assigned.get(sandbox.id) !== managed || managed.sandbox !== sandbox) return;
      managed.log.warn({ reason }, 'sandbox died');
      void this.destroy(sandbox.id, isMisbehaviour(reason) ? 'misbehaved' : isOutOfMemory(reason) ? 'out-of-memory' : 'died').catch(
        this.failed({ sandbox: sandbox.id, during: 'clean-up after its death' }),
      );
    });
  }

  /**
   * Makes lone machine `id` anew in place (ManagedSandbox.resetWhole): the old
   * machine is destroyed and a new one made under the same id, with the same
   * limits; id, token, owner, expiry and records stay. Its terminals close
   * with 4411 and a French `machine-reset` error. A new machine that fails to
   * start ends the sandbox (`create-failed`), and the error is rethrown.
   */
  async resetSandbox(id: string): Promise<ManagedSandbox> {
    const managed = this.get(id);
    if (!managed) throw new RangeError(`No sandbox ${JSON.stringify(id)}.`);
    const spec = managed.spec;
    if (managed.sandbox.machines || !spec) throw new ResetNotSupportedError('Only a lone machine made by this manager is made anew in place.');
    const started = performance.now();
    const error = loneMachineResetError();
    try {
      await managed.resetWhole(
        async (old) => {
          await old.destroy();
          const next = await this.options.driver.create({ id, ...spec, recordedIn: this.options.records?.path });
          // Deleted (or the server stopped) while the new one was being made: it is nobody's.
          if (managed.state !== 'running') {
            await next.destroy();
            throw new SandboxRetiredError('The sandbox was destroyed while it was being made anew.');
          }
          this.watchDeath(managed, next);
          return next;
        },
        (session) => session.end(CloseCode.machineReset, error.message.slice(0, 100), error),
      );
      managed.log.info({ ms: Math.round(performance.now() - started) }, 'sandbox made anew in place');
      return managed;
    } catch (resetError) {
      managed.log.error({ err: resetError }, 'sandbox reset failed: the sandbox is ended');
      await this.destroy(id, 'create-failed');
      throw resetError;
    }
  }

  private persist(record: SandboxRecord): void {
    this.recordsDo('hand-out', (records) => records.insert(record));
  }

  /** A failed write of the records costs a restart's take-over of that sandbox, never the request. */
  private recordsDo(what: string, work: (records: SandboxRecords) => void): void {
    const records = this.options.records;
    if (!records) return;
    try {
      work(records);
    } catch (error) {
      this.log.error({ err: error, what, db: records.path }, 'sandbox records not written: this sandbox may not survive a restart');
    }
  }

  /**
   * Takes over the sandboxes an earlier server process handed out (before
   * this one answers anybody): each gets its owner, token, clocks and
   * terminals back. Those that died meanwhile are forgotten, with a
   * tombstone that tells their reader why.
   */
  async adoptAll(): Promise<{ adopted: number; lost: number; skipped: number }> {
    const records = this.options.records;
    if (!records) return { adopted: 0, lost: 0, skipped: 0 };
    const { claimed, othersLive } = records.claimOrphans();
    if (othersLive > 0)
      this.log.warn({ db: records.path, sandboxes: othersLive }, 'another live server process runs sandboxes recorded in this file: left alone');
    let adopted = 0;
    let lost = 0;
    let skipped = 0;
    const started = performance.now();
    await Promise.all(
      claimed.map(async (record) => {
        try {
          const sandbox = await this.options.driver.adopt({
            id: record.id,
            limits: record.limits,
            docker: record.docker,
            recordedIn: records.path,
            ...(record.machines ? { machines: record.machines.map(({ name }) => name), addresses: record.machines.map(({ address }) => address) } : {}),
          });
          const managed = this.manage(
            sandbox,
            {
              owner: record.owner,
              address: record.address,
              claimed: record.claimed,
              tokenHashes: record.tokenHashes,
              maxAgeMs: record.expiresAt.getTime() - record.createdAt.getTime(),
              tags: record.tags,
              spec: { limits: record.limits, docker: record.docker },
            },
            record,
          );
          await managed.restoreTerminals(sandbox.restoredTerminals());
          adopted++;
          managed.log.info({ client: record.owner, terminals: sandbox.restoredTerminals().map(({ name }) => name) }, 'sandbox taken over after a restart');
        } catch (error) {
          if (error instanceof SandboxLostError) {
            lost++;
            this.recordsDo('forget lost', (store) => store.delete(record.id));
            this.remember(record.id, 'lost');
            this.options.metrics.sandboxesDestroyed.inc({ reason: 'lost' });
            this.log.warn({ sandbox: record.id, reason: error.message }, 'sandbox lost while the server was down');
          } else {
            skipped++;
            this.log.error({ sandbox: record.id, err: error }, 'sandbox not taken over; its record is kept');
          }
        }
      }),
    );
    this.log.info({ adopted, lost, skipped, ms: Math.round(performance.now() - started) }, 'sandboxes of the previous server process taken over');
    return { adopted, lost, skipped };
  }

  /** Take a pooled sandbox, wait for the one the pool is making, or make one (capacity permitting). */
  private async obtain(request: SandboxRequest = {}): Promise<{ sandbox: Sandbox; fromPool: boolean; shell?: WarmShell | undefined }> {
    const limits = request.limits ?? this.options.limits;
    const docker = request.docker ?? this.options.docker;
    const machines = request.machines;
    const pooledFits =
      machines === undefined &&
      docker === this.options.docker &&
      (Object.keys(limits) as (keyof SandboxLimits)[]).every((key) => limits[key] === this.options.limits[key]);
    for (;;) {
      const pooled = pooledFits ? this.pool.take() : undefined;
      if (pooled) return { ...pooled, fromPool: true };
      // The pool is already making one: waiting for it is faster than starting a second on a busy host.
      if (pooledFits && this.pool.creating > 0) {
        await this.pool.settled();
        continue;
      }
      // Capacity counts machines: a lab of three takes three.
      if (this.total() + (machines?.length ?? 1) > this.options.maxSandboxes) {
        throw new CapacityError(
          'host',
          `The server is running its maximum of ${this.options.maxSandboxes} machines.`,
          'Try again in a little while: sandboxes are freed when readers leave.',
          HOST_RETRY_AFTER_SECONDS,
        );
      }
      const weight = machines?.length ?? 1;
      this.creatingForReaders += weight;
      try {
        return { sandbox: await this.makeSandbox('request', limits, docker, machines), fromPool: false };
      } finally {
        this.creatingForReaders -= weight;
      }
    }
  }

  /** A pooled machine with its first shell started (a machine whose shell fails to start is pooled without). */
  private async makeWarmSandbox(): Promise<PooledSandbox> {
    const sandbox = await this.makeSandbox('pool');
    try {
      return { sandbox, shell: await WarmShell.start(sandbox) };
    } catch (error) {
      this.log.warn({ sandbox: sandbox.id, err: error }, 'warm pool: no shell started ahead in this machine');
      return { sandbox };
    }
  }

  private async makeSandbox(
    source: 'pool' | 'request',
    limits = this.options.limits,
    docker = this.options.docker,
    machines?: readonly string[],
  ): Promise<Sandbox> {
    const id = newSandboxId();
    const started = performance.now();
    const sandbox = await this.options.driver.create({ id, limits, docker, recordedIn: this.options.records?.path, ...(machines ? { machines } : {}) });
    const seconds = (performance.now() - started) / 1000;
    this.options.metrics.sandboxStartSeconds.observe({ source }, seconds);
    this.options.metrics.sandboxesCreated.inc({ source });
    this.log.info({ sandbox: id, source, startMs: Math.round(seconds * 1000) }, 'sandbox created');
    return sandbox;
  }

  /**
   * Makes machines `names` of lab `id` anew, the others running on (see
   * ManagedSandbox.resetMachines). Their terminals close with 4411 and a
   * French `machine-reset` error naming the machine. A machine that fails to
   * start again leaves a lab short of it: the whole lab is then ended (its
   * reader gets a new one), and the error is rethrown.
   */
  async resetMachines(id: string, names: readonly string[]): Promise<LabMachine[]> {
    const managed = this.get(id);
    if (!managed) throw new RangeError(`No sandbox ${JSON.stringify(id)}.`);
    const started = performance.now();
    try {
      const machines = await managed.resetMachines(names, (session, machine) => {
        const error = machineResetError(machine);
        session.end(CloseCode.machineReset, error.message.slice(0, 100), error);
      });
      managed.log.info({ machines: names, ms: Math.round(performance.now() - started) }, 'lab machines reset');
      return machines;
    } catch (error) {
      if (error instanceof RangeError || error instanceof ResetNotSupportedError) throw error;
      managed.log.error({ err: error, machines: names }, 'lab machine reset failed: the lab is ended');
      await this.destroy(id, 'create-failed');
      throw error;
    }
  }

  /** Destroy sandbox `id`; resolves once the driver has removed it. Unknown ids are ignored. */
  async destroy(id: string, reason: DestroyReason): Promise<void> {
    // Already on its way out (it died, was deleted…): wait for that, so that shutdown waits for it too.
    const inFlight = this.destroying.get(id);
    if (inFlight) return inFlight;
    const managed = this.assigned.get(id);
    if (managed?.state !== 'running') return;
    const error = closingError(reason);
    const code = reason === 'shutdown' ? CloseCode.goingAway : CloseCode.gone;
    managed.retire((session) => session.end(code, error.message.slice(0, 100), error));
    this.remember(id, reason);
    const done = (async () => {
      try {
        await this.destroyDriverSandbox(managed.sandbox, reason);
      } finally {
        this.assigned.delete(id);
        this.destroying.delete(id);
        this.recordsDo('forget', (records) => records.delete(id));
        this.pool.wake();
      }
    })();
    this.destroying.set(id, done);
    return done;
  }

  private async expire(managed: ManagedSandbox, reason: ExpiryReason): Promise<void> {
    managed.log.info({ reason }, 'sandbox expired');
    await this.destroy(managed.id, reason);
  }

  private async destroyDriverSandbox(sandbox: Sandbox, reason: DestroyReason): Promise<void> {
    try {
      await sandbox.destroy();
      this.options.metrics.sandboxesDestroyed.inc({ reason });
      this.log.info({ sandbox: sandbox.id, reason }, 'sandbox destroyed');
    } catch (error) {
      this.log.error({ sandbox: sandbox.id, reason, err: error }, "sandbox destroy failed; the driver's cleanupLeftovers() will retry at next start");
    }
  }

  /** Refuse new sandboxes and destroy every one, the pool's included: stopping for good. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    await Promise.all([this.pool.stop(), ...[...this.assigned.keys()].map((id) => this.destroy(id, 'shutdown'))]);
  }

  /** For background work nobody awaits: its failure is logged with the machine's id, never left unhandled. */
  private failed(fields: Record<string, unknown>): (error: unknown) => void {
    return reportRejection(this.log, this.options.metrics.failuresContained, 'manager', fields);
  }

  /**
   * Refuse new sandboxes and let go of every handed-out one, still running,
   * for the next server process (the pool's, which nobody holds, are
   * destroyed). Their readers are told the server restarts: their pages
   * reconnect by themselves.
   */
  async detachAll(): Promise<{ kept: number; destroyed: number }> {
    this.shuttingDown = true;
    const error: ErrorInfo = {
      code: 'server-restarting',
      lang: 'fr',
      message: 'Le serveur redémarre : votre machine et vos terminaux sont conservés.',
      hint: 'La page se reconnecte toute seule dans un instant.',
    };
    let kept = 0;
    let destroyed = 0;
    await Promise.all([
      // Machines already on their way out (one that just died, a reader's DELETE) are finished
      // first: a process that exits mid-removal leaves a uid range held, or cgroups, behind.
      ...this.destroying.values(),
      this.pool.stop(),
      ...[...this.assigned.values()].map(async (managed) => {
        if (managed.state !== 'running') return;
        managed.retire((session) => session.end(CloseCode.goingAway, 'server restarting', error));
        const idleSince = managed.idleStartedAt ?? new Date();
        try {
          const result = await managed.sandbox.detach();
          if (result.kept) {
            kept++;
            this.recordsDo('idle clock', (records) => records.setIdleSince(managed.id, idleSince));
          } else {
            destroyed++;
            this.recordsDo('forget', (records) => records.delete(managed.id));
          }
        } catch (detachError) {
          managed.log.error({ err: detachError }, 'sandbox not detached cleanly');
        } finally {
          this.assigned.delete(managed.id);
        }
      }),
    ]);
    this.log.info({ kept, destroyed }, 'sandboxes detached for the next server process');
    return { kept, destroyed };
  }

  private remember(id: string, reason: DestroyReason): void {
    this.tombstones.set(id, { reason, at: new Date() });
    if (this.tombstones.size > TOMBSTONES_KEPT) {
      const oldest = this.tombstones.keys().next().value;
      if (oldest !== undefined) this.tombstones.delete(oldest);
    }
  }

  /** The running machine `client` holds (the newest, should it hold several), if any. */
  ownedSandbox(client: string, fits: (managed: ManagedSandbox) => boolean = () => true): ManagedSandbox | undefined {
    let newest: ManagedSandbox | undefined;
    for (const managed of this.assigned.values()) {
      if (managed.owner === client && managed.state === 'running' && fits(managed) && (!newest || managed.createdAt >= newest.createdAt)) newest = managed;
    }
    return newest;
  }

  private heldFrom(address: string): number {
    let count = 0;
    for (const managed of this.assigned.values()) if (managed.address === address && managed.state === 'running') count += machineCount(managed.sandbox);
    return count;
  }

  private ownedBy(client: string): number {
    let count = 0;
    for (const managed of this.assigned.values()) if (managed.owner === client && managed.state === 'running') count++;
    return count;
  }

  /** Machines on this host: a lab counts each of its machines. */
  private total(): number {
    let assigned = 0;
    for (const managed of this.assigned.values()) assigned += machineCount(managed.sandbox);
    return assigned + this.pool.ready + this.pool.creating + this.creatingForReaders;
  }

  // ── MetricsState ──
  /** In machines, as MAX_SANDBOXES counts them: a lab of three is three (as `creating` already was). */
  sandboxes(): { assigned: number; pool: number; creating: number } {
    let assigned = 0;
    for (const managed of this.assigned.values()) assigned += machineCount(managed.sandbox);
    return { assigned, pool: this.pool.ready, creating: this.pool.creating + this.creatingForReaders };
  }

  terminals(): { open: number; attached: number; paused: number; unackedBytes: number; bufferedBytes: number } {
    const totals = { open: 0, attached: 0, paused: 0, unackedBytes: 0, bufferedBytes: 0 };
    for (const managed of this.assigned.values()) {
      for (const session of managed.terminalSessions) {
        totals.open++;
        if (session.attached) totals.attached++;
        if (session.paused) totals.paused++;
        totals.unackedBytes += session.unackedBytes;
        totals.bufferedBytes += session.bufferedBytes;
      }
    }
    return totals;
  }
}

/** What a client attached to a sandbox is told when it goes away. */
export function closingError(reason: DestroyReason): ErrorInfo {
  switch (reason) {
    case 'shutdown':
      return { code: 'server-shutting-down', message: 'The sandbox server is shutting down.', hint: 'Reload the page in a moment to get a new sandbox.' };
    case 'idle':
      return { code: 'gone', message: 'The sandbox was closed after a long time with no terminal open.', hint: 'Reload the page to get a new sandbox.' };
    case 'max-age':
      return { code: 'gone', message: 'The sandbox reached its maximum lifetime and was closed.', hint: 'Reload the page to get a new sandbox.' };
    // Readers read French (the lesson's language).
    case 'died':
      return {
        code: 'gone',
        lang: 'fr',
        message: "Votre machine s'est arrêtée : son agent, le programme qui fait vivre vos terminaux, a cessé de fonctionner.",
        hint: "Cliquez sur « Réinitialiser la machine » pour repartir d'une machine neuve.",
      };
    case 'out-of-memory':
      return {
        code: 'gone',
        lang: 'fr',
        message:
          "Votre machine s'est arrêtée : sa mémoire était pleine, et le noyau a dû arrêter le programme qui fait vivre vos terminaux (un tmpfs rempli, par exemple, ne se vide pas tout seul).",
        hint: "Cliquez sur « Réinitialiser la machine » pour repartir d'une machine neuve ; ce qui l'a remplie la remplira de nouveau.",
      };
    case 'lost':
      return {
        code: 'gone',
        lang: 'fr',
        message: "Votre machine s'est arrêtée pendant le redémarrage du serveur.",
        hint: "Cliquez sur « Réinitialiser la machine » pour repartir d'une machine neuve.",
      };
    // Root inside broke the rules the host enforces (flooded it, stopped its agent…): said in French, as to a reader.
    case 'misbehaved':
      return {
        code: 'gone',
        lang: 'fr',
        message: 'Votre machine a été arrêtée : elle ne respectait plus les règles du serveur (trop de données envoyées, ou son agent ne répondait plus).',
        hint: 'Rechargez la page pour obtenir une machine neuve.',
      };
    case 'delete':
    case 'create-failed':
      return { code: 'gone', message: 'The sandbox was deleted.', hint: 'Create a new sandbox (reload the page).' };
    // Class mode (classroom/): students read French.
    case 'instructor':
      return {
        code: 'gone',
        lang: 'fr',
        message: 'Votre formateur a réinitialisé ou arrêté votre machine.',
        hint: 'Cliquez sur Exécuter pour continuer sur une machine neuve.',
      };
    case 'revoked':
      return {
        code: 'gone',
        lang: 'fr',
        message: "Votre lien d'accès ne fonctionne plus (révoqué par votre formateur ou expiré) : votre machine a été arrêtée.",
        hint: 'Demandez un nouveau lien à votre formateur.',
      };
  }
}

/** What the terminals of a lab's machine being reset are told (French: readers and students read it). */
export function machineResetError(machine: string): ErrorInfo {
  return {
    code: 'machine-reset',
    lang: 'fr',
    message: `La machine ${machine} a été réinitialisée : ses terminaux ont été fermés.`,
    hint: "Rouvrez le terminal : il démarre sur la machine neuve, qui garde son nom et son adresse. Les autres machines n'ont pas bougé.",
  };
}

/** What the terminals of a lone machine being made anew are told (French: readers and students read it). */
export function loneMachineResetError(): ErrorInfo {
  return {
    code: 'machine-reset',
    lang: 'fr',
    message: 'Votre machine a été réinitialisée : ses terminaux ont été fermés.',
    hint: "Rouvrez le terminal : il démarre sur la machine neuve, qui repart de zéro (vos fichiers et vos commandes d'avant n'y sont plus).",
  };
}

/** How many machines a sandbox is (a lab is several). */
function machineCount(sandbox: Sandbox): number {
  return sandbox.machines?.length ?? 1;
}
