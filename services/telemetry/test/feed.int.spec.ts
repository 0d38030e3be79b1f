import { type EventEnvelope, type TelemetryAggregatedData, telemetryWindows } from '@assetops/contracts';
import { createLogger, uuidV7Ids } from '@assetops/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFeedPublisher, type FeedPublisher } from '../src/feed/feed-publisher.js';
import { startTelemetry, type TelemetryHarness } from './support/harness.js';

describe('TelemetryAggregated feed', () => {
  let t: TelemetryHarness;
  let feed: FeedPublisher;
  beforeAll(async () => {
    t = await startTelemetry({ now: '2026-11-28T12:00:00.000Z' });
    feed = createFeedPublisher({
      pool: t.db.pool,
      logger: createLogger({ service: 'telemetry', level: 'silent' }),
      clock: t.clock,
      ids: uuidV7Ids,
      windowMs: 1000,
    });
  });
  afterAll(() => t?.close());

  const announced = async (assetId: string) => {
    const { rows } = await t.db.pool.query<{ event: EventEnvelope<TelemetryAggregatedData> }>(
      `SELECT event FROM outbox_events WHERE type = 'assetops.telemetry.aggregated.v2' AND subject = $1 ORDER BY position, ord`,
      [assetId],
    );
    return rows.map((r) => r.event);
  };

  it('announces each asset and window once, with its metrics, through the outbox', async () => {
    const asset = await t.registerAsset();
    const at = (ms: number) => new Date(Date.parse('2026-11-28T11:59:00.000Z') + ms).toISOString();
    await t.ingest([
      { assetId: asset, metric: 'rpm', value: 10, ts: at(100) },
      { assetId: asset, metric: 'rpm', value: 30, ts: at(900) },
      { assetId: asset, metric: 'rpm', value: 20, ts: at(500) },
      { assetId: asset, metric: 'rpm', value: 5, ts: at(1500) },
      { assetId: asset, metric: 'temperature', value: 70.5, ts: at(200) },
    ]);
    expect(await feed.drain()).toBe(2);
    expect(await feed.drain()).toBe(0);
    const events = await announced(asset);
    expect(events.map((e) => e.data)).toEqual([
      {
        assetId: asset,
        windowStart: at(0),
        windowEnd: at(1000),
        metrics: [
          {
            metric: 'rpm',
            count: 3,
            sum: 60,
            min: 10,
            max: 30,
            first: 10,
            firstTs: at(100),
            last: 30,
            lastTs: at(900),
          },
          {
            metric: 'temperature',
            count: 1,
            sum: 70.5,
            min: 70.5,
            max: 70.5,
            first: 70.5,
            firstTs: at(200),
            last: 70.5,
            lastTs: at(200),
          },
        ],
      },
      {
        assetId: asset,
        windowStart: at(1000),
        windowEnd: at(2000),
        metrics: [expect.objectContaining({ metric: 'rpm', count: 1, min: 5, last: 5, lastTs: at(1500) })],
      },
    ]);
    expect(events.every((e) => e.subject === asset && e.source === '/assetops/telemetry')).toBe(true);
    // Per metric, as consumers read them.
    expect(telemetryWindows(events[0]!.data).map((w) => [w.assetId, w.metric, w.windowStart])).toEqual([
      [asset, 'rpm', at(0)],
      [asset, 'temperature', at(0)],
    ]);

    // A late reading for an announced window: one more event for that window, with only that reading.
    await t.ingest([{ assetId: asset, metric: 'rpm', value: 1, ts: at(50) }]);
    expect(await feed.drain()).toBe(1);
    const late = (await announced(asset)).at(-1)!;
    expect(late.data).toEqual({
      assetId: asset,
      windowStart: at(0),
      windowEnd: at(1000),
      metrics: [
        {
          metric: 'rpm',
          count: 1,
          sum: 1,
          min: 1,
          max: 1,
          first: 1,
          firstTs: at(50),
          last: 1,
          lastTs: at(50),
        },
      ],
    });
  });

  it('announces the assets of one window apart', async () => {
    const [a, b] = [await t.registerAsset(), await t.registerAsset()];
    const ts = '2026-11-28T11:57:00.250Z';
    await t.ingest([
      { assetId: a, metric: 'rpm', value: 1, ts },
      { assetId: b, metric: 'rpm', value: 2, ts },
      { assetId: a, metric: 'flow', value: 3, ts },
    ]);
    expect(await feed.drain()).toBe(2);
    expect((await announced(a)).map((e) => e.data.metrics.map((m) => [m.metric, m.last]))).toEqual([
      [
        ['flow', 3],
        ['rpm', 1],
      ],
    ]);
    expect((await announced(b)).map((e) => e.data.metrics.map((m) => [m.metric, m.last]))).toEqual([
      [['rpm', 2]],
    ]);
  });

  it('keeps the windows of a write in one pending row, and drains rows whole, a limited number of windows at a time', async () => {
    const small = createFeedPublisher({
      pool: t.db.pool,
      logger: createLogger({ service: 'telemetry', level: 'silent' }),
      clock: t.clock,
      ids: uuidV7Ids,
      windowMs: 1000,
      batchSize: 3,
    });
    const asset = await t.registerAsset();
    const at = (s: number) => new Date(Date.parse('2026-11-28T11:56:00.000Z') + s * 1000).toISOString();
    for (const s of [0, 2, 4]) {
      await t.ingest([
        { assetId: asset, metric: 'rpm', value: s, ts: at(s) },
        { assetId: asset, metric: 'rpm', value: s + 1, ts: at(s + 1) },
      ]);
    }
    const { rows } = await t.db.pool.query<{ windows: number }>(
      'SELECT cardinality(series_ids) AS windows FROM feed_pending ORDER BY id',
    );
    expect(rows.map((r) => r.windows)).toEqual([2, 2, 2]);
    // 3 windows a drain: two whole rows (4 windows), then the last one.
    expect(await small.drain()).toBe(6);
    const events = await announced(asset);
    expect(events.map((e) => [e.data.windowStart, e.data.metrics[0]!.last])).toEqual(
      [0, 1, 2, 3, 4, 5].map((s) => [at(s), s]),
    );
    expect((await t.db.pool.query('SELECT 1 FROM feed_pending')).rowCount).toBe(0);
  });

  it('announces nothing for a re-sent reading', async () => {
    const asset = await t.registerAsset();
    const reading = { assetId: asset, metric: 'rpm', value: 3, ts: '2026-11-28T11:58:00.000Z' };
    await t.ingest([reading]);
    await feed.drain();
    await t.ingest([reading]);
    expect(await feed.drain()).toBe(0);
    expect(await announced(asset)).toHaveLength(1);
  });
});
