/**
 * A Prometheus histogram read from a service's `/metrics` (text format), the difference of two
 * scrapes, and quantiles from its buckets (as PromQL's histogram_quantile: linear within a bucket).
 */

export interface Histogram {
  /** Cumulative counts by upper bound (`le`), ascending; the last is +Inf. */
  buckets: { le: number; count: number }[];
  count: number;
  sum: number;
}

/** The histogram `name` in a /metrics text, every label set summed. Undefined when absent. */
export function parseHistogram(text: string, name: string): Histogram | undefined {
  const byLe = new Map<number, number>();
  let count = 0;
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (rest.startsWith('_bucket')) {
      const le = /le="([^"]+)"/.exec(rest)?.[1];
      if (le === undefined) continue;
      const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
      byLe.set(bound, (byLe.get(bound) ?? 0) + value);
      found = true;
    } else if (rest.startsWith('_count')) {
      count += value;
    } else if (rest.startsWith('_sum')) {
      sum += value;
    }
  }
  if (!found) return undefined;
  const buckets = [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, n]) => ({ le, count: n }));
  return { buckets, count, sum };
}

/** `after − before` (the observations between two scrapes). */
export function histogramDelta(after: Histogram, before: Histogram | undefined): Histogram {
  if (!before) return after;
  const prior = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (prior.get(b.le) ?? 0) })),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/**
 * The q-quantile (0…1) in the histogram's unit, interpolated linearly inside its bucket; NaN when
 * empty. A quantile in the +Inf bucket is reported as the highest finite bound (a lower bound).
 */
export function histogramQuantile(h: Histogram, q: number): number {
  const total = h.buckets.at(-1)?.count ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const b of h.buckets) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return lowerBound;
      const inBucket = b.count - lowerCount;
      return inBucket <= 0 ? b.le : lowerBound + ((b.le - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = b.le;
    lowerCount = b.count;
  }
  return lowerBound;
}

/** Share of the observations at or below `bound` (exact when `bound` is a bucket boundary). */
export function shareAtOrBelow(h: Histogram, bound: number): number {
  const total = h.buckets.at(-1)?.count ?? 0;
  if (total === 0) return Number.NaN;
  const bucket = h.buckets.find((b) => b.le === bound);
  return bucket ? bucket.count / total : Number.NaN;
}

/** The upper bound of the highest non-empty bucket: the maximum lies at or below it. */
export function maxBound(h: Histogram): number {
  let previous = 0;
  let bound = Number.NaN;
  for (const b of h.buckets) {
    if (b.count > previous) bound = b.le;
    previous = b.count;
  }
  return bound;
}
