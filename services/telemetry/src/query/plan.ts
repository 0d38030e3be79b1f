import { type Aggregation, METRIC_NAME_PATTERN } from '@assetops/contracts';
import { ValidationError } from '@assetops/platform';
import type { Tier } from '../telemetry.config.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Weeks start on Monday: 1970-01-05 was one. */
const WEEK_ORIGIN = Date.UTC(1970, 0, 5);

/** A bucket width: fixed milliseconds (from 1 s to 31 days), or calendar months. */
export type Bucket =
  | { kind: 'raw' }
  | { kind: 'fixed'; ms: number; origin: number }
  | { kind: 'month'; months: number };

/** Bucket widths `auto` chooses from, finest first. */
const NICE: { label: string; bucket: Bucket }[] = [
  ...(
    [
      ['1s', SECOND],
      ['5s', 5 * SECOND],
      ['10s', 10 * SECOND],
      ['30s', 30 * SECOND],
      ['1m', MINUTE],
      ['5m', 5 * MINUTE],
      ['10m', 10 * MINUTE],
      ['15m', 15 * MINUTE],
      ['30m', 30 * MINUTE],
      ['1h', HOUR],
      ['3h', 3 * HOUR],
      ['6h', 6 * HOUR],
      ['12h', 12 * HOUR],
      ['1d', DAY],
    ] as const
  ).map(([label, ms]) => ({ label, bucket: { kind: 'fixed', ms, origin: 0 } as Bucket })),
  { label: '1w', bucket: { kind: 'fixed', ms: 7 * DAY, origin: WEEK_ORIGIN } },
  { label: '1mo', bucket: { kind: 'month', months: 1 } },
];

