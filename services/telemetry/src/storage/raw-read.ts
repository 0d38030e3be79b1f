import type { Queryable } from '@assetops/platform';

/** One reading as queries see it, whether it is still raw or already compacted. */
export interface RawReading {
  seriesId: number;
  tsMs: number;
  value: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

// Both sides are written so that the planner can use the partitioning and the keys:
// - time bounds are parameters of type timestamptz (not expressions of them), so day partitions
//   outside the range are pruned when the statement is planned;
// - the series' classes come first (an init plan over `series`), which prunes the other class
//   partitions at execution;
// - a raw day's key is (series_id, millisecond of the day) (storage/partitions.ts): for a range
//   within one UTC day, bounds on the millisecond ($8, $9) make each series one index range scan;
//   a longer range reads each day's readings of the series (bounds 0 and a whole day), the ends
//   filtered by ts;
// - packed rows' key is (series_id, class_id, hour): one range scan per series and partition;
// - packed rows are selected by hour (from the hour containing `from`), then unnested and filtered
//   to the exact [from, to) by milliseconds.
// A day is either raw or packed, never both (compaction moves it in one transaction), so the union
// holds each reading once. Epoch milliseconds are exact both ways (extract returns numeric).
const READ_RAW = `
SELECT series_id, ts_ms, value FROM (
  SELECT r.series_id, (extract(epoch FROM r.ts) * 1000)::int8 AS ts_ms, r.value
    FROM readings r
   WHERE r.series_id = ANY($1::int4[])
     AND r.class_id = ANY(ARRAY(SELECT DISTINCT class_id FROM series WHERE series_id = ANY($1::int4[])))
     AND r.ts >= $2::timestamptz AND r.ts < $3::timestamptz
     AND reading_ms_of_day(r.ts) >= $8::int4 AND reading_ms_of_day(r.ts) < $9::int4
  UNION ALL
  SELECT p.series_id, p.hour_ms + u.offset_ms AS ts_ms, u.value
    FROM (SELECT series_id, (extract(epoch FROM hour) * 1000)::int8 AS hour_ms, offsets_ms, vals
            FROM readings_packed
           WHERE series_id = ANY($1::int4[])
             AND class_id = ANY(ARRAY(SELECT DISTINCT class_id FROM series WHERE series_id = ANY($1::int4[])))
             AND hour >= $4::timestamptz AND hour < $3::timestamptz) p
   CROSS JOIN LATERAL unnest(p.offsets_ms, p.vals) AS u(offset_ms, value)
   WHERE p.hour_ms + u.offset_ms >= $5::int8 AND p.hour_ms + u.offset_ms < $6::int8
) readings
ORDER BY series_id, ts_ms
LIMIT $7`;

/**
 * The readings of `seriesIds` in `[fromMs, toMs)`, in (series, time) order, from the raw partitions
 * and the compacted (packed) rows alike — so queries never notice compaction. At most `limit` rows
 * when given (callers detect "more than n" by asking for n + 1).
 *
 * @example
 * const rows = await readRaw(pool, [12, 13], Date.parse('2026-11-28T00:00Z'), Date.parse('2026-11-28T01:00Z'));
 */
export async function readRaw(
  db: Queryable,
  seriesIds: readonly number[],
  fromMs: number,
  toMs: number,
  limit?: number,
): Promise<RawReading[]> {
  // Readings have whole milliseconds: [1.5, 2.5) holds the same readings as [2, 3).
  const from = Math.ceil(fromMs);
  const to = Math.ceil(toMs);
  if (seriesIds.length === 0 || to <= from) return [];
  const fromHour = Math.floor(from / HOUR_MS) * HOUR_MS;
  const day = Math.floor(from / DAY_MS) * DAY_MS;
  const oneDay = to <= day + DAY_MS;
  const { rows } = await db.query<{ series_id: number; ts_ms: number | string; value: number }>(READ_RAW, [
    seriesIds,
    new Date(from).toISOString(),
    new Date(to).toISOString(),
    new Date(fromHour).toISOString(),
    from,
    to,
    limit ?? null,
    oneDay ? from - day : 0,
    oneDay ? to - day : DAY_MS,
  ]);
  return rows.map((r) => ({ seriesId: r.series_id, tsMs: Number(r.ts_ms), value: r.value }));
}
