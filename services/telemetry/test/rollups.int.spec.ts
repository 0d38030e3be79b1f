import type { TelemetryQueryResult } from '@assetops/contracts';
import { createLogger } from '@assetops/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRollupAggregator } from '../src/rollups/rollup-aggregator.js';
import { startTelemetry, type TelemetryHarness } from './support/harness.js';

const NOW = '2026-11-28T12:00:00.000Z';
const START = Date.parse('2026-11-27T22:00:00.000Z');

/** A deterministic pseudo-random sequence, so failures reproduce. */
function random(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

interface Reading {
  metric: string;
  tsMs: number;
  value: number;
}

/** ~14 h of two metrics at irregular intervals, crossing midnight (so every tier has several buckets). */
function dataset(): Reading[] {
  const rnd = random(42);
  const out: Reading[] = [];
  for (const metric of ['temperature', 'pressure']) {
    for (let ts = START; ts < Date.parse(NOW) - 60_000; ts += 1000 + Math.floor(rnd() * 59_000)) {
      out.push({ metric, tsMs: ts, value: Math.round((50 + rnd() * 40) * 1000) / 1000 + rnd() / 7 });
    }
  }
  return out;
}

function shuffle<T>(items: T[], seed: number): T[] {
  const rnd = random(seed);
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** The exact aggregates of a tier, computed here from the readings. */
function expected(readings: Reading[], bucketMs: number) {
  const groups = new Map<string, Reading[]>();
  for (const r of readings) {
    const key = `${r.metric}|${Math.floor(r.tsMs / bucketMs) * bucketMs}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.entries()]
    .map(([key, rs]) => {
      const sorted = [...rs].sort((a, b) => a.tsMs - b.tsMs);
      const [metric, bucket] = key.split('|');
      return {
        metric: metric!,
        bucket: new Date(Number(bucket)).toISOString(),
        count: rs.length,
        sum: rs.reduce((s, r) => s + r.value, 0),
        min: Math.min(...rs.map((r) => r.value)),
        max: Math.max(...rs.map((r) => r.value)),
        first: sorted[0]!.value,
        last: sorted.at(-1)!.value,
      };
    })
    .sort((a, b) => a.metric.localeCompare(b.metric) || a.bucket.localeCompare(b.bucket));
}

describe('roll-ups and queries', () => {
  let t: TelemetryHarness;
  let ordered: string;
  let shuffled: string;
  const readings = dataset();

  const send = async (assetId: string, rs: Reading[], batch: number) => {
    for (let i = 0; i < rs.length; i += batch) {
      const result = await t.ingest(
        rs.slice(i, i + batch).map((r) => ({ assetId, metric: r.metric, value: r.value, ts: r.tsMs })),
      );
      expect(result.rejected).toEqual([]);
    }
  };

  const rollups = async (assetId: string, table: string) => {
    await t.flushRollups();
    const { rows } = await t.db.pool.query(
      `SELECT s.metric, r.bucket, r.count, r.sum::text AS sum, r.min, r.max, r.first, r.last, r.first_ts, r.last_ts
         FROM ${table} r JOIN series s USING (series_id) WHERE s.asset_id = $1 ORDER BY s.metric, r.bucket`,
      [assetId],
    );
    return rows.map((r) => ({ ...r, bucket: r.bucket.toISOString() }));
  };

  const query = async (assetId: string, qs: string) => {
    const res = await t.service.app.inject({
      method: 'GET',
      url: `/api/v1/assets/${assetId}/telemetry?${qs}`,
    });
    return {
      status: res.statusCode,
      body: res.json() as TelemetryQueryResult & { code?: string; detail?: string },
    };
  };

  beforeAll(async () => {
    t = await startTelemetry({
      now: NOW,
      env: { TELEMETRY_LATENESS_WINDOW: '2d', TELEMETRY_COMPACT_AFTER: '3d' },
    });
    ordered = await t.registerAsset();
    shuffled = await t.registerAsset();
    await send(ordered, readings, 500);
    await send(shuffled, shuffle(readings, 7), 337);
  });
  afterAll(() => t?.close());

  it('keeps exact min, max, sum, count, first and last in every tier', async () => {
    for (const [table, bucketMs] of [
      ['rollup_1m', 60_000],
      ['rollup_1h', 3_600_000],
      ['rollup_1d', 86_400_000],
    ] as const) {
      const stored = await rollups(ordered, table);
      const want = expected(readings, bucketMs);
      expect(stored.length).toBe(want.length);
      stored.forEach((row, i) => {
        const w = want[i]!;
        expect({ ...row, sum: undefined, first_ts: undefined, last_ts: undefined }).toEqual({
          ...w,
          sum: undefined,
          first_ts: undefined,
          last_ts: undefined,
        });
        expect(Number(row.sum)).toBeCloseTo(w.sum, 6);
      });
    }
  });

  it('gives the same roll-ups for shuffled input as for ordered input', async () => {
    for (const table of ['rollup_1m', 'rollup_1h', 'rollup_1d']) {
      expect(await rollups(shuffled, table)).toEqual(await rollups(ordered, table));
    }
  });

  it('revises the roll-ups a late reading belongs to, and keeps the newer latest value', async () => {
    const asset = await t.registerAsset();
    const minute = Date.parse('2026-11-28T11:00:00.000Z');
    await send(
      asset,
      [
        { metric: 'rpm', tsMs: minute + 10_000, value: 5 },
        { metric: 'rpm', tsMs: minute + 20_000, value: 7 },
      ],
      10,
    );
    // Arrives later, but belongs before both: first, min, count and sum change; latest does not.
    await send(asset, [{ metric: 'rpm', tsMs: minute + 1_000, value: 1 }], 10);
    const [row] = await rollups(asset, 'rollup_1m');
    expect(row).toMatchObject({ count: 3, sum: '13', min: 1, max: 7, first: 1, last: 7 });
    const latest = await t.service.app.inject({
      method: 'GET',
      url: `/api/v1/assets/${asset}/telemetry/latest`,
    });
    expect(latest.json()).toEqual({
      assetId: asset,
      values: [{ metric: 'rpm', ts: '2026-11-28T11:00:20.000Z', value: 7 }],
    });
  });

  it('answers exactly while roll-ups are pending, and the same once the aggregator merged them', async () => {
    const asset = await t.registerAsset();
    const hour = Date.parse('2026-11-28T10:00:00.000Z');
    const sample = readings.filter((r) => r.tsMs >= hour - 3_600_000 && r.tsMs < hour + 3_600_000);
    // Several batches touching the same minutes, a re-sent batch, and a late reading of the first minute.
    await send(asset, sample.slice(1), 7);
    await send(asset, sample.slice(1, 30), 29);
    await send(asset, sample.slice(0, 1), 1);
    const { rows: pending } = await t.db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM rollup_pending p, unnest(p.series_ids) AS u(series_id) JOIN series s USING (series_id) WHERE s.asset_id = $1',
      [asset],
    );
    expect(pending[0]!.n).toBeGreaterThan(0);
    const from = new Date(hour - 3_600_000).toISOString();
    const to = new Date(hour + 3_600_000).toISOString();
    const answers = async () =>
      Promise.all([
        ...['1m', '15m', '1h', '1d'].flatMap((bucket) =>
          ['avg', 'first', 'last', 'min', 'count'].map((agg) =>
            query(asset, `metric=temperature,pressure&from=${from}&to=${to}&bucket=${bucket}&agg=${agg}`),
          ),
        ),
        t.service.app
          .inject({ method: 'GET', url: `/api/v1/assets/${asset}/telemetry/latest` })
          .then((r) => r.json()),
      ]);
    const before = await answers();
    const pressure = sample.filter((r) => r.metric === 'pressure');
    expect(before[0]!.body.series[1]!.points).toEqual(
      expected(pressure, 60_000).map((w) => ({ ts: w.bucket, value: expect.closeTo(w.sum / w.count, 9) })),
    );
    expect(before.at(-1)).toMatchObject({
      values: [
        { metric: 'pressure', value: pressure.at(-1)!.value },
        { metric: 'temperature', value: sample.filter((r) => r.metric === 'temperature').at(-1)!.value },
      ],
    });
    expect((await t.flushRollups()).claimed).toBeGreaterThan(0);
    expect(await answers()).toEqual(before);
    expect(await t.flushRollups()).toEqual({ claimed: 0, minutes: 0 });
  });

  it('keeps the minute roll-ups of a write in one pending row, and merges rows whole, a limited number at a time', async () => {
    await t.flushRollups(); // what the earlier tests left pending
    const asset = await t.registerAsset();
    const minute = (m: number, s = 0) => Date.parse('2026-11-28T09:00:00.000Z') + m * 60_000 + s * 1000;
    // Three writes of two minutes each; the second one revises a minute of the first.
    await send(
      asset,
      [
        { metric: 'temperature', tsMs: minute(0), value: 1 },
        { metric: 'temperature', tsMs: minute(1), value: 2 },
      ],
      2,
    );
    await send(
      asset,
      [
        { metric: 'temperature', tsMs: minute(1, 30), value: 4 },
        { metric: 'temperature', tsMs: minute(2), value: 8 },
      ],
      2,
    );
    await send(
      asset,
      [
        { metric: 'temperature', tsMs: minute(3), value: 16 },
        { metric: 'temperature', tsMs: minute(4), value: 32 },
      ],
      2,
    );
    const { rows } = await t.db.pool.query<{ n: number }>(
      `SELECT cardinality(p.series_ids) AS n FROM rollup_pending p
        WHERE (SELECT asset_id FROM series WHERE series_id = p.series_ids[1]) = $1 ORDER BY id`,
      [asset],
    );
    expect(rows.map((r) => r.n)).toEqual([2, 2, 2]);
    // About 3 pending minute rows a run: the first two appended rows (4), then the last one.
    const small = createRollupAggregator({
      pool: t.db.pool,
      logger: createLogger({ service: 'telemetry', level: 'silent' }),
      batchSize: 3,
    });
    expect(await small.flush()).toEqual({ claimed: 6, minutes: 5 });
    const sums = await query(
      asset,
      `metric=temperature&from=2026-11-28T09:00:00Z&to=2026-11-28T09:05:00Z&bucket=1m&agg=sum`,
    );
    expect(sums.body.series[0]!.points.map((p) => p.value)).toEqual([1, 6, 8, 16, 32]);
  });

  it('answers from the coarsest exact tier, with the same values as the readings give', async () => {
    const from = '2026-11-27T22:00:00.000Z';
    const to = '2026-11-28T12:00:00.000Z';
    const hourly = await query(ordered, `metric=temperature&from=${from}&to=${to}&bucket=1h&agg=avg`);
    expect(hourly.status).toBe(200);
    expect(hourly.body.tier).toBe('1h');
    const want = expected(
      readings.filter((r) => r.metric === 'temperature'),
      3_600_000,
    );
    expect(hourly.body.series[0]!.points.map((p) => p.ts)).toEqual(want.map((w) => w.bucket));
    hourly.body.series[0]!.points.forEach((p, i) => {
      expect(p.value).toBeCloseTo(want[i]!.sum / want[i]!.count, 9);
    });

    const quarter = await query(
      ordered,
      `metric=temperature,pressure&from=${from}&to=${to}&bucket=15m&agg=max`,
    );
    expect(quarter.body.tier).toBe('1m');
    expect(quarter.body.series.map((s) => s.metric)).toEqual(['temperature', 'pressure']);
    const want15 = expected(
      readings.filter((r) => r.metric === 'pressure'),
      15 * 60_000,
    );
    expect(quarter.body.series[1]!.points).toEqual(want15.map((w) => ({ ts: w.bucket, value: w.max })));

    const daily = await query(ordered, `metric=pressure&from=${from}&to=${to}&bucket=1d&agg=count`);
    expect(daily.body.tier).toBe('1d');
    expect(daily.body.from).toBe('2026-11-27T00:00:00.000Z');
    expect(daily.body.series[0]!.points.reduce((s, p) => s + (p.value ?? 0), 0)).toBe(
      readings.filter((r) => r.metric === 'pressure').length,
    );

    const firstLast = await query(ordered, `metric=pressure&from=${from}&to=${to}&bucket=1mo&agg=first`);
    const pressure = readings.filter((r) => r.metric === 'pressure');
    expect(firstLast.body.series[0]!.points).toEqual([
      { ts: '2026-11-01T00:00:00.000Z', value: pressure[0]!.value },
    ]);
  });

  it('answers sub-minute buckets and raw readings from the readings themselves', async () => {
    const from = '2026-11-28T10:00:00.000Z';
    const to = '2026-11-28T10:10:00.000Z';
    const inRange = readings.filter(
      (r) => r.metric === 'temperature' && r.tsMs >= Date.parse(from) && r.tsMs < Date.parse(to),
    );
    const raw = await query(ordered, `metric=temperature&from=${from}&to=${to}&bucket=raw`);
    expect(raw.body.tier).toBe('raw');
    expect(raw.body.series[0]!.points).toEqual(
      inRange.map((r) => ({ ts: new Date(r.tsMs).toISOString(), value: r.value })),
    );
    const tens = await query(ordered, `metric=temperature&from=${from}&to=${to}&bucket=30s&agg=min`);
    expect(tens.body.tier).toBe('raw');
    expect(tens.body.series[0]!.points).toEqual(
      expected(inRange, 30_000).map((w) => ({ ts: w.bucket, value: w.min })),
    );
  });

  it('refuses too many points with a 400 that says how to narrow the query, and 404s an unknown asset', async () => {
    const wide = await query(
      ordered,
      'metric=temperature&from=2025-01-01T00:00:00Z&to=2026-11-28T00:00:00Z&bucket=1m',
    );
    expect(wide.status).toBe(400);
    expect(wide.body.code).toBe('TOO_MANY_POINTS');
    expect(wide.body.detail).toMatch(/use a bucket of at least/);
    const unknown = await query('00000000-0000-4000-8000-000000000001', 'metric=temperature');
    expect(unknown.status).toBe(404);
  });
});
