/**
 * Histograms read from a service's Prometheus `/metrics`, and the difference between two reads:
 * what a bench phase added. Quantiles come from the bucket bounds (the upper bound of the bucket
 * that reaches the quantile), so they are only as fine as the buckets; means are exact.
 */

/** One histogram series: cumulative counts per upper bound (seconds), the sum and the count. */
export interface HistogramRead {
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

/** Reads the histograms `names` (each summed over its label sets) from a `/metrics` URL. */
export async function readHistograms(
  url: string,
  names: readonly string[],
): Promise<Map<string, HistogramRead>> {
  const text = await (await fetch(url)).text();
  const read = new Map<string, HistogramRead>(
    names.map((n) => [n, { buckets: new Map<number, number>(), sum: 0, count: 0 }]),
  );
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+?)(_bucket|_sum|_count)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match) continue;
    const h = read.get(match[1]!);
    if (!h) continue;
    const value = Number(match[4]);
    if (match[2] === '_sum') h.sum += value;
    else if (match[2] === '_count') h.count += value;
    else {
      const le = /le="([^"]+)"/.exec(match[3] ?? '')?.[1];
      if (le === undefined) continue;
      const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
      h.buckets.set(bound, (h.buckets.get(bound) ?? 0) + value);
    }
  }
  return read;
}

/** What was observed between two reads of one histogram. */
export function histogramDelta(before: HistogramRead | undefined, after: HistogramRead): HistogramRead {
  const buckets = new Map<number, number>();
  for (const [bound, n] of after.buckets) buckets.set(bound, n - (before?.buckets.get(bound) ?? 0));
  return { buckets, sum: after.sum - (before?.sum ?? 0), count: after.count - (before?.count ?? 0) };
}

/** The upper bound (ms) of the bucket where the cumulative count reaches quantile `q`; NaN when empty. */
export function bucketQuantileMs(h: HistogramRead, q: number): number {
  if (h.count === 0) return Number.NaN;
  const bounds = [...h.buckets.keys()].sort((a, b) => a - b);
  for (const bound of bounds) if (h.buckets.get(bound)! >= q * h.count) return bound * 1000;
  return Number.POSITIVE_INFINITY;
}

/** Count, mean, and p50/p90/p99 as "≤ bucket bound", in ms, of a histogram delta. */
export function summarizeHistogram(h: HistogramRead): {
  count: number;
  meanMs: number;
  p50LeMs: number;
  p90LeMs: number;
  p99LeMs: number;
} {
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    count: h.count,
    meanMs: h.count === 0 ? Number.NaN : round((h.sum / h.count) * 1000),
    p50LeMs: bucketQuantileMs(h, 0.5),
    p90LeMs: bucketQuantileMs(h, 0.9),
    p99LeMs: bucketQuantileMs(h, 0.99),
  };
}
