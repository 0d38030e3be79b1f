import type { Pool } from '@assetops/platform';
import { ensureIngestPartitions } from '../storage/partitions.js';

/** One reading ready to store. */
export interface StoredReading {
  seriesId: number;
  classId: number;
  tsMs: number;
  value: number;
}

/**
 * Merges a batch's aggregates into a roll-up row: min/max/sum/count combine, and first/last keep
 * the value of the earliest/latest reading time — so the order readings arrive in never matters.
 */
const mergeSet = (t: string) => `
  count = ${t}.count + excluded.count,
  sum = ${t}.sum + excluded.sum,
  min = least(${t}.min, excluded.min),
  max = greatest(${t}.max, excluded.max),
  first = CASE WHEN excluded.first_ts < ${t}.first_ts THEN excluded.first ELSE ${t}.first END,
  first_ts = least(${t}.first_ts, excluded.first_ts),
  last = CASE WHEN excluded.last_ts > ${t}.last_ts THEN excluded.last ELSE ${t}.last END,
  last_ts = greatest(${t}.last_ts, excluded.last_ts)`;

const aggregates = `count(*)::int AS count, sum(value::numeric) AS sum, min(value) AS min, max(value) AS max,
  min(ts) AS first_ts, (array_agg(value ORDER BY ts))[1] AS first, max(ts) AS last_ts,
  (array_agg(value ORDER BY ts DESC))[1] AS last`;

/** The same aggregates merged from finer roll-up rows (`m`, the batch's minute aggregates). */
const merged = `sum(count)::int, sum(sum), min(min), max(max),
  min(first_ts), (array_agg(first ORDER BY first_ts))[1], max(last_ts), (array_agg(last ORDER BY last_ts DESC))[1]`;

const upsert = (table: string, select: string) => `
  ${table} AS (
    INSERT INTO ${table} AS r (series_id, class_id, bucket, count, sum, min, max, first_ts, first, last_ts, last)
    ${select}
    ON CONFLICT (series_id, class_id, bucket) DO UPDATE SET ${mergeSet('r')}
    RETURNING 1)`;

/** The batch's minute aggregates (computed once from the inserted rows), then each tier's upsert. */
const ROLLUPS = `
m AS (
  SELECT series_id, class_id, date_trunc('minute', ts, 'UTC') AS bucket, ${aggregates}
    FROM ins GROUP BY 1, 2, 3
),${upsert('rollup_1m', 'SELECT * FROM m ORDER BY 1, 3')},${upsert(
  'rollup_1h',
  `SELECT series_id, class_id, date_trunc('hour', bucket, 'UTC'), ${merged} FROM m GROUP BY 1, 2, 3 ORDER BY 1, 3`,
)},${upsert(
  'rollup_1d',
  `SELECT series_id, class_id, date_trunc('day', bucket, 'UTC'), ${merged} FROM m GROUP BY 1, 2, 3 ORDER BY 1, 3`,
)}`;

/**
 * The whole write of a batch, in one statement (one round trip, one transaction): the readings
 * (a re-sent one is skipped by the primary key), and — from the rows actually inserted — the three
 * roll-up tiers, the latest values and the pending TelemetryAggregated windows. Timestamps travel
 * as epoch milliseconds (exact), values as float8.
 */
const WRITE = `
WITH input AS (
  SELECT s AS series_id, c AS class_id, timestamptz 'epoch' + t * interval '1 millisecond' AS ts, v AS value
    FROM unnest($1::int4[], $2::int2[], $3::int8[], $4::float8[]) AS u(s, c, t, v)
), ins AS (
  INSERT INTO readings (series_id, class_id, ts, value)
  SELECT series_id, class_id, ts, value FROM input ORDER BY series_id, ts
  ON CONFLICT DO NOTHING
  RETURNING series_id, class_id, ts, value
),${ROLLUPS},
latest_upd AS (
  INSERT INTO latest AS l (series_id, ts, value)
  SELECT DISTINCT ON (series_id) series_id, ts, value FROM ins ORDER BY series_id, ts DESC
  ON CONFLICT (series_id) DO UPDATE SET ts = excluded.ts, value = excluded.value, updated_at = now()
   WHERE excluded.ts > l.ts
  RETURNING 1
), feed AS (
  INSERT INTO feed_pending (series_id, window_start, count, sum, min, max, first_ts, first, last_ts, last)
  SELECT series_id,
         date_bin($5::int8 * interval '1 millisecond', ts, timestamptz 'epoch'),
         ${aggregates}
    FROM ins GROUP BY 1, 2
  RETURNING 1
)
SELECT count(*)::int AS inserted FROM ins`;

const NO_PARTITION = '23514'; // "no partition of relation … found for row"
const DEADLOCK = '40P01';
const SERIALIZATION = '40001';

/**
 * Stores a batch of readings with their roll-ups, latest values and feed windows, atomically.
 * Returns how many were new (the rest were already stored). A missing partition (a reading far
 * back inside the lateness window, or a day not yet prepared) is created and the write retried.
 */
export async function writeReadings(
  pool: Pool,
  readings: readonly StoredReading[],
  feedWindowMs: number,
): Promise<{ inserted: number }> {
  if (readings.length === 0) return { inserted: 0 };
  const params = [
    readings.map((r) => r.seriesId),
    readings.map((r) => r.classId),
    readings.map((r) => r.tsMs),
    readings.map((r) => r.value),
    feedWindowMs,
  ];
  for (let attempt = 1; ; attempt++) {
    try {
      const { rows } = await pool.query<{ inserted: number }>(WRITE, params);
      return { inserted: rows[0]!.inserted };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= 5) throw err;
      if (code === NO_PARTITION) {
        await preparePartitions(pool, readings);
      } else if (code !== DEADLOCK && code !== SERIALIZATION) {
        throw err;
      }
    }
  }
}

async function preparePartitions(pool: Pool, readings: readonly StoredReading[]): Promise<void> {
  const byClass = new Map<number, { min: number; max: number }>();
  for (const r of readings) {
    const span = byClass.get(r.classId);
    if (!span) byClass.set(r.classId, { min: r.tsMs, max: r.tsMs });
    else {
      span.min = Math.min(span.min, r.tsMs);
      span.max = Math.max(span.max, r.tsMs);
    }
  }
  for (const [classId, span] of byClass) await ensureIngestPartitions(pool, classId, span.min, span.max);
}
