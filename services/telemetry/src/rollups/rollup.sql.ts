/**
 * SQL fragments shared by the writer, the roll-up aggregator and the queries. Every roll-up row —
 * pending (`rollup_pending`) or stored (`rollup_1m`, `rollup_1h`, `rollup_1d`) — holds count, sum,
 * min, max, first/first_ts and last/last_ts: enough to merge any set of them exactly, in any order.
 */

/** Aggregates of readings (`ts`, `value`), named like the roll-up columns. */
export const READING_AGGREGATES = `count(*)::int AS count, sum(value::numeric) AS sum, min(value) AS min,
  max(value) AS max, min(ts) AS first_ts, (array_agg(value ORDER BY ts))[1] AS first, max(ts) AS last_ts,
  (array_agg(value ORDER BY ts DESC))[1] AS last`;

/** The same aggregates merged from roll-up rows, named like the roll-up columns. */
export const MERGED_AGGREGATES = `sum(count)::int AS count, sum(sum) AS sum, min(min) AS min, max(max) AS max,
  min(first_ts) AS first_ts, (array_agg(first ORDER BY first_ts))[1] AS first, max(last_ts) AS last_ts,
  (array_agg(last ORDER BY last_ts DESC))[1] AS last`;

/** The roll-up columns, in table order. */
export const ROLLUP_COLUMNS =
  'series_id, class_id, bucket, count, sum, min, max, first_ts, first, last_ts, last';

/**
 * Merges `excluded` into the stored row `t`: min/max/sum/count combine, and first/last keep the
 * value of the earliest/latest reading time — so the order rows are merged in never matters.
 */
export const mergeInto = (t: string) => `
  count = ${t}.count + excluded.count,
  sum = ${t}.sum + excluded.sum,
  min = least(${t}.min, excluded.min),
  max = greatest(${t}.max, excluded.max),
  first = CASE WHEN excluded.first_ts < ${t}.first_ts THEN excluded.first ELSE ${t}.first END,
  first_ts = least(${t}.first_ts, excluded.first_ts),
  last = CASE WHEN excluded.last_ts > ${t}.last_ts THEN excluded.last ELSE ${t}.last END,
  last_ts = greatest(${t}.last_ts, excluded.last_ts)`;
