import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelemetry, type TelemetryHarness } from './support/harness.js';

describe('telemetry ingestion over HTTP', () => {
  let t: TelemetryHarness;
  beforeAll(async () => {
    t = await startTelemetry({ now: '2026-11-28T12:00:00.000Z' });
  });
  afterAll(() => t?.close());

  it('stores valid readings and rejects each invalid one with its index and reason', async () => {
    const asset = await t.registerAsset();
    const result = await t.ingest([
      { assetId: asset, metric: 'temperature', value: 71.5, ts: '2026-11-28T11:59:00.000Z' },
      { assetId: asset, metric: 'temperature', value: Number.NaN },
      { assetId: '00000000-0000-4000-8000-000000000000', metric: 'rpm', value: 1 },
      { assetId: asset, metric: '9bad', value: 1 },
      { assetId: asset, metric: 'rpm', value: 1480 },
      'not an object',
      { assetId: asset, metric: 'rpm', value: 1, ts: '2026-11-28T13:00:00.000Z' },
      { assetId: asset, metric: 'rpm', value: 1, ts: '2026-11-28T10:00:00.000Z' },
      { assetId: 'nope', metric: 'rpm', value: 1 },
      { assetId: asset, metric: 'rpm', value: 1, ts: 'yesterday' },
    ]);
    expect(result.accepted).toBe(2);
    expect(result.duplicates).toBe(0);
    expect(result.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'INVALID_VALUE'],
      [2, 'UNKNOWN_ASSET'],
      [3, 'INVALID_METRIC'],
      [5, 'INVALID_READING'],
      [6, 'TS_IN_FUTURE'],
      [7, 'TOO_LATE'],
      [8, 'INVALID_ASSET_ID'],
      [9, 'INVALID_TS'],
    ]);
    const { rows } = await t.db.pool.query(
      `SELECT s.metric, r.ts, r.value FROM readings r JOIN series s USING (series_id)
        WHERE s.asset_id = $1 ORDER BY s.metric`,
      [asset],
    );
    expect(rows.map((r) => [r.metric, r.ts.toISOString(), r.value])).toEqual([
      ['rpm', '2026-11-28T12:00:00.000Z', 1480],
      ['temperature', '2026-11-28T11:59:00.000Z', 71.5],
    ]);
  });

  it('treats a re-sent reading as a duplicate and keeps the roll-ups unchanged', async () => {
    const asset = await t.registerAsset();
    const batch = [
      { assetId: asset, metric: 'flow', value: 10, ts: '2026-11-28T11:30:10.000Z' },
      { assetId: asset, metric: 'flow', value: 20, ts: '2026-11-28T11:30:20.000Z' },
    ];
    expect(await t.ingest(batch)).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    expect(await t.ingest(batch)).toEqual({ accepted: 2, duplicates: 2, rejected: [] });
    await t.flushRollups();
    const { rows } = await t.db.pool.query(
      `SELECT r.count, r.sum::float8 AS sum, r.min, r.max, r.first, r.last FROM rollup_1m r
         JOIN series s USING (series_id) WHERE s.asset_id = $1`,
      [asset],
    );
    expect(rows).toEqual([{ count: 2, sum: 30, min: 10, max: 20, first: 10, last: 20 }]);
    // The same reading twice in one batch, beside a new one: stored once, counted once as a duplicate.
    const twice = { assetId: asset, metric: 'flow', value: 30, ts: '2026-11-28T11:30:30.000Z' };
    expect(await t.ingest([twice, twice])).toEqual({ accepted: 2, duplicates: 1, rejected: [] });
    await t.flushRollups();
    const { rows: after } = await t.db.pool.query(
      `SELECT r.count, r.sum::float8 AS sum FROM rollup_1m r JOIN series s USING (series_id) WHERE s.asset_id = $1`,
      [asset],
    );
    expect(after).toEqual([{ count: 3, sum: 60 }]);
  });

  it('stores concurrent batches (merged into fewer writes) with each reading once, and counts each duplicate once', async () => {
    const asset = await t.registerAsset();
    const base = Date.parse('2026-11-28T11:40:00.000Z');
    const batch = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        assetId: asset,
        metric: 'load',
        value: from + i,
        ts: base + (from + i) * 100,
      }));
    // Eight requests at once; the third and the fourth each overlap another one by 50 readings.
    const batches = [
      batch(0, 200),
      batch(200, 200),
      batch(350, 100),
      batch(0, 50),
      ...[5, 6, 7, 8].map((k) => batch(k * 200, 200)),
    ];
    const timingsBefore = await timings();
    const results = await Promise.all(batches.map((b) => t.ingest(b)));
    expect(results.map((r) => r.accepted)).toEqual(batches.map((b) => b.length));
    // The service's own timings: every batch ingested and written once, in fewer statements.
    const timingsAfter = await timings();
    const added = (name: string) => timingsAfter[name]! - (timingsBefore[name] ?? 0);
    expect(added('telemetry_ingest_seconds_count')).toBe(8);
    expect(added('telemetry_write_batches_total')).toBe(8);
    expect(added('telemetry_write_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(added('telemetry_write_seconds_count')).toBe(added('telemetry_write_wait_seconds_count'));
    expect(added('telemetry_write_seconds_sum')).toBeGreaterThan(0);
    expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(100);
    const { rows } = await t.db.pool.query<{ n: number; sum: number }>(
      `SELECT count(*)::int AS n, sum(r.value)::float8 AS sum FROM readings r JOIN series s USING (series_id) WHERE s.asset_id = $1`,
      [asset],
    );
    // Distinct readings: 0…449 and 1000…1799.
    expect(rows[0]).toEqual({ n: 1250, sum: (449 * 450) / 2 + ((1000 + 1799) * 800) / 2 });
    const count = await t.service.app.inject({
      method: 'GET',
      url: `/api/v1/assets/${asset}/telemetry?metric=load&from=2026-11-28T11:00:00Z&to=2026-11-28T12:00:00Z&bucket=1h&agg=count`,
    });
    expect(count.json().series[0].points).toEqual([{ ts: '2026-11-28T11:00:00.000Z', value: 1250 }]);
  });

  /** The samples of the ingest timing metrics (label sets summed) on /metrics. */
  async function timings(): Promise<Record<string, number>> {
    const text = (await t.service.app.inject({ url: '/metrics' })).body;
    const samples: Record<string, number> = {};
    for (const line of text.split('\n')) {
      const m = /^(telemetry_(?:ingest|write)_\w+?)(?:\{[^}]*\})? (\S+)$/.exec(line);
      if (m && !m[1]!.endsWith('_bucket')) samples[m[1]!] = (samples[m[1]!] ?? 0) + Number(m[2]);
    }
    return samples;
  }

  it('refuses readings of a decommissioned asset', async () => {
    const asset = await t.registerAsset();
    await t.changeStatus(asset, 'decommissioned');
    const result = await t.ingest([{ assetId: asset, metric: 'rpm', value: 1 }]);
    expect(result.accepted).toBe(0);
    expect(result.rejected).toEqual([{ index: 0, code: 'ASSET_DECOMMISSIONED', reason: expect.any(String) }]);
  });

  it('answers a malformed body with a 400 problem', async () => {
    for (const payload of ['{"readings": [', '{"nope": 1}', '[]']) {
      const res = await t.service.app.inject({
        method: 'POST',
        url: '/api/v1/telemetry',
        headers: { 'content-type': 'application/json' },
        payload,
      });
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
    const tooMany = Array.from({ length: 10_001 }, () => ({ assetId: 'x', metric: 'm', value: 1 }));
    const res = await t.service.app.inject({
      method: 'POST',
      url: '/api/v1/telemetry',
      payload: { readings: tooMany },
    });
    expect(res.statusCode).toBe(400);
  });

  it('ingests NDJSON, reporting rejected lines by line number', async () => {
    const asset = await t.registerAsset();
    const lines = [
      JSON.stringify({ assetId: asset, metric: 'rpm', value: 1, ts: '2026-11-28T11:50:00.000Z' }),
      '{broken',
      '',
      JSON.stringify({ assetId: asset, metric: 'rpm', value: 'high' }),
      JSON.stringify({ assetId: asset, metric: 'rpm', value: 2, ts: '2026-11-28T11:50:01.000Z' }),
    ];
    const res = await t.service.app.inject({
      method: 'POST',
      url: '/api/v1/telemetry',
      headers: { 'content-type': 'application/x-ndjson' },
      payload: `${lines.join('\n')}\n`,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      accepted: 2,
      duplicates: 0,
      rejected: [
        { index: 1, code: 'INVALID_JSON', reason: expect.any(String) },
        { index: 3, code: 'INVALID_VALUE', reason: expect.any(String) },
      ],
    });
  });
});
