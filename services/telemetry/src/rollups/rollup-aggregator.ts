import { LeaderLoop, type Logger, type Pool, withTransaction } from '@assetops/platform';
import { ensurePartitions } from '../storage/partitions.js';
import {
  oldestPending,
  PENDING_ROWS_PER_CLAIM,
  ROLLUP_PENDING,
  unnestPending,
} from '../storage/pending-arrays.js';
import { MERGED_AGGREGATES, mergeInto, ROLLUP_COLUMNS } from './rollup.sql.js';

const upsert = (table: string, from: string) => `
  INSERT INTO ${table} AS r (${ROLLUP_COLUMNS})
  SELECT ${ROLLUP_COLUMNS} FROM ${from} ORDER BY series_id, bucket
  ON CONFLICT (series_id, class_id, bucket) DO UPDATE SET ${mergeInto('r')}`;

/**
 * The aggregator's statement ($1: about how many pending minute rows to claim — whole appended
 * rows, at least one; exported for bench/ingest). Claims a batch of pending minute rows (deleting
 * the rows of arrays that hold them), merges them per series and minute, and
 * merges those into each tier — the hour and day rows from the merged minutes, so each tier row is
 * upserted once per run however many batches touched it — and into the latest values (only ever
 * by a newer reading). One statement, one transaction: a pending row's effects land in every tier
 * exactly when it disappears, which is what keeps queries (tiers + pending rows) exact. Rows
 * another run deleted concurrently are skipped by the DELETE, so overlapping runs never merge a
 * row twice.
 */
export const AGGREGATE_PENDING = `
WITH taken AS (
  DELETE FROM rollup_pending WHERE id = ANY(ARRAY(${oldestPending(ROLLUP_PENDING, '$1')}))
  RETURNING *
), claimed AS (
  SELECT u.* FROM ${unnestPending(ROLLUP_PENDING, 'taken')}
), m AS (
  SELECT series_id, class_id, bucket, ${MERGED_AGGREGATES} FROM claimed GROUP BY 1, 2, 3
), h AS (
  SELECT series_id, class_id, date_trunc('hour', bucket, 'UTC') AS bucket, ${MERGED_AGGREGATES} FROM m GROUP BY 1, 2, 3
), d AS (
  SELECT series_id, class_id, date_trunc('day', bucket, 'UTC') AS bucket, ${MERGED_AGGREGATES} FROM h GROUP BY 1, 2, 3
), up_1m AS (${upsert('rollup_1m', 'm')}
), up_1h AS (${upsert('rollup_1h', 'h')}
), up_1d AS (${upsert('rollup_1d', 'd')}
), latest_upd AS (
  INSERT INTO latest AS l (series_id, ts, value)
  SELECT DISTINCT ON (series_id) series_id, last_ts, last FROM h ORDER BY series_id, last_ts DESC
  ON CONFLICT (series_id) DO UPDATE SET ts = excluded.ts, value = excluded.value, updated_at = now()
   WHERE excluded.ts > l.ts
)
SELECT (SELECT count(*) FROM claimed)::int AS claimed,
       (SELECT count(*) FROM m)::int AS minutes,
       (SELECT count(*) FROM taken)::int AS rows`;

// The time span of pending rows per class: the roll-up partitions a run may need.
const PENDING_SPANS = `
SELECT u.class_id, (extract(epoch FROM min(u.bucket)) * 1000)::int8 AS from_ms,
       (extract(epoch FROM max(u.bucket)) * 1000)::int8 AS to_ms
  FROM ${unnestPending(ROLLUP_PENDING, 'rollup_pending')} GROUP BY u.class_id`;

const NO_PARTITION = '23514';
const DEADLOCK = '40P01';

export interface RollupAggregatorOptions {
  pool: Pool;
  logger: Logger;
  /** How often pending rows are merged (default 250 ms): how long they wait, at most, under load. */
  intervalMs?: number;
  /** Pending minute rows claimed per run, about (whole appended rows, at least one; default 50,000). */
  batchSize?: number;
}

/** What one run merged. */
export interface RollupRun {
  /** Pending minute rows claimed (one per ingest batch, series and minute). */
  claimed: number;
  /** Distinct (series, minute) merged into the tiers. */
  minutes: number;
}

/** A run, and whether it took as much as it may (so more may be pending). */
interface RunOutcome extends RollupRun {
  full: boolean;
}

/**
 * Keeps the 1m/1h/1d roll-ups and the latest values: merges what ingest appended to
 * `rollup_pending`. Runs on one instance per database (leader loop); overlapping runs are safe.
 */
export function createRollupAggregator(opts: RollupAggregatorOptions) {
  const batchSize = opts.batchSize ?? 50_000;
  const aggregateOnce = async (): Promise<RunOutcome> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await withTransaction(opts.pool, async (tx) => {
          const { rows } = await tx.query<RollupRun & { rows: number }>(AGGREGATE_PENDING, [batchSize]);
          const { claimed, minutes } = rows[0]!;
          return { claimed, minutes, full: claimed >= batchSize || rows[0]!.rows >= PENDING_ROWS_PER_CLAIM };
        });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (attempt >= 5 || (code !== NO_PARTITION && code !== DEADLOCK)) throw err;
        // A roll-up partition missing (maintenance creates them ahead, the writer with the raw day):
        // create what the pending rows need and try again.
        if (code === NO_PARTITION) await prepareRollupPartitions(opts.pool);
      }
    }
  };
  const loop = new LeaderLoop({
    name: 'telemetry-rollups',
    pool: opts.pool,
    lockName: 'assetops.telemetry.rollups',
    channel: 'assetops_telemetry_rollups',
    pollIntervalMs: opts.intervalMs ?? 250,
    standbyRetryMs: 5000,
    errorBackoff: { baseMs: 200, maxMs: 10_000 },
    logger: opts.logger,
    work: async () => ({ more: (await aggregateOnce()).full }),
  });
  return {
    start: () => loop.start(),
    stop: () => loop.stop(),
    /** Merges everything pending now, never beside the loop's own run (tests, shutdown). */
    async flush(): Promise<RollupRun> {
      const total: RollupRun = { claimed: 0, minutes: 0 };
      for (;;) {
        const run = await loop.runExclusive(aggregateOnce);
        total.claimed += run.claimed;
        total.minutes += run.minutes;
        if (!run.full) return total;
      }
    },
  };
}
export type RollupAggregator = ReturnType<typeof createRollupAggregator>;

async function prepareRollupPartitions(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ class_id: number; from_ms: string; to_ms: string }>(PENDING_SPANS);
  for (const span of rows) {
    for (const table of ['rollup_1m', 'rollup_1h', 'rollup_1d'] as const) {
      await ensurePartitions(pool, table, span.class_id, Number(span.from_ms), Number(span.to_ms));
    }
  }
}
