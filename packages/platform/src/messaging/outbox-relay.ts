import type { EventEnvelope } from '@assetops/contracts';
import type pg from 'pg';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { type Pool, type Queryable, withTransaction } from '../db/pool.js';
import type { Logger } from '../logger.js';
import { LeaderLoop } from './leader-loop.js';
import { OUTBOX_CHANNEL } from './outbox.js';
import type { EventBus } from './types.js';

/** One outbox row as the relay hands it to the bus. */
export interface OutboxRecord {
  position: number;
  event: EventEnvelope;
  /** When the appending transaction started (PostgreSQL `now()`), i.e. just before it committed. */
  createdAt: Date;
}

export interface OutboxRelayOptions {
  /** The producing service's pool; the relay also opens one dedicated connection of its own. */
  pool: Pool;
  bus: EventBus;
  logger: Logger;
  /** Events published per bus call (whole packed rows, and at least one row). Default 500. */
  batchSize?: number;
  /** Polling fallback when no NOTIFY arrives. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Published rows are deleted this long after publication. Default 24 h. */
  retentionMs?: number;
  /** How often the active relay purges. Default 10 min. */
  purgeIntervalMs?: number;
  /** How often a standby relay tries to become the active one. Default 5 s. */
  standbyRetryMs?: number;
  /** Backoff after a failed publish: doubles from `baseMs` to `maxMs`. Default 200 ms … 30 s. */
  errorBackoff?: { baseMs: number; maxMs: number };
  /** Registers `assetops_outbox_*` metrics here (one relay per registry). */
  metrics?: Registry;
  /** Called after the bus acknowledged a batch, before the rows are marked (lag measurements). */
  onPublished?: (batch: readonly OutboxRecord[], ackedAt: Date) => void;
  /**
   * Test hook, runs between publish and mark. Throwing from it simulates a relay that crashed after
   * publishing: the rows stay unpublished and the same batch is published again on the next pass.
   */
  afterPublish?: (batch: readonly OutboxRecord[]) => Promise<void>;
}

/**
 * The outbox relay of one service; see {@link createOutboxRelay}.
 */
export interface OutboxRelay {
  /** Starts relaying in the background (as the active relay, or as a standby). */
  start(): void;
  /** Finishes the batch in flight, then stops and releases the active role. */
  stop(): Promise<void>;
  /** Publishes everything pending now, whether or not this instance is the active one. Returns how many rows. */
  drain(): Promise<number>;
  /** Deletes published rows older than the retention now. Returns how many. */
  purge(): Promise<number>;
  /** Whether this instance holds the relay lock. */
  readonly active: boolean;
}

interface OutboxRow {
  position: number;
  /** An array for a packed row. */
  event: EventEnvelope | EventEnvelope[];
  created_at: Date;
}

const PURGE_CHUNK = 10_000;

/**
 * Publishes a service's outbox to the bus, in `position` order, at least once. Exactly one relay
 * per database is active (a session advisory lock); others stand by and take over when it goes.
 *
 * A pass selects the oldest rows with `published_at IS NULL`, publishes them as one batch, then
 * marks them. It never skips a row: a transaction that committed late with a lower position is
 * simply picked up by the next pass (selection is by "unpublished", not by a high-water mark).
 * Order per subject holds because producers lock the aggregate row before appending, so two events
 * of one subject can never be in flight in concurrent transactions. A crash between publish and
 * mark publishes the batch again; JetStream's duplicate window and the consumers' inbox absorb it.
 * Woken by NOTIFY on commit, with polling as the fallback.
 *
 * @example
 * const relay = createOutboxRelay({ pool, bus, logger, metrics });
 * relay.start();
 * // on shutdown: await relay.stop();
 */
