import { createHash } from 'node:crypto';
import pg from 'pg';
import { type Pool, type PoolClient, transactionScope } from '../db/pool.js';
import type { Logger } from '../logger.js';

/**
 * A 64-bit advisory-lock key derived from a name, as the decimal string PostgreSQL casts to bigint.
 * Advisory locks are per database, so the same name in two services' databases never collides.
 */
export function advisoryLockKey(name: string): string {
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}

/** What one unit of work reports: run again at once (`more`), or sleep at most `nextInMs`. */
export interface WorkResult {
  more: boolean;
  nextInMs?: number;
}

export interface LeaderLoopOptions {
  /** For logs and `application_name`, e.g. `outbox-relay`. */
  name: string;
  pool: Pool;
  /** Only the holder of this advisory lock (per database) runs `work`; the others stand by. */
  lockName: string;
  /** LISTEN channel whose notifications wake the loop. */
  channel: string;
  /** Filters notifications by payload (e.g. the consumer name); all wake the loop when absent. */
  acceptNotification?: (payload: string) => boolean;
  /** The longest sleep between two runs of `work` when nothing wakes the loop (the polling fallback). */
  pollIntervalMs: number;
  /** How often a standby instance retries to take the lock. */
  standbyRetryMs: number;
  /** Backoff after `work` throws: doubles from `baseMs` up to `maxMs`. */
  errorBackoff: { baseMs: number; maxMs: number };
  logger: Logger;
  /**
   * One unit of work, given the dedicated connection: work that needs no transaction of the pool's
   * may run its queries there (and so holds no pool connection and takes no checkout).
   */
  work: (session: pg.Client) => Promise<WorkResult>;
  /** Prepares each new dedicated connection (session settings) before it is used. */
  onSessionStart?: (session: pg.Client) => Promise<void>;
  /**
   * Periodic chores of the active instance (purges). They run beside `work`, not between two runs
   * of it, so a long purge never holds up publishing or processing; failures are logged, never fatal.
   */
  housekeeping?: { intervalMs: number; run: () => Promise<void> };
  /** Told when this instance becomes active or stops being active (in that order, never overlapping). */
  onLeadershipChange?: (active: boolean) => Promise<void>;
}

const CHANNEL_NAME = /^[a-z_][a-z0-9_]*$/;

// The running loops of this process, by the pool they serve (see wakeLocalLoopAfterCommit).
const localLoops = new WeakMap<Pool, Set<LeaderLoop>>();

/**
 * Wakes this process's active loop for `channel` (whose notification filter accepts `payload`) on
 * the database of `tx` once `tx` commits, and returns true; returns false when there is no such
 * loop here, or when `tx` was not opened by `withTransaction` (no commit to wait for) — the caller
 * NOTIFYs instead. Why not always NOTIFY: a transaction that notified takes, at COMMIT, a lock
 * that is global to the PostgreSQL server and holds it through its WAL flush, so notifying
 * transactions commit one at a time across every database of the server — under thousands of
 * events a second, a queue in front of every commit. Only a loop in another process needs the
 * notification; one in this process is woken directly. (Leadership can move between this check
 * and the commit; the new leader's polling then picks the rows up.)
 *
 * @example
 * const notify = !wakeLocalLoopAfterCommit(tx, OUTBOX_CHANNEL);
 */
export function wakeLocalLoopAfterCommit(tx: PoolClient, channel: string, payload = ''): boolean {
  const scope = transactionScope(tx);
  if (!scope) return false;
  for (const loop of localLoops.get(scope.pool) ?? []) {
    if (loop.active && loop.listensTo(channel, payload)) {
      scope.afterCommit(() => loop.wake());
      return true;
    }
  }
  return false;
}

/**
 * Runs `work` in a loop on exactly one instance per database: the one holding a session advisory
 * lock on a dedicated connection (not taken from the pool, so the pool keeps its full size). That
 * connection also LISTENs for wake-ups; a timer is the fallback when a notification is missed.
 *
 * The lock is an efficiency measure, not what correctness rests on: if the dedicated connection
 * drops, another instance may take over while this one finishes its current run, so every `work`
 * must be safe to overlap (the relay may publish twice, which consumers absorb; the inbox worker
 * locks the rows it claims).
 */
export class LeaderLoop {
  private running = false;
  private loopDone: Promise<void> | undefined;
  private session: pg.Client | undefined;
  private leader = false;
  private wakeRequested = false;
  private signal: (() => void) | undefined;
  private exclusive: Promise<unknown> = Promise.resolve();
  private leadership: Promise<void> = Promise.resolve();
  private nextHousekeepingAt = 0;
  private housekeeping: Promise<void> | undefined;
  private readonly lockKey: string;

  constructor(private readonly opts: LeaderLoopOptions) {
    if (!CHANNEL_NAME.test(opts.channel)) throw new Error(`not a LISTEN channel name: ${opts.channel}`);
    this.lockKey = advisoryLockKey(opts.lockName);
  }

  /** Whether this instance currently holds the lock and runs the work. */
  get active(): boolean {
    return this.leader;
  }

  /** Whether a notification on `channel` with `payload` wakes this loop. */
  listensTo(channel: string, payload: string): boolean {
    return channel === this.opts.channel && (this.opts.acceptNotification?.(payload) ?? true);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const loops = localLoops.get(this.opts.pool) ?? new Set<LeaderLoop>();
    localLoops.set(this.opts.pool, loops);
    loops.add(this);
    this.loopDone = this.loop();
  }

