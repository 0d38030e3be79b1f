/**
 * Prototypes of cheaper forms of the Telemetry service's write statement, measured side by side
 * with the real one by `explain-write.ts` — evidence for suggestions, not used by the service.
 * Each stores exactly what the original stores (readings, 1m/1h/1d roll-ups, latest, feed windows)
 * in one statement.
 *
 * - `aggregateOnce`: the minute aggregates are computed once from the inserted rows; the hour and
 *   day tiers are merged from them (a few rows per series instead of every reading).
 * - `preAggregated`: the service computes every tier's aggregates itself (it holds the batch in
 *   memory) and sends them as arrays; the statement only upserts them. Exact only when no reading
 *   of the batch was already stored — the usual case; a statement that compares the inserted count
 *   with the batch size can fall back to aggregating `ins` when they differ (a one-time filter,
 *   which costs nothing when it is false). The fallback is left out of the prototype.
 */
import type { StoredReading } from '../../services/telemetry/src/ingest/writer.js';

const mergeSet = (t: string) => `
  count = ${t}.count + excluded.count,
  sum = ${t}.sum + excluded.sum,
  min = least(${t}.min, excluded.min),
  max = greatest(${t}.max, excluded.max),
  first = CASE WHEN excluded.first_ts < ${t}.first_ts THEN excluded.first ELSE ${t}.first END,
  first_ts = least(${t}.first_ts, excluded.first_ts),
  last = CASE WHEN excluded.last_ts > ${t}.last_ts THEN excluded.last ELSE ${t}.last END,
  last_ts = greatest(${t}.last_ts, excluded.last_ts)`;

const INPUT = `
WITH input AS (
  SELECT s AS series_id, c AS class_id, timestamptz 'epoch' + t * interval '1 millisecond' AS ts, v AS value
    FROM unnest($1::int4[], $2::int2[], $3::int8[], $4::float8[]) AS u(s, c, t, v)
), ins AS (
  INSERT INTO readings (series_id, class_id, ts, value)
  SELECT series_id, class_id, ts, value FROM input ORDER BY series_id, ts
  ON CONFLICT DO NOTHING
  RETURNING series_id, class_id, ts, value
)`;

const LATEST_FROM_INS = `
latest_upd AS (
  INSERT INTO latest AS l (series_id, ts, value)
  SELECT DISTINCT ON (series_id) series_id, ts, value FROM ins ORDER BY series_id, ts DESC
  ON CONFLICT (series_id) DO UPDATE SET ts = excluded.ts, value = excluded.value, updated_at = now()
   WHERE excluded.ts > l.ts
  RETURNING 1
)`;

const rawAggregates = `count(*)::int AS count, sum(value::numeric) AS sum, min(value) AS min, max(value) AS max,
  min(ts) AS first_ts, (array_agg(value ORDER BY ts))[1] AS first, max(ts) AS last_ts, (array_agg(value ORDER BY ts DESC))[1] AS last`;

const mergedAggregates = `sum(count)::int, sum(sum), min(min), max(max),
  min(first_ts), (array_agg(first ORDER BY first_ts))[1], max(last_ts), (array_agg(last ORDER BY last_ts DESC))[1]`;

const upsertTier = (table: string, select: string) => `
  ${table} AS (
    INSERT INTO ${table} AS r (series_id, class_id, bucket, count, sum, min, max, first_ts, first, last_ts, last)
    ${select}
    ON CONFLICT (series_id, class_id, bucket) DO UPDATE SET ${mergeSet('r')}
    RETURNING 1)`;

/** Minute aggregates once from `ins`; hour and day merged from them; feed windows from `ins`. */
export const AGGREGATE_ONCE = `${INPUT},
m AS MATERIALIZED (
  SELECT series_id, class_id, date_trunc('minute', ts, 'UTC') AS bucket, ${rawAggregates}
    FROM ins GROUP BY 1, 2, 3
),${upsertTier('rollup_1m', 'SELECT * FROM m ORDER BY 1, 3')},${upsertTier(
  'rollup_1h',
  `SELECT series_id, class_id, date_trunc('hour', bucket, 'UTC'), ${mergedAggregates} FROM m GROUP BY 1, 2, 3 ORDER BY 1, 3`,
)},${upsertTier(
  'rollup_1d',
  `SELECT series_id, class_id, date_trunc('day', bucket, 'UTC'), ${mergedAggregates} FROM m GROUP BY 1, 2, 3 ORDER BY 1, 3`,
)},${LATEST_FROM_INS},
feed AS (
  INSERT INTO feed_pending AS f (series_id, window_start, count, sum, min, max, first_ts, first, last_ts, last)
  SELECT series_id, date_bin($5::int8 * interval '1 millisecond', ts, timestamptz 'epoch'),
         ${rawAggregates.replace(/ AS \w+/g, '')}
    FROM ins GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (series_id, window_start) DO UPDATE SET ${mergeSet('f')}
  RETURNING 1
)
SELECT count(*)::int AS inserted FROM ins`;