export function createOutboxRelay(opts: OutboxRelayOptions): OutboxRelay {
  const { pool, bus, logger } = opts;
  const batchSize = opts.batchSize ?? 500;
  const retentionMs = opts.retentionMs ?? 24 * 60 * 60 * 1000;
  const metrics = opts.metrics ? relayMetrics(opts.metrics, pool) : undefined;

  /**
   * One batch: claim, publish, mark. On the relay's own session when it has one, else on the pool.
   * Returns how many events it published (a packed row counts its events).
   */
  async function publishPass(session?: pg.Client): Promise<number> {
    const rows = session
      ? (await session.query<OutboxRow>(CLAIM, [batchSize])).rows
      : await claimPending(pool, batchSize);
    if (rows.length === 0) return 0;
    const batch: OutboxRecord[] = [];
    for (const r of rows) {
      // A packed row (see appendToOutbox) holds its events in order: published one by one.
      for (const event of Array.isArray(r.event) ? r.event : [r.event])
        batch.push({ position: r.position, event, createdAt: r.created_at });
    }
    await bus.publish(batch.map((r) => r.event));
    const ackedAt = new Date();
    if (metrics) {
      for (const record of batch)
        metrics.lag.observe((ackedAt.getTime() - record.createdAt.getTime()) / 1000);
      metrics.published.inc(batch.length);
    }
    opts.onPublished?.(batch, ackedAt);
    await opts.afterPublish?.(batch);
    await (session ?? pool).query(
      'UPDATE outbox SET published_at = now() WHERE position = ANY($1::bigint[])',
      [rows.map((r) => r.position)],
    );
    return batch.length;
  }

  const loop = new LeaderLoop({
    name: 'outbox-relay',
    pool,
    lockName: 'assetops.outbox.relay',
    channel: OUTBOX_CHANNEL,
    pollIntervalMs: opts.pollIntervalMs ?? 1000,
    standbyRetryMs: opts.standbyRetryMs ?? 5000,
    errorBackoff: opts.errorBackoff ?? { baseMs: 200, maxMs: 30_000 },
    logger,
    work: async (session) => ({ more: (await publishPass(session)) >= batchSize }),
    // The session runs nothing but the relay's two queries, so its settings are the relay's own: the
    // planner guards (see CLAIM), and no waiting for the WAL flush when marking rows published — a
    // mark lost in a database crash only means that batch is published once more, which is absorbed.
    onSessionStart: async (session) => {
      await session.query(`${PLANNER_GUARDS}; SET synchronous_commit = off`);
    },
    housekeeping: {
      intervalMs: opts.purgeIntervalMs ?? 10 * 60 * 1000,
      run: async () => {
        const purged = await purgeOutbox(pool, new Date(Date.now() - retentionMs));
        if (purged > 0) logger.info({ purged }, 'outbox purged');
      },
    },
  });

  return {
    start: () => loop.start(),
    stop: () => loop.stop(),
    async drain() {
      let total = 0;
      for (;;) {
        const published = await loop.runExclusive(() => publishPass());
        total += published;
        if (published < batchSize) return total;
      }
    },
    purge: () => purgeOutbox(pool, new Date(Date.now() - retentionMs)),
    get active() {
      return loop.active;
    },
  };
}

/**
 * The oldest unpublished rows, up to `$1` events (a packed row counts its events; the first row is
 * always taken). The query must walk outbox_pending_idx in position order and stop after one
 * batch; with statistics that underestimate the backlog (a fresh table, a burst after a quiet
 * spell) the planner would bitmap-scan and sort the whole backlog on every pass instead —
 * O(backlog²) exactly when catching up — so sorts and bitmap scans are ruled out for this query
 * ({@link PLANNER_GUARDS}). The running sum needs no sort either: it follows the index order.
 * Rows past the cut are never sent to the client (their JSON is not even read).
 */
const CLAIM = `SELECT position, event, created_at
                 FROM (SELECT position, event, created_at, events,
                              sum(events) OVER (ORDER BY position) AS upto
                         FROM outbox
                        WHERE published_at IS NULL
                        ORDER BY position
                        LIMIT $1) claimed
                WHERE upto - events < $1
                ORDER BY position`;
const PLANNER_GUARDS = 'SET enable_sort = off; SET enable_bitmapscan = off';

/** {@link CLAIM} on a pooled connection, with the planner guards for this one transaction. */
async function claimPending(pool: Pool, batchSize: number): Promise<OutboxRow[]> {
  return withTransaction(pool, async (tx) => (await tx.query<OutboxRow>(CLAIM, [batchSize])).rows, {
    begin: 'BEGIN READ ONLY; SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off',
  });
}

/**
 * Deletes outbox rows published before `publishedBefore`, in chunks so that no single statement
 * holds locks or bloats WAL for long. Unpublished rows are never deleted, however old.
 *
 * @example
 * await purgeOutbox(pool, new Date(Date.now() - 24 * 3600_000));
 */
export async function purgeOutbox(db: Queryable, publishedBefore: Date): Promise<number> {
  let total = 0;
  for (;;) {
    const { rowCount } = await db.query(
      `DELETE FROM outbox
        WHERE position IN (SELECT position FROM outbox
                            WHERE published_at IS NOT NULL AND published_at < $1
                            LIMIT $2)`,
      [publishedBefore, PURGE_CHUNK],
    );
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < PURGE_CHUNK) return total;
  }
}

function relayMetrics(registry: Registry, pool: Pool) {
  const lag = new Histogram({
    name: 'assetops_outbox_relay_lag_seconds',
    help: 'Time from the outbox append (transaction start) to the bus acknowledging the event',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const published = new Counter({
    name: 'assetops_outbox_published_total',
    help: 'Outbox events acknowledged by the bus (a republished batch counts again)',
    registers: [registry],
  });
  new Gauge({
    name: 'assetops_outbox_pending',
    help: 'Outbox events not yet published (a packed row counts its events)',
    registers: [registry],
    async collect() {
      // Served by the partial index on pending rows: cheap however large the table is. A failed
      // query keeps the last value rather than failing the whole scrape.
      const result = await pool
        .query<{ pending: number }>(
          'SELECT coalesce(sum(events), 0)::int AS pending FROM outbox WHERE published_at IS NULL',
        )
        .catch(() => undefined);
      if (result) this.set(result.rows[0]?.pending ?? 0);
    },
  });
  return { lag, published };
}
