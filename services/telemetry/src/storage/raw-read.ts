import type { Queryable } from '@assetops/platform';

/** One reading as queries see it, whether it is still raw or already compacted. */
export interface RawReading {
  seriesId: number;
  tsMs: number;
  value: number;
}

/**
 * The readings of `seriesIds` in `[fromMs, toMs)`, in (series, time) order, from the raw partitions
 * and the compacted (packed) rows alike — so queries never notice compaction.
 */
export async function readRaw(
  db: Queryable,
  seriesIds: readonly number[],
  fromMs: number,
  toMs: number,
  limit?: number,
): Promise<RawReading[]> {
  const { rows } = await db.query<{ series_id: number; ts_ms: string; value: number }>(
    `WITH s AS (SELECT series_id, class_id FROM series WHERE series_id = ANY($1::int4[]))
     SELECT series_id, ts_ms, value FROM (
       SELECT r.series_id, (extract(epoch FROM r.ts) * 1000)::int8 AS ts_ms, r.value
         FROM readings r JOIN s USING (series_id, class_id)
        WHERE r.ts >= $2 AND r.ts < $3
       UNION ALL
       SELECT p.series_id, (extract(epoch FROM p.hour) * 1000)::int8 + u.off AS ts_ms, u.v
         FROM readings_packed p JOIN s USING (series_id, class_id),
              unnest(p.offsets_ms, p.vals) AS u(off, v)
        WHERE p.hour >= $2::timestamptz - interval '1 hour' AND p.hour < $3
          AND p.hour + u.off * interval '1 millisecond' >= $2
          AND p.hour + u.off * interval '1 millisecond' < $3
     ) x
     ORDER BY series_id, ts_ms
     ${limit === undefined ? '' : 'LIMIT $4'}`,
    limit === undefined
      ? [seriesIds, new Date(fromMs), new Date(toMs)]
      : [seriesIds, new Date(fromMs), new Date(toMs), limit],
  );
  return rows.map((r) => ({ seriesId: r.series_id, tsMs: Number(r.ts_ms), value: r.value }));
}
