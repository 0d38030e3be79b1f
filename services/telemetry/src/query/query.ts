import type { Aggregation, LatestValues, TelemetryQueryResult } from '@assetops/contracts';
import { NotFoundError, type Queryable, ValidationError } from '@assetops/platform';
import { ROLLUP_PENDING, unnestPending } from '../storage/pending-arrays.js';
import { readRaw } from '../storage/raw-read.js';
import { type Bucket, bucketFloor, bucketLabel, type QueryPlan } from './plan.js';

interface SeriesRow {
  series_id: number;
  class_id: number;
  metric: string;
}

/** The value of a bucket from the roll-up columns of the rows it spans. */
const TIER_AGG: Record<Aggregation, string> = {
  avg: '(sum(r.sum) / sum(r.count))::float8',
  min: 'min(r.min)',
  max: 'max(r.max)',
  sum: 'sum(r.sum)::float8',
  count: 'sum(r.count)::float8',
  first: '(array_agg(r.first ORDER BY r.first_ts))[1]',
  last: '(array_agg(r.last ORDER BY r.last_ts DESC))[1]',
};

const TIER_TABLE = { '1m': 'rollup_1m', '1h': 'rollup_1h', '1d': 'rollup_1d' } as const;
const TIER_COLUMNS = 'series_id, bucket, count, sum, min, max, first_ts, first, last_ts, last';

/** The SQL expression of the query bucket holding the roll-up row's `bucket`. */
function bucketExpr(bucket: Bucket): string {
  if (bucket.kind === 'month') return "date_trunc('month', r.bucket, 'UTC')";
  if (bucket.kind === 'fixed') {
    return `date_bin(${bucket.ms} * interval '1 millisecond', r.bucket, timestamptz 'epoch' + ${bucket.origin} * interval '1 millisecond')`;
  }
  throw new Error('raw buckets are not computed from roll-ups');
}

export async function assetIsKnown(db: Queryable, assetId: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM known_assets WHERE asset_id = $1', [assetId]);
  return rows.length > 0;
}

/**
 * Answers a planned query from the coarsest tier that is exact for it: roll-ups for buckets that
 * are whole minutes, hours or days; the raw readings (including compacted ones) otherwise.
 */
export async function runQuery(
  db: Queryable,
  assetId: string,
  plan: QueryPlan,
): Promise<TelemetryQueryResult> {
  if (!(await assetIsKnown(db, assetId))) {
    throw new NotFoundError('ASSET_NOT_FOUND', `asset ${assetId} is not known to the telemetry service`);
  }
  const { rows: series } = await db.query<SeriesRow>(
    'SELECT series_id, class_id, metric FROM series WHERE asset_id = $1 AND metric = ANY($2::text[])',
    [assetId, plan.metrics],
  );
  const byMetric = new Map(plan.metrics.map((m) => [m, [] as { ts: string; value: number | null }[]]));
  const metricOf = new Map(series.map((s) => [s.series_id, s.metric]));
  if (series.length > 0) {
    if (plan.tier === 'raw') await fromRaw(db, series, plan, metricOf, byMetric);
    else await fromTier(db, series, plan, metricOf, byMetric);
  }
  return {
    assetId,
    from: new Date(plan.fromMs).toISOString(),
    to: new Date(plan.toMs).toISOString(),
    bucket: bucketLabel(plan.bucket),
    agg: plan.bucket.kind === 'raw' ? 'none' : plan.agg,
    tier: plan.tier,
    series: plan.metrics.map((metric) => ({ metric, points: byMetric.get(metric)! })),
  };
}

