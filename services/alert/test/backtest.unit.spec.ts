import type { Condition } from '@assetops/contracts';
import { ValidationError } from '@assetops/platform';
import { describe, expect, it } from 'vitest';
import {
  checkSampleBudget,
  countBucketFor,
  parseResolution,
  planBucketWindows,
  planRawWindows,
} from '../src/backtest/backtest.plan.js';
import { Replay, readingSample } from '../src/backtest/backtest.replay.js';
import type { RuleSpec } from '../src/evaluation/engine.js';

const ASSET = '0190a000-0000-7000-8000-000000000001';
const MIN = 60_000;

describe('backtest planning', () => {
  it('tiles the range with windows of at most a page of readings, cutting dense buckets', () => {
    const counts = [
      { tsMs: 0, count: 5 },
      { tsMs: MIN, count: 5 },
      { tsMs: 3 * MIN, count: 30 },
      { tsMs: 4 * MIN, count: 4 },
    ];
    const { windows, readings } = planRawWindows(counts, MIN, { fromMs: 0, toMs: 6 * MIN }, 10);
    expect(readings).toBe(44);
    expect(windows).toEqual([
      { fromMs: 0, toMs: 3 * MIN },
      { fromMs: 3 * MIN, toMs: 3 * MIN + 20_000 },
      { fromMs: 3 * MIN + 20_000, toMs: 3 * MIN + 40_000 },
      { fromMs: 3 * MIN + 40_000, toMs: 4 * MIN },
      { fromMs: 4 * MIN, toMs: 6 * MIN },
    ]);
  });

  it('clips the edge buckets to the range, and plans one window when there is little data', () => {
    const counts = [
      { tsMs: 0, count: 3 },
      { tsMs: MIN, count: 3 },
    ];
    expect(planRawWindows(counts, MIN, { fromMs: 30_000, toMs: 90_000 }, 10)).toEqual({
      windows: [{ fromMs: 30_000, toMs: 90_000 }],
      readings: 6,
    });
    expect(planRawWindows([], MIN, { fromMs: 0, toMs: MIN }, 10).readings).toBe(0);
  });

  it('aligns bucket windows on whole buckets, a page of buckets each', () => {
    expect(planBucketWindows(MIN, { fromMs: 30_000, toMs: 330_000 }, 2)).toEqual({
      buckets: 6,
      windows: [
        { fromMs: 0, toMs: 2 * MIN },
        { fromMs: 2 * MIN, toMs: 4 * MIN },
        { fromMs: 4 * MIN, toMs: 6 * MIN },
      ],
    });
  });

  it('counts in the finest bucket that keeps the plan small', () => {
    expect(countBucketFor({ fromMs: 0, toMs: 86_400_000 }).label).toBe('1m');
    expect(countBucketFor({ fromMs: 0, toMs: 30 * 86_400_000 }).label).toBe('15m');
  });

  it('parses resolutions and refuses others', () => {
    expect(parseResolution(undefined)).toEqual({ kind: 'raw' });
    expect(parseResolution('10s')).toEqual({ kind: 'bucket', ms: 10_000, label: '10s' });
    expect(() => parseResolution('25h')).toThrow(ValidationError);
  });

  it('refuses a replay beyond the sample budget, saying how to narrow it', () => {
    const range = { fromMs: 0, toMs: 10 * 86_400_000 };
    expect(() => checkSampleBudget(200_000, 200_000, { kind: 'raw' }, range)).not.toThrow();
    try {
      checkSampleBudget(400_000, 200_000, { kind: 'raw' }, range, ASSET);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'BACKTEST_TOO_LARGE', status: 400 });
      expect((err as Error).message).toMatch(
        /about 400000 readings of asset .*narrow the range to about 7200 minutes, or set a resolution/,
      );
    }
  });
});

describe('backtest replay', () => {
  const spec = (condition: Condition, more: Partial<RuleSpec> = {}) => ({
    condition,
    forMs: 0,
    clear: null,
    keepFiringMs: 0,
    escalation: null,
    severity: 'major' as const,
    ...more,
  });
  const replay = (
    rule: ReturnType<typeof spec>,
    values: (number | null)[],
    stepMs = 10_000,
    toMs?: number,
  ) => {
    const r = new Replay(rule, ASSET, 0);
    values.forEach((v, i) => {
      if (v !== null) r.push(readingSample(i * stepMs, v));
    });
    r.finish(toMs ?? values.length * stepMs);
    return r;
  };

  it('gives the episodes with their pending start, peak and clear (hysteresis)', () => {
    const r = replay(
      spec({ kind: 'above', threshold: 80 }, { forMs: 20_000, clear: { threshold: 75 } }),
      [70, 85, 90, 95, 78, 74, 90, 70, 84, 84, 84, 60],
    );
    expect(r.episodes).toEqual([
      {
        assetId: ASSET,
        raisedAt: 30_000,
        clearedAt: 50_000,
        severity: 'major',
        peakValue: 95,
        pendingSince: 10_000,
      },
      {
        assetId: ASSET,
        raisedAt: 100_000,
        clearedAt: 110_000,
        severity: 'major',
        peakValue: 84,
        pendingSince: 80_000,
      },
    ]);
    expect(r.cancelledPending).toBe(1);
    expect(r.samples).toBe(12);
  });

  it('reports an escalation and an episode still firing at the end', () => {
    const r = replay(
      spec({ kind: 'below', threshold: 10 }, { escalation: { severity: 'critical', afterMs: 20_000 } }),
      [12, 8, 5, 3, 4],
    );
    expect(r.episodes).toEqual([
      {
        assetId: ASSET,
        raisedAt: 10_000,
        clearedAt: null,
        severity: 'critical',
        peakValue: 3,
        escalatedAt: 30_000,
      },
    ]);
  });

  it('fires a no-data rule on the gaps between samples and at the end of the range', () => {
    const r = replay(
      spec({ kind: 'no_data', seconds: 30 }),
      [1, 1, null, null, null, null, 1, 1],
      10_000,
      150_000,
    );
    expect(r.episodes).toEqual([
      { assetId: ASSET, raisedAt: 40_000, clearedAt: 60_000, severity: 'major', peakValue: null },
      { assetId: ASSET, raisedAt: 100_000, clearedAt: null, severity: 'major', peakValue: null },
    ]);
  });
});
