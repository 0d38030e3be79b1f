import { numberArray, type Pool } from '@assetops/platform';
import { READING_AGGREGATES } from '../rollups/rollup.sql.js';
import { ensureIngestPartitions } from '../storage/partitions.js';
import { appendPending, FEED_PENDING, ROLLUP_PENDING } from '../storage/pending-arrays.js';

/** One reading ready to store. */
export interface StoredReading {
  seriesId: number;
  classId: number;
  tsMs: number;
  value: number;
}

/**
 * The ack path of a batch, in one statement (one round trip, one transaction): the readings, and —
 * from the rows actually inserted — the pending TelemetryAggregated windows (one feed_pending row
 * holding them all, as arrays) and the pending minute roll-ups (one rollup_pending row,
 * likewise; see storage/pending-arrays.ts). Both are appends; the roll-up aggregator
 * (rollups/rollup-aggregator.ts) merges the minute rows into the 1m/1h/1d tiers and the latest values shortly after, many batches at once,
 * and queries read pending rows beside the tiers meanwhile. Timestamps travel as epoch
 * milliseconds (exact), values as float8.
 *
 * `skipStored`: a reading already stored (a re-send) is skipped by its day's key (ON CONFLICT DO
 * NOTHING). Without it the insert is a plain one, which PostgreSQL does with less work per row (no
 * speculative insertion), and fails on the first stored reading — the writer then sends the
 * batch again with `skipStored`. Re-sends are rare; every batch pays for the check otherwise.
 *
 * When feed windows tile minutes (the window divides 60 s, as the default 1 s does), the window
 * aggregates are the pending minute rows as they are (each lies in one minute; the aggregator and
 * the queries merge the rows of a minute anyway), so the readings are grouped and sorted once.
 */
function writeStatement(skipStored: boolean, feedWindowMs: number, perBatch: boolean): string {
  const windowsTileMinutes = 60_000 % feedWindowMs === 0;
  return `
WITH input AS (
  SELECT s AS series_id, c AS class_id, timestamptz 'epoch' + t * interval '1 millisecond' AS ts, v AS value${perBatch ? ', b AS batch' : ''}
    FROM unnest($1::int4[], $2::int2[], $3::int8[], $4::float8[]${perBatch ? ', $5::int4[]' : ''}) AS u(s, c, t, v${perBatch ? ', b' : ''})
), ins AS (
  INSERT INTO readings (series_id, class_id, ts, value)
  SELECT series_id, class_id, ts, value FROM input ORDER BY series_id, ts${perBatch ? ', batch' : ''}${skipStored ? '\n  ON CONFLICT DO NOTHING' : ''}
  RETURNING series_id, class_id, ts, value
), w AS MATERIALIZED (
  SELECT series_id, class_id, date_bin(${Number(feedWindowMs)} * interval '1 millisecond', ts, timestamptz 'epoch') AS bucket,
         ${READING_AGGREGATES}
    FROM ins GROUP BY 1, 2, 3
), feed AS (${appendPending(
    FEED_PENDING,
    'SELECT series_id, bucket AS window_start, count, sum, min, max, first_ts, first, last_ts, last FROM w',
  )}
), pending AS (${appendPending(
    ROLLUP_PENDING,
    windowsTileMinutes
      ? `SELECT series_id, class_id, date_bin(interval '1 minute', bucket, timestamptz 'epoch') AS bucket,
           count, sum, min, max, first_ts, first, last_ts, last
      FROM w`
      : `SELECT series_id, class_id, date_bin(interval '1 minute', ts, timestamptz 'epoch') AS bucket, ${READING_AGGREGATES}
    FROM ins GROUP BY 1, 2, 3`,
  )}
)
${
  perBatch
    ? // Several batches in one statement: a reading sent twice is inserted from the first batch
      // holding it (the insert runs in batch order per key) and counts as a duplicate for the others.
      `SELECT o.batch, count(*)::int AS inserted
  FROM ins JOIN (SELECT DISTINCT ON (series_id, class_id, ts) series_id, class_id, ts, batch
                   FROM input ORDER BY series_id, class_id, ts, batch) o USING (series_id, class_id, ts)
 GROUP BY o.batch`
    : 'SELECT count(*)::int AS inserted FROM ins'
}`;
}

const NO_PARTITION = '23514'; // "no partition of relation … found for row"
const UNIQUE_VIOLATION = '23505';
const DEADLOCK = '40P01';
const SERIALIZATION = '40001';

/**
 * Stores a batch of readings with their pending feed windows and roll-ups, atomically.
 * Returns how many were new (the rest were already stored). A missing partition (a reading far
 * back inside the lateness window, or a day not yet prepared) is created and the write retried.
 */
export async function writeReadings(
  pool: Pool,
  readings: readonly StoredReading[],
  feedWindowMs: number,
): Promise<{ inserted: number }> {
  const [inserted] = await writeReadingBatches(pool, [readings], feedWindowMs);
  return { inserted: inserted! };
}

/**
 * Stores several batches in one statement and one transaction (see WriteQueue): all or none.
 * Returns how many readings of each batch were new; a reading in several batches is new for the
 * first only.
 */
export async function writeReadingBatches(
  pool: Pool,
  batches: readonly (readonly StoredReading[])[],
  feedWindowMs: number,
): Promise<number[]> {
  const readings = batches.length === 1 ? batches[0]! : batches.flat();
  if (readings.length === 0) return batches.map(() => 0);
  const params: unknown[] = [
    numberArray(readings.map((r) => r.seriesId)),
    numberArray(readings.map((r) => r.classId)),
    numberArray(readings.map((r) => r.tsMs)),
    numberArray(readings.map((r) => r.value)),
  ];
  let skipStored = false;
  for (let attempt = 1; ; attempt++) {
    try {
      // A plain insert stores every reading or fails: each batch's readings are all new.
      if (!skipStored) {
        await pool.query(writeStatement(false, feedWindowMs, false), params);
        return batches.map((b) => b.length);
      }
      if (batches.length === 1) {
        const { rows } = await pool.query<{ inserted: number }>(
          writeStatement(true, feedWindowMs, false),
          params,
        );
        return [rows[0]!.inserted];
      }
      const { rows } = await pool.query<{ batch: number; inserted: number }>(
        writeStatement(true, feedWindowMs, true),
        [...params, numberArray(batches.flatMap((b, i) => b.map(() => i)))],
      );
      const inserted = batches.map(() => 0);
      for (const r of rows) inserted[r.batch] = r.inserted;
      return inserted;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === UNIQUE_VIOLATION && !skipStored) {
        // Some reading is stored already (or sent twice): the whole statement rolled back.
        skipStored = true;
        continue;
      }
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