/** Parses `raw`, `10s`, `15m`, `1h`, `1d`, `1w`, `1mo`… (1 s to 1 month). */
export function parseBucket(text: string): Bucket {
  if (text === 'raw') return { kind: 'raw' };
  const match = /^([1-9][0-9]{0,5})(s|m|h|d|w|mo)$/.exec(text);
  if (!match)
    throw bucketError(`bucket ${text} is not raw, auto or a width such as 10s, 15m, 1h, 1d, 1w, 1mo`);
  const n = Number(match[1]);
  if (match[2] === 'mo') {
    if (n !== 1) throw bucketError('buckets range from 1s to 1mo');
    return { kind: 'month', months: 1 };
  }
  const unit = { s: SECOND, m: MINUTE, h: HOUR, d: DAY, w: 7 * DAY }[match[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  const ms = n * unit;
  if (ms > 31 * DAY) throw bucketError('buckets range from 1s to 1mo');
  return { kind: 'fixed', ms, origin: match[2] === 'w' ? WEEK_ORIGIN : 0 };
}

const bucketError = (message: string) =>
  new ValidationError('INVALID_BUCKET', message, [{ path: 'bucket', message }]);

export function bucketLabel(bucket: Bucket): string {
  if (bucket.kind === 'raw') return 'raw';
  if (bucket.kind === 'month') return `${bucket.months}mo`;
  const found = NICE.find((n) => n.bucket.kind === 'fixed' && n.bucket.ms === bucket.ms);
  if (found) return found.label;
  for (const [unit, ms] of [
    ['d', DAY],
    ['h', HOUR],
    ['m', MINUTE],
  ] as const) {
    if (bucket.ms % ms === 0) return `${bucket.ms / ms}${unit}`;
  }
  return `${bucket.ms / SECOND}s`;
}

/**
 * The coarsest stored tier whose buckets tile the query's buckets exactly: a tier of width u answers
 * buckets that are whole multiples of u aligned on u (every bucket here is, since buckets and tiers
 * are aligned to UTC midnight, and weeks and months are whole days).
 */
export function tierFor(bucket: Bucket): Tier {
  if (bucket.kind === 'raw') return 'raw';
  if (bucket.kind === 'month') return '1d';
  if (bucket.ms % DAY === 0) return '1d';
  if (bucket.ms % HOUR === 0) return '1h';
  if (bucket.ms % MINUTE === 0) return '1m';
  return 'raw';
}

/** The start of the bucket holding `ms`. */
export function bucketFloor(bucket: Bucket, ms: number): number {
  if (bucket.kind === 'raw') return ms;
  if (bucket.kind === 'month') {
    const d = new Date(ms);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
  return bucket.origin + Math.floor((ms - bucket.origin) / bucket.ms) * bucket.ms;
}

/** The end of the bucket holding `ms - 1` (so an aligned `ms` stays). */
export function bucketCeil(bucket: Bucket, ms: number): number {
  const floor = bucketFloor(bucket, ms);
  if (floor === ms || bucket.kind === 'raw') return ms;
  if (bucket.kind === 'month') {
    const d = new Date(floor);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  }
  return floor + bucket.ms;
}

/** How many buckets `[from, to)` spans (both aligned). */
export function bucketCount(bucket: Bucket, from: number, to: number): number {
  if (bucket.kind === 'raw') return Number.NaN;
  if (bucket.kind === 'month') {
    const a = new Date(from);
    const b = new Date(to);
    return (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + (b.getUTCMonth() - a.getUTCMonth());
  }
  return Math.ceil((to - from) / bucket.ms);
}

/** A validated query, ready to run. */
export interface QueryPlan {
  metrics: string[];
  /** Aligned to whole buckets. */
  fromMs: number;
  toMs: number;
  bucket: Bucket;
  agg: Aggregation;
  tier: Tier;
  /** The most points the answer may hold (raw queries stop there and are refused beyond it). */
  maxPoints: number;
}

export interface QueryInput {
  metric: string[];
  from?: string;
  to?: string;
  bucket?: string;
  agg?: Aggregation;
}

/** Splits `metric=a,b&metric=c` into distinct names, each checked. */
export function parseMetrics(values: readonly string[]): string[] {
  const names = [...new Set(values.flatMap((v) => v.split(',')).map((v) => v.trim()))].filter(
    (v) => v !== '',
  );
  const bad = names.filter((n) => !METRIC_NAME_PATTERN.test(n));
  if (names.length === 0 || bad.length > 0) {
    const message =
      names.length === 0
        ? 'metric is required'
        : `not a metric name: ${bad
            .slice(0, 5)
            .map((b) => JSON.stringify(b))
            .join(', ')}`;
    throw new ValidationError('INVALID_METRIC', message, [{ path: 'metric', message }]);
  }
  if (names.length > 20) {
    throw new ValidationError('TOO_MANY_METRICS', 'at most 20 metrics per query', [
      { path: 'metric', message: 'at most 20 metrics' },
    ]);
  }
  return names;
}

/**
 * Validates a query and plans it: range (default: the last 24 hours), bucket (default `auto`: the
 * finest that gives at most ~1,000 points per metric), tier, and the point guard.
 */
export function planQuery(input: QueryInput, nowMs: number, maxPoints: number): QueryPlan {
  const metrics = parseMetrics(input.metric);
  const to = input.to ? Date.parse(input.to) : nowMs;
  const from = input.from ? Date.parse(input.from) : to - DAY;
  if (!(from < to)) {
    throw new ValidationError('INVALID_RANGE', 'from must be before to', [
      { path: 'from', message: 'must be before to' },
    ]);
  }
  const agg = input.agg ?? 'avg';
  let bucket: Bucket;
  if (!input.bucket || input.bucket === 'auto') {
    const perMetric = Math.min(1000, Math.floor(maxPoints / metrics.length));
    bucket = NICE.find(
      (n) => bucketCount(n.bucket, bucketFloor(n.bucket, from), bucketCeil(n.bucket, to)) <= perMetric,
    )?.bucket ?? { kind: 'month', months: 1 };
  } else {
    bucket = parseBucket(input.bucket);
  }
  const fromMs = bucketFloor(bucket, from);
  const toMs = bucketCeil(bucket, to);
  if (bucket.kind !== 'raw') {
    const points = bucketCount(bucket, fromMs, toMs) * metrics.length;
    if (points > maxPoints) {
      const wider = NICE.find(
        (n) =>
          bucketCount(n.bucket, bucketFloor(n.bucket, from), bucketCeil(n.bucket, to)) * metrics.length <=
          maxPoints,
      );
      throw new ValidationError(
        'TOO_MANY_POINTS',
        `this query would return up to ${points} points (the limit is ${maxPoints}): narrow the range, ask for fewer metrics` +
          (wider ? `, or use a bucket of at least ${wider.label}` : ''),
        [{ path: 'bucket', message: `too fine for this range (${points} points)` }],
      );
    }
  }
  return { metrics, fromMs, toMs, bucket, agg, tier: tierFor(bucket), maxPoints };
}
