import { ValidationError } from '@assetops/platform';

/** The most samples one asset's replay may take: more is a 400 that says how to narrow. */
export const MAX_SAMPLES_PER_ASSET = 200_000;

/**
 * Points asked of the Telemetry service per request: under its default limit (TELEMETRY_MAX_POINTS,
 * 20,000); a telemetry configured lower refuses, and the window is then split (see the client).
 */
export const DEFAULT_PAGE_POINTS = 10_000;

/** What one sample is: a reading, or the aggregate of a fixed bucket of `ms`. */
export type Resolution = { kind: 'raw' } | { kind: 'bucket'; ms: number; label: string };

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `raw`, or a bucket width such as `10s`, `1m`, `1h` (at most a day). */
export function parseResolution(text: string | undefined): Resolution {
  if (text === undefined || text === 'raw') return { kind: 'raw' };
  const match = /^([1-9][0-9]{0,3})(s|m|h)$/.exec(text);
  const ms = match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : Number.NaN;
  if (!(ms <= 86_400_000)) {
    const message = 'raw, or a bucket width from 1s to 24h such as 10s, 1m, 1h';
    throw new ValidationError('INVALID_RESOLUTION', `resolution ${text}: ${message}`, [
      { path: '/body/resolution', message },
    ]);
  }
  return { kind: 'bucket', ms, label: text };
}

/** A time window `[fromMs, toMs)`. */
export interface Window {
  fromMs: number;
  toMs: number;
}

const COUNT_BUCKETS = [
  { label: '1m', ms: 60_000 },
  { label: '5m', ms: 300_000 },
  { label: '15m', ms: 900_000 },
  { label: '1h', ms: 3_600_000 },
  { label: '6h', ms: 21_600_000 },
  { label: '1d', ms: 86_400_000 },
] as const;

/**
 * The bucket in which readings are counted before a raw replay (from the roll-ups: cheap): the
 * finest giving at most 5,000 counts, so the plan is close to the data without a large answer.
 */
export function countBucketFor(range: Window): { label: string; ms: number } {
  return (
    COUNT_BUCKETS.find((b) => Math.ceil((range.toMs - range.fromMs) / b.ms) + 1 <= 5_000) ??
    COUNT_BUCKETS[COUNT_BUCKETS.length - 1]!
  );
}

/**
 * Windows that tile `range` with at most about `pageSize` readings each, from the reading counts
 * of aligned buckets (`counts[i].tsMs` = bucket start). A bucket denser than a page is cut into
 * equal parts. `readings` is an upper bound: the edge buckets may hold readings outside the range.
 */
export function planRawWindows(
  counts: readonly { tsMs: number; count: number }[],
  bucketMs: number,
  range: Window,
  pageSize: number,
): { windows: Window[]; readings: number } {
  const windows: Window[] = [];
  let start = range.fromMs;
  let inWindow = 0;
  let readings = 0;
  for (const bucket of [...counts].sort((a, b) => a.tsMs - b.tsMs)) {
    if (bucket.count <= 0) continue;
    const from = Math.max(bucket.tsMs, range.fromMs);
    const to = Math.min(bucket.tsMs + bucketMs, range.toMs);
    if (from >= to) continue;
    readings += bucket.count;
    if (bucket.count > pageSize) {
      if (from > start) windows.push({ fromMs: start, toMs: from });
      const parts = Math.ceil(bucket.count / pageSize);
      for (let i = 0; i < parts; i++) {
        const partTo = i === parts - 1 ? to : Math.round(from + ((to - from) * (i + 1)) / parts);
        const partFrom = Math.round(from + ((to - from) * i) / parts);
        if (partTo > partFrom) windows.push({ fromMs: partFrom, toMs: partTo });
      }
      start = to;
      inWindow = 0;
    } else if (inWindow + bucket.count > pageSize) {
      if (from > start) windows.push({ fromMs: start, toMs: from });
      start = from;
      inWindow = bucket.count;
    } else {
      inWindow += bucket.count;
    }
  }
  if (start < range.toMs) windows.push({ fromMs: start, toMs: range.toMs });
  return { windows, readings };
}

/**
 * Bucket-aligned windows of at most `pageSize` buckets covering `range` widened to whole buckets —
 * the Telemetry service widens it the same way, and a bucket is never split between two requests.
 */
export function planBucketWindows(
  bucketMs: number,
  range: Window,
  pageSize: number,
): { windows: Window[]; buckets: number } {
  const from = Math.floor(range.fromMs / bucketMs) * bucketMs;
  const to = Math.ceil(range.toMs / bucketMs) * bucketMs;
  const windows: Window[] = [];
  for (let start = from; start < to; start += pageSize * bucketMs) {
    windows.push({ fromMs: start, toMs: Math.min(start + pageSize * bucketMs, to) });
  }
  return { windows, buckets: (to - from) / bucketMs };
}

/** Refuses a replay of more than `max` samples on one asset, saying how to narrow it. */
export function checkSampleBudget(
  samples: number,
  max: number,
  resolution: Resolution,
  range: Window,
  assetId?: string,
): void {
  if (samples <= max) return;
  const fraction = max / samples;
  const narrower = Math.max(1, Math.floor(((range.toMs - range.fromMs) * fraction) / 60_000));
  const what =
    resolution.kind === 'raw'
      ? `about ${samples} readings${assetId ? ` of asset ${assetId}` : ''}`
      : `${samples} buckets of ${resolution.label}`;
  const advice =
    resolution.kind === 'raw'
      ? `narrow the range to about ${narrower} minutes, or set a resolution (e.g. "1m") to replay one sample per bucket`
      : `narrow the range to about ${narrower} minutes, or use a coarser resolution`;
  throw new ValidationError(
    'BACKTEST_TOO_LARGE',
    `this backtest would replay ${what} (the limit is ${max} samples per asset): ${advice}`,
    [
      {
        path: '/body/from',
        message: `range too long for resolution ${resolution.kind === 'raw' ? 'raw' : resolution.label}`,
      },
    ],
  );
}
