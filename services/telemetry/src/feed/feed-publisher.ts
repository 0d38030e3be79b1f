import { type MetricWindow, TelemetryAggregated, type TelemetryAggregatedData } from '@assetops/contracts';
import {
  appendToOutbox,
  type Clock,
  createEvent,
  type IdGenerator,
  LeaderLoop,
  type Logger,
  type Pool,
  withTransaction,
} from '@assetops/platform';
import {
  FEED_PENDING,
  oldestPending,
  PENDING_ROWS_PER_CLAIM,
  unnestPending,
} from '../storage/pending-arrays.js';

/** A drained window; its times are epoch milliseconds (cheaper to read than timestamps, and exact). */
interface PendingRow {
  asset_id: string;
  metric: string;
  window_start_ms: number;
  count: number;
  sum: string;
  min: number;
  max: number;
  first_ts_ms: number;
  first: number;
  last_ts_ms: number;
  last: number;
}

// Claims the oldest appended rows (one per write statement, its windows as arrays) up to about
// $1 windows — at least one row; rows another publisher holds are skipped — deletes them and merges
// their windows per series and window; the events go to the outbox in the same transaction, so each
// aggregate is announced once. Ingest only appends, so it never waits for this transaction.
const DRAIN = `
WITH claimed AS (
  SELECT id FROM feed_pending WHERE id IN (${oldestPending(FEED_PENDING, '$1')}) FOR UPDATE SKIP LOCKED
), drained AS (
  DELETE FROM feed_pending f USING claimed c WHERE f.id = c.id
  RETURNING f.*
), windows AS (
  SELECT u.* FROM ${unnestPending(FEED_PENDING, 'drained')}
), merged AS (
  SELECT series_id, window_start, sum(count)::int AS count, sum(sum) AS sum, min(min) AS min, max(max) AS max,
         min(first_ts) AS first_ts, (array_agg(first ORDER BY first_ts))[1] AS first,
         max(last_ts) AS last_ts, (array_agg(last ORDER BY last_ts DESC))[1] AS last,
         count(*)::int AS parts
    FROM windows GROUP BY series_id, window_start
)
SELECT s.asset_id, s.metric, (extract(epoch FROM m.window_start) * 1000)::float8 AS window_start_ms,
       m.count, m.sum::text AS sum, m.min, m.max,
       (extract(epoch FROM m.first_ts) * 1000)::float8 AS first_ts_ms, m.first,
       (extract(epoch FROM m.last_ts) * 1000)::float8 AS last_ts_ms, m.last,
       m.parts, (SELECT count(*) FROM drained)::int AS rows
  FROM merged m JOIN series s USING (series_id)
 ORDER BY m.window_start, s.asset_id, s.metric`;

export interface FeedPublisherOptions {
  pool: Pool;
  logger: Logger;
  clock: Clock;
  ids: IdGenerator;
  windowMs: number;
  /** How often pending windows are drained (default 100 ms: alerts wait at most this long). */
  intervalMs?: number;
  /** About how many appended windows one drain takes (whole appended rows, at least one; default 2,000). */
  batchSize?: number;
  /** Least time between two runs caused by `nudge()` (default 25 ms). */
  minSpacingMs?: number;
}

/**
 * The drained windows as TelemetryAggregated data: one event per asset and window, holding each
 * of its metrics (the rows come ordered by window, asset and metric).
 */
function eventsOf(rows: readonly PendingRow[], windowMs: number): TelemetryAggregatedData[] {
  const events: TelemetryAggregatedData[] = [];
  let current: TelemetryAggregatedData | undefined;
  let currentStart = Number.NaN;
  for (const r of rows) {
    const start = r.window_start_ms;
    if (!current || current.assetId !== r.asset_id || currentStart !== start) {
      current = {
        assetId: r.asset_id,
        windowStart: new Date(start).toISOString(),
        windowEnd: new Date(start + windowMs).toISOString(),
        metrics: [],
      };
      currentStart = start;
      events.push(current);
    }
    const metric: MetricWindow = {
      metric: r.metric,
      count: r.count,
      sum: Number(r.sum),
      min: r.min,
      max: r.max,
      first: r.first,
      firstTs: new Date(r.first_ts_ms).toISOString(),
      last: r.last,
      lastTs: new Date(r.last_ts_ms).toISOString(),
    };
    current.metrics.push(metric);
  }
  return events;
}

/**
 * Publishes TelemetryAggregated: one event per asset and window for the readings accepted since
 * that window was last announced, with an entry per metric. Runs on one instance per database
 * (leader loop).
 */
export function createFeedPublisher(opts: FeedPublisherOptions) {
  const batchSize = opts.batchSize ?? 2000;
  const drainOnce = () =>
    withTransaction(opts.pool, async (tx) => {
      const { rows } = await tx.query<PendingRow & { parts: number; rows: number }>(DRAIN, [batchSize]);
      const events = eventsOf(rows, opts.windowMs).map((data) =>
        createEvent(TelemetryAggregated, data, { subject: data.assetId, clock: opts.clock, ids: opts.ids }),
      );
      // One outbox row for the drain's events (they are many, small, and published together).
      await appendToOutbox(tx, events, { pack: true });
      const parts = rows.reduce((n, r) => n + r.parts, 0);
      // Claimed up to the limit (by windows or by rows): there may be more.
      const more = parts >= batchSize || (rows[0]?.rows ?? 0) >= PENDING_ROWS_PER_CLAIM;
      return { parts, events: events.length, more };
    });
  const loop = new LeaderLoop({
    name: 'telemetry-feed',
    pool: opts.pool,
    lockName: 'assetops.telemetry.feed',
    channel: 'assetops_telemetry_feed',
    pollIntervalMs: opts.intervalMs ?? 100,
    standbyRetryMs: 5000,
    errorBackoff: { baseMs: 200, maxMs: 10_000 },
    logger: opts.logger,
    work: async () => ({ more: (await drainOnce()).more }),
  });
  // Ingest nudges the publisher after each write; runs are spaced at least this far apart so that a
  // busy ingest does not turn every batch into its own (smaller) events.
  const minSpacingMs = opts.minSpacingMs ?? 25;
  let lastNudge = 0;
  return {
    /** New readings committed: announce them soon instead of at the next poll. */
    nudge(): void {
      const now = Date.now();
      if (now - lastNudge < minSpacingMs) return;
      lastNudge = now;
      loop.wake();
    },
    start: () => loop.start(),
    stop: () => loop.stop(),
    /** Announces everything pending now (tests). Returns how many events were appended. */
    async drain(): Promise<number> {
      let total = 0;
      for (;;) {
        const { events, more } = await loop.runExclusive(drainOnce);
        total += events;
        if (!more) return total;
      }
    },
  };
}
export type FeedPublisher = ReturnType<typeof createFeedPublisher>;
