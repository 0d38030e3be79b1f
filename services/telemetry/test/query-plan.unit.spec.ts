import { describe, expect, it } from 'vitest';
import { bucketCeil, bucketFloor, parseBucket, planQuery, tierFor } from '../src/query/plan.js';

const NOW = Date.parse('2026-11-28T12:34:56.789Z');

describe('query planning', () => {
  it('picks the coarsest tier that answers each bucket exactly', () => {
    const tiers = ['10s', '30s', '1m', '5m', '15m', '1h', '6h', '90m', '1d', '1w', '1mo', 'raw'].map((b) => [
      b,
      tierFor(parseBucket(b)),
    ]);
    expect(tiers).toEqual([
      ['10s', 'raw'],
      ['30s', 'raw'],
      ['1m', '1m'],
      ['5m', '1m'],
      ['15m', '1m'],
      ['1h', '1h'],
      ['6h', '1h'],
      ['90m', '1m'],
      ['1d', '1d'],
      ['1w', '1d'],
      ['1mo', '1d'],
      ['raw', 'raw'],
    ]);
  });

  it('widens the range to whole UTC buckets (weeks from Monday, months from the 1st)', () => {
    const week = parseBucket('1w');
    expect(new Date(bucketFloor(week, NOW)).toISOString()).toBe('2026-11-23T00:00:00.000Z'); // a Monday
    expect(new Date(bucketCeil(week, NOW)).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    const month = parseBucket('1mo');
    expect(new Date(bucketFloor(month, NOW)).toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(new Date(bucketCeil(month, NOW)).toISOString()).toBe('2026-12-01T00:00:00.000Z');
    const aligned = Date.parse('2026-11-28T12:00:00.000Z');
    expect(bucketCeil(parseBucket('1h'), aligned)).toBe(aligned);
  });

  it('defaults to the last 24 hours with an automatic bucket of at most 1,000 points', () => {
    const plan = planQuery({ metric: ['temperature'] }, NOW, 20_000);
    expect(plan.agg).toBe('avg');
    expect(plan.bucket).toEqual({ kind: 'fixed', ms: 5 * 60_000, origin: 0 });
    expect(plan.tier).toBe('1m');
    expect(plan.toMs - plan.fromMs).toBeLessThanOrEqual(24 * 3_600_000 + 5 * 60_000);
  });

  it('splits comma-separated metrics and removes repeats', () => {
    const plan = planQuery({ metric: ['rpm,temperature', 'rpm'], bucket: '1h' }, NOW, 20_000);
    expect(plan.metrics).toEqual(['rpm', 'temperature']);
  });

  it('refuses a query that would return too many points, saying how to narrow it', () => {
    const from = '2026-01-01T00:00:00.000Z';
    expect(() =>
      planQuery({ metric: ['a', 'b'], from, to: '2026-11-28T00:00:00.000Z', bucket: '1m' }, NOW, 20_000),
    ).toThrow(/953280 points \(the limit is 20000\).*bucket of at least 1h$/);
  });

  it('refuses bad buckets, ranges and metric names with a 400 code', () => {
    const codes = [
      { metric: ['a'], bucket: '2mo' },
      { metric: ['a'], bucket: '40d' },
      { metric: ['a'], from: '2026-11-28T00:00:00Z', to: '2026-11-27T00:00:00Z' },
      { metric: ['9x'] },
      { metric: [','] },
    ].map((input) => {
      try {
        planQuery(input, NOW, 20_000);
        return 'accepted';
      } catch (err) {
        return `${(err as { status: number }).status} ${(err as { code: string }).code}`;
      }
    });
    expect(codes).toEqual([
      '400 INVALID_BUCKET',
      '400 INVALID_BUCKET',
      '400 INVALID_RANGE',
      '400 INVALID_METRIC',
      '400 INVALID_METRIC',
    ]);
  });
});
