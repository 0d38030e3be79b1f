/** Latency summaries with the far tail (p99.9), and the clock every thread of this benchmark shares. */
import { round } from '../common/stats.js';

/**
 * Epoch milliseconds with sub-millisecond resolution. Every thread (and PostgreSQL's `now()`, on
 * the same machine) reads the same system clock, so these times compare across threads and with
 * the database's timestamps.
 */
export const epochMs = (): number => performance.timeOrigin + performance.now();

export interface TailSummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

/** Nearest-rank percentiles (as bench/common/stats.ts's `summarize`), plus p99.9. */
export function tail(values: readonly number[]): TailSummary {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const at = (q: number) =>
    round(
      sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN,
      1,
    );
  const mean = sorted.reduce((sum, v) => sum + v, 0) / Math.max(1, sorted.length);
  return {
    count: sorted.length,
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    p99Ms: at(0.99),
    p999Ms: at(0.999),
    maxMs: round(sorted.at(-1) ?? Number.NaN, 1),
    meanMs: round(mean, 1),
  };
}

/** `p50/p90/p99/p99.9/max` in one string. */
export const fiveNumbers = (s: TailSummary) => `${s.p50Ms}/${s.p90Ms}/${s.p99Ms}/${s.p999Ms}/${s.maxMs}`;