const tierFromArrays = (first: number) => {
  const p = (i: number) => `$${first + i}`;
  return `SELECT s, c, timestamptz 'epoch' + b * interval '1 millisecond', n, su, mi, ma,
         timestamptz 'epoch' + ft * interval '1 millisecond', fv, timestamptz 'epoch' + lt * interval '1 millisecond', lv
    FROM unnest(${p(0)}::int4[], ${p(1)}::int2[], ${p(2)}::int8[], ${p(3)}::int4[], ${p(4)}::numeric[], ${p(5)}::float8[],
                ${p(6)}::float8[], ${p(7)}::int8[], ${p(8)}::float8[], ${p(9)}::int8[], ${p(10)}::float8[])
         AS u(s, c, b, n, su, mi, ma, ft, fv, lt, lv)`;
};

/** Every tier's aggregates come from the service as arrays ($5–$48); latest as $49–$51. */
export const PRE_AGGREGATED = `${INPUT},
${upsertTier('rollup_1m', tierFromArrays(5))},${upsertTier('rollup_1h', tierFromArrays(16))},${upsertTier(
  'rollup_1d',
  tierFromArrays(27),
)},
latest_upd AS (
  INSERT INTO latest AS l (series_id, ts, value)
  SELECT s, timestamptz 'epoch' + t * interval '1 millisecond', v FROM unnest($49::int4[], $50::int8[], $51::float8[]) AS u(s, t, v)
  ON CONFLICT (series_id) DO UPDATE SET ts = excluded.ts, value = excluded.value, updated_at = now()
   WHERE excluded.ts > l.ts
  RETURNING 1
), feed AS (
  INSERT INTO feed_pending AS f (series_id, window_start, count, sum, min, max, first_ts, first, last_ts, last)
  SELECT s, b, n, su, mi, ma, ft, fv, lt, lv FROM (${tierFromArrays(38)}) AS w(s, c, b, n, su, mi, ma, ft, fv, lt, lv)
  ON CONFLICT (series_id, window_start) DO UPDATE SET ${mergeSet('f')}
  RETURNING 1
)
SELECT count(*)::int AS inserted FROM ins`;

interface Aggregate {
  s: number;
  c: number;
  b: number;
  n: number;
  sum: number;
  min: number;
  max: number;
  ft: number;
  fv: number;
  lt: number;
  lv: number;
}

const DAY = 86_400_000;

/** The aggregates of `rows` per series and bucket (`bucketOf` maps a time to its bucket start). */
function aggregate(rows: readonly StoredReading[], bucketOf: (ms: number) => number): unknown[] {
  const groups = new Map<string, Aggregate>();
  for (const r of rows) {
    const b = bucketOf(r.tsMs);
    const key = `${r.seriesId}|${b}`;
    const g = groups.get(key);
    if (!g) {
      groups.set(key, {
        s: r.seriesId,
        c: r.classId,
        b,
        n: 1,
        sum: r.value,
        min: r.value,
        max: r.value,
        ft: r.tsMs,
        fv: r.value,
        lt: r.tsMs,
        lv: r.value,
      });
      continue;
    }
    g.n++;
    g.sum += r.value;
    g.min = Math.min(g.min, r.value);
    g.max = Math.max(g.max, r.value);
    if (r.tsMs < g.ft) {
      g.ft = r.tsMs;
      g.fv = r.value;
    }
    if (r.tsMs > g.lt) {
      g.lt = r.tsMs;
      g.lv = r.value;
    }
  }
  const list = [...groups.values()].sort((a, b) => a.s - b.s || a.b - b.b);
  return [
    list.map((g) => g.s),
    list.map((g) => g.c),
    list.map((g) => g.b),
    list.map((g) => g.n),
    // A real implementation would sum exactly (the column is numeric); the prototype sends float sums.
    list.map((g) => String(g.sum)),
    list.map((g) => g.min),
    list.map((g) => g.max),
    list.map((g) => g.ft),
    list.map((g) => g.fv),
    list.map((g) => g.lt),
    list.map((g) => g.lv),
  ];
}

/** The parameters of {@link PRE_AGGREGATED} for a batch (what the service would compute). */
export function preAggregatedParams(rows: readonly StoredReading[], feedWindowMs: number): unknown[] {
  const latest = new Map<number, StoredReading>();
  for (const r of rows) {
    const l = latest.get(r.seriesId);
    if (!l || r.tsMs > l.tsMs) latest.set(r.seriesId, r);
  }
  const hourOf = (ms: number) => Math.floor(ms / 3_600_000) * 3_600_000;
  const latestRows = [...latest.values()].sort((a, b) => a.seriesId - b.seriesId);
  return [
    rows.map((r) => r.seriesId),
    rows.map((r) => r.classId),
    rows.map((r) => r.tsMs),
    rows.map((r) => r.value),
    ...aggregate(rows, (ms) => Math.floor(ms / 60_000) * 60_000),
    ...aggregate(rows, hourOf),
    ...aggregate(rows, (ms) => Math.floor(ms / DAY) * DAY),
    ...aggregate(rows, (ms) => Math.floor(ms / feedWindowMs) * feedWindowMs),
    latestRows.map((r) => r.seriesId),
    latestRows.map((r) => r.tsMs),
    latestRows.map((r) => r.value),
  ];
}