  /** Stops after the current run of `work`, releases the lock and closes the dedicated connection. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    localLoops.get(this.opts.pool)?.delete(this);
    this.interrupt();
    await this.loopDone;
    await this.housekeeping;
    await this.endSession();
    await this.leadership;
  }

  /** Asks for a run as soon as possible (coalesced: many wakes during a run cause one more run). */
  wake(): void {
    this.wakeRequested = true;
    this.interrupt();
  }

  /** Runs `fn` after any in-flight work of this instance, so a manual drain never overlaps the loop. */
  runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.exclusive.then(fn, fn);
    this.exclusive = run.catch(() => {});
    return run;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        if (!(await this.ensureLeadership())) {
          await this.pause(this.opts.standbyRetryMs, false);
          continue;
        }
        this.housekeepIfDue();
        this.wakeRequested = false;
        const session = this.session;
        if (!session) continue;
        const result = await this.runExclusive(() => this.opts.work(session));
        failures = 0;
        if (result.more) continue;
        await this.pause(
          Math.min(this.opts.pollIntervalMs, result.nextInMs ?? Number.POSITIVE_INFINITY),
          true,
        );
      } catch (err) {
        failures++;
        const { baseMs, maxMs } = this.opts.errorBackoff;
        const retryInMs = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
        this.opts.logger.error(
          { err, loop: this.opts.name, failures, retryInMs },
          `${this.opts.name} failed; retrying`,
        );
        await this.pause(retryInMs, false);
      }
    }
  }

  private async ensureLeadership(): Promise<boolean> {
    if (this.leader && this.session) return true;
    const session = this.session ?? (await this.connect());
    const { rows } = await session.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock($1::bigint) AS locked',
      [this.lockKey],
    );
    if (!rows[0]?.locked || this.session !== session) return false;
    this.leader = true;
    this.opts.logger.info({ loop: this.opts.name }, `${this.opts.name} is active`);
    await this.changeLeadership(true);
    return true;
  }

  private async connect(): Promise<pg.Client> {
    const base = this.opts.pool.options;
    const client = new pg.Client({
      ...base,
      application_name: `${base.application_name ?? 'assetops'}:${this.opts.name}`.slice(0, 63),
      keepAlive: true,
    });
    client.on('error', (err) => this.sessionLost(client, err));
    client.on('end', () => this.sessionLost(client));
    client.on('notification', (msg) => {
      if (msg.channel !== this.opts.channel) return;
      if (this.opts.acceptNotification && !this.opts.acceptNotification(msg.payload ?? '')) return;
      this.wake();
    });
    try {
      await client.connect();
      // The channel is a constant checked against CHANNEL_NAME above: LISTEN takes no parameters.
      await client.query(`LISTEN ${this.opts.channel}`);
      await this.opts.onSessionStart?.(client);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    this.session = client;
    return client;
  }

  private sessionLost(client: pg.Client, err?: Error): void {
    if (this.session !== client) return;
    this.session = undefined;
    client.end().catch(() => {});
    if (this.leader) {
      // The server released the lock with the session; another instance may already hold it.
      this.leader = false;
      this.opts.logger.warn(
        { err, loop: this.opts.name },
        `${this.opts.name} lost its database session; standing by`,
      );
      void this.changeLeadership(false);
    }
    this.wake();
  }

  private async endSession(): Promise<void> {
    const client = this.session;
    this.session = undefined;
    if (client) {
      if (this.leader)
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [this.lockKey]).catch(() => {});
      await client.end().catch(() => {});
    }
    if (this.leader) {
      this.leader = false;
      await this.changeLeadership(false);
    }
  }

  private changeLeadership(active: boolean): Promise<void> {
    const callback = this.opts.onLeadershipChange;
    if (!callback) return Promise.resolve();
    this.leadership = this.leadership.then(() =>
      callback(active).catch((err: unknown) => {
        this.opts.logger.error(
          { err, loop: this.opts.name, active },
          `${this.opts.name}: leadership change failed`,
        );
      }),
    );
    return this.leadership;
  }

  private housekeepIfDue(): void {
    const chores = this.opts.housekeeping;
    if (!chores || this.housekeeping || Date.now() < this.nextHousekeepingAt) return;
    this.nextHousekeepingAt = Date.now() + chores.intervalMs;
    this.housekeeping = chores
      .run()
      .catch((err: unknown) => {
        this.opts.logger.warn({ err, loop: this.opts.name }, `${this.opts.name}: housekeeping failed`);
      })
      .finally(() => {
        this.housekeeping = undefined;
      });
  }

  private interrupt(): void {
    const signal = this.signal;
    this.signal = undefined;
    signal?.();
  }

  /** Sleeps `ms`; `stop()` always cuts it short, `wake()` only when `wakeable`. */
  private pause(ms: number, wakeable: boolean): Promise<void> {
    if (!this.running || (wakeable && this.wakeRequested)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.signal === onSignal) this.signal = undefined;
        resolve();
      };
      const onSignal = () => {
        if (!this.running || wakeable) done();
        else this.signal = onSignal;
      };
      const timer = setTimeout(done, ms);
      this.signal = onSignal;
    });
  }
}