async function fromTier(
  db: Queryable,
  series: SeriesRow[],
  plan: QueryPlan,
  metricOf: Map<number, string>,
  out: Map<string, { ts: string; value: number | null }[]>,
): Promise<void> {
  const table = TIER_TABLE[plan.tier as keyof typeof TIER_TABLE];
  // The tier's rows and the minute rows still pending (appended by ingest, not yet merged by the
  // roll-up aggregator) are merged alike: in one statement, hence one snapshot, in which every
  // reading counts exactly once — in a tier row or in a pending row (the aggregator moves it from
  // one to the other in one transaction). A pending minute lies in the range exactly when its tier
  // bucket does, since the range is aligned to the query's buckets, which are whole tier buckets.
  const { rows } = await db.query<{ series_id: number; b: Date; value: number | null }>(
    `SELECT r.series_id, ${bucketExpr(plan.bucket)} AS b, ${TIER_AGG[plan.agg]} AS value
       FROM (SELECT ${TIER_COLUMNS} FROM ${table}
              WHERE series_id = ANY($1::int4[]) AND class_id = ANY($2::int2[])
                AND bucket >= $3 AND bucket < $4
             UNION ALL
             SELECT ${TIER_COLUMNS} FROM ${unnestPending(ROLLUP_PENDING, 'rollup_pending')}
              WHERE series_id = ANY($1::int4[]) AND bucket >= $3 AND bucket < $4) r
      GROUP BY 1, 2
      ORDER BY 1, 2`,
    [
      series.map((s) => s.series_id),
      [...new Set(series.map((s) => s.class_id))],
      new Date(plan.fromMs),
      new Date(plan.toMs),
    ],
  );
  for (const r of rows) out.get(metricOf.get(r.series_id)!)!.push({ ts: r.b.toISOString(), value: r.value });
}

interface Acc {
  count: number;
  sum: number;
  min: number;
  max: number;
  first: number;
  last: number;
}

async function fromRaw(
  db: Queryable,
  series: SeriesRow[],
  plan: QueryPlan,
  metricOf: Map<number, string>,
  out: Map<string, { ts: string; value: number | null }[]>,
): Promise<void> {
  const ids = series.map((s) => s.series_id);
  if (plan.bucket.kind === 'raw') {
    const rows = await readRaw(db, ids, plan.fromMs, plan.toMs, plan.maxPoints + 1);
    if (rows.length > plan.maxPoints) {
      throw new ValidationError(
        'TOO_MANY_POINTS',
        `more than ${plan.maxPoints} readings in this range: narrow the range or ask for a bucket (e.g. bucket=1m)`,
        [{ path: 'bucket', message: 'raw readings exceed the point limit' }],
      );
    }
    for (const r of rows) {
      out.get(metricOf.get(r.seriesId)!)!.push({ ts: new Date(r.tsMs).toISOString(), value: r.value });
    }
    return;
  }
  // Sub-minute buckets: aggregate the readings (in time order per series) bucket by bucket.
  const rows = await readRaw(db, ids, plan.fromMs, plan.toMs);
  let current: { seriesId: number; start: number; acc: Acc } | undefined;
  const emit = () => {
    if (!current) return;
    const { acc } = current;
    const value = {
      avg: acc.sum / acc.count,
      min: acc.min,
      max: acc.max,
      sum: acc.sum,
      count: acc.count,
      first: acc.first,
      last: acc.last,
    }[plan.agg];
    out.get(metricOf.get(current.seriesId)!)!.push({ ts: new Date(current.start).toISOString(), value });
  };
  for (const r of rows) {
    const start = bucketFloor(plan.bucket, r.tsMs);
    if (current && current.seriesId === r.seriesId && current.start === start) {
      const acc = current.acc;
      acc.count++;
      acc.sum += r.value;
      acc.min = Math.min(acc.min, r.value);
      acc.max = Math.max(acc.max, r.value);
      acc.last = r.value;
      continue;
    }
    emit();
    current = {
      seriesId: r.seriesId,
      start,
      acc: { count: 1, sum: r.value, min: r.value, max: r.value, first: r.value, last: r.value },
    };
  }
  emit();
}

/** The latest value of every metric of an asset. */
export async function latestValues(db: Queryable, assetId: string): Promise<LatestValues> {
  if (!(await assetIsKnown(db, assetId))) {
    throw new NotFoundError('ASSET_NOT_FOUND', `asset ${assetId} is not known to the telemetry service`);
  }
  const { rows } = await db.query<{ metric: string; ts: Date; value: number }>(
    // The latest values the roll-up aggregator stored, and the last readings of the minute rows
    // still pending: the newest of them (one snapshot, so none is missed or counted twice).
    `SELECT DISTINCT ON (s.metric) s.metric, v.ts, v.value
       FROM series s
       JOIN (SELECT series_id, ts, value FROM latest
             UNION ALL
             SELECT series_id, last_ts, last FROM ${unnestPending(ROLLUP_PENDING, 'rollup_pending')}) v USING (series_id)
      WHERE s.asset_id = $1
      ORDER BY s.metric, v.ts DESC`,
    [assetId],
  );
  return { assetId, values: rows.map((r) => ({ metric: r.metric, ts: r.ts.toISOString(), value: r.value })) };
}
