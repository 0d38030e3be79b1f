import { TelemetryAggregated } from '@assetops/contracts';
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

interface PendingRow {
  asset_id: string;
  metric: string;
  window_start: Date;
  count: number;
  sum: string;
  min: number;
  max: number;
  first_ts: Date;
  first: number;
  last_ts: Date;
  last: number;
}

// Claims a batch of pending windows (skipping rows an ingest is updating right now) and deletes
// them; the events go to the outbox in the same transaction, so each window is announced once.
const DRAIN = `
WITH claimed AS (
  SELECT series_id, window_start FROM feed_pending
   ORDER BY window_start
   LIMIT $1
   FOR UPDATE SKIP LOCKED
), drained AS (
  DELETE FROM feed_pending f USING claimed c
   WHERE f.series_id = c.series_id AND f.window_start = c.window_start
  RETURNING f.*
)
SELECT s.asset_id, s.metric, d.window_start, d.count, d.sum::text AS sum, d.min, d.max,
       d.first_ts, d.first, d.last_ts, d.last
  FROM drained d JOIN series s USING (series_id)
 ORDER BY d.window_start, s.asset_id, s.metric`;

export interface FeedPublisherOptions {
  pool: Pool;
  logger: Logger;
  clock: Clock;
  ids: IdGenerator;
  windowMs: number;
  /** How often pending windows are drained (default 100 ms: alerts wait at most this long). */
  intervalMs?: number;
  batchSize?: number;
}

/**
 * Publishes TelemetryAggregated: one event per asset, metric and window for the readings accepted
 * since that window was last announced. Runs on one instance per database (leader loop).
 */
export function createFeedPublisher(opts: FeedPublisherOptions) {
  const batchSize = opts.batchSize ?? 2000;
  const drainOnce = () =>
    withTransaction(opts.pool, async (tx) => {
      const { rows } = await tx.query<PendingRow>(DRAIN, [batchSize]);
      const events = rows.map((r) =>
        createEvent(
          TelemetryAggregated,
          {
            assetId: r.asset_id,
            metric: r.metric,
            windowStart: r.window_start.toISOString(),
            windowEnd: new Date(r.window_start.getTime() + opts.windowMs).toISOString(),
            count: r.count,
            sum: Number(r.sum),
            min: r.min,
            max: r.max,
            first: r.first,
            firstTs: r.first_ts.toISOString(),
            last: r.last,
            lastTs: r.last_ts.toISOString(),
          },
          { subject: r.asset_id, clock: opts.clock, ids: opts.ids },
        ),
      );
      await appendToOutbox(tx, events);
      return rows.length;
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
    work: async () => ({ more: (await drainOnce()) === batchSize }),
  });
  return {
    start: () => loop.start(),
    stop: () => loop.stop(),
    /** Announces everything pending now (tests). Returns how many events were appended. */
    async drain(): Promise<number> {
      let total = 0;
      for (;;) {
        const n = await loop.runExclusive(drainOnce);
        total += n;
        if (n < batchSize) return total;
      }
    },
  };
}
export type FeedPublisher = ReturnType<typeof createFeedPublisher>;
