import { randomUUID } from 'node:crypto';
import type { DashboardAssetPage, DashboardFleet, DashboardRebuild } from '@assetops/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TELEMETRY_AGGREGATED_V1 } from '../src/projection/projection.apply.js';
import { type DashboardHarness, events, eventually, startDashboard } from './support/harness.js';

describe('dashboard rebuild', () => {
  let h: DashboardHarness;
  beforeAll(async () => {
    h = await startDashboard();
  });
  afterAll(() => h?.close());

  /** The whole read model as the API shows it, without what a rebuild renumbers. */
  async function snapshot() {
    const page = await h.api<DashboardAssetPage>('GET', '/api/v1/dashboard/assets?limit=500');
    const fleet = await h.api<DashboardFleet>('GET', '/api/v1/dashboard/fleet');
    const strip = <T extends { position: number }>({ position: _, ...rest }: T) => rest;
    return {
      assets: page.body.items.map(strip),
      fleet: { ...fleet.body, updatedAt: null, needsAttention: fleet.body.needsAttention.map(strip) },
    };
  }

  it('replays the journal into a fresh generation equal to the live one and switches to it', async () => {
    for (let i = 0; i < 12; i++) {
      const assetId = randomUUID();
      const raised = events.alertRaised(assetId, { severity: i % 2 ? 'critical' : 'warning' });
      const wo = events.workOrderCreated(assetId);
      await h.deliver(
        events.registered(assetId, { name: `Pump ${String(i).padStart(2, '0')}` }),
        events.statusChanged(assetId, 'commissioning', 'active', 2),
        events.telemetry(assetId, 'temperature', 60 + i, '2026-03-02T10:00:02.000Z'),
        events.telemetry(assetId, 'temperature', 10, '2026-03-02T10:00:01.000Z'),
        raised,
        wo,
      );
      if (i % 3 === 0) await h.deliver(events.alertCleared(raised));
      if (i % 4 === 0)
        await h.deliver(events.workOrderStatusChanged(assetId, wo.data.workOrderId, 'open', 'cancelled', 2));
    }
    const live = await snapshot();
    const { rows: before } = await h.db.pool.query(
      `SELECT generation FROM generations WHERE state = 'active'`,
    );

    const started = await h.api<DashboardRebuild>('POST', '/api/v1/dashboard/rebuild');
    expect(started.status).toBe(202);
    expect(started.headers.location).toBe(`/api/v1/dashboard/rebuild/${started.body.id}`);
    expect(started.body).toMatchObject({ state: 'running', total: expect.any(Number) });
    // Reads keep working during the rebuild, and events keep coming.
    expect((await h.api('GET', '/api/v1/dashboard/fleet')).status).toBe(200);
    const lateAsset = randomUUID();
    await h.deliver(events.registered(lateAsset, { name: 'Pump late' }));

    const done = await eventually(async () => {
      const progress = await h.api<DashboardRebuild>('GET', `/api/v1/dashboard/rebuild/${started.body.id}`);
      return progress.body.state === 'running' ? undefined : progress.body;
    });
    expect(done).toMatchObject({ state: 'completed', error: null });
    expect(done.replayed).toBeGreaterThanOrEqual(started.body.total);
    const { rows: after } = await h.db.pool.query(
      `SELECT generation FROM generations WHERE state = 'active'`,
    );
    expect(after[0].generation).toBe(started.body.generation);
    expect(after[0].generation).toBeGreaterThan(before[0].generation);

    const rebuilt = await snapshot();
    expect(rebuilt.assets.filter((a) => a.assetId !== lateAsset)).toEqual(live.assets);
    expect(rebuilt.assets.some((a) => a.assetId === lateAsset)).toBe(true);
    // Live events apply to the new generation.
    const next = randomUUID();
    await h.deliver(events.registered(next, { name: 'Pump after' }));
    expect((await h.asset(next)).name).toBe('Pump after');
  });

  it('answers 404 for an unknown rebuild', async () => {
    const response = await h.api<{ code: string }>('GET', `/api/v1/dashboard/rebuild/${randomUUID()}`);
    expect(response.status).toBe(404);
    expect(response.body.code).toBe('DASHBOARD_REBUILD_NOT_FOUND');
  });

  it('replays telemetry journaled before TelemetryAggregated v2 (one metric per event)', async () => {
    const assetId = randomUUID();
    await h.deliver(
      events.registered(assetId, { name: 'Pump v1' }),
      events.telemetry(assetId, 'rpm', 1480, '2026-03-02T10:00:01.000Z'),
    );
    // A journal written by the previous version: a v1 window, newer than the v2 one.
    const v1 = {
      ...events.registered(assetId),
      id: randomUUID(),
      type: TELEMETRY_AGGREGATED_V1,
      data: {
        assetId,
        metric: 'temperature',
        windowStart: '2026-03-02T10:00:05.000Z',
        windowEnd: '2026-03-02T10:00:06.000Z',
        count: 1,
        sum: 71.5,
        min: 71.5,
        max: 71.5,
        first: 71.5,
        firstTs: '2026-03-02T10:00:05.500Z',
        last: 71.5,
        lastTs: '2026-03-02T10:00:05.500Z',
      },
    };
    await h.db.pool.query(
      `INSERT INTO journal (event_id, type, subject, event_time, compact_key, compact_ts, event)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        v1.id,
        v1.type,
        assetId,
        v1.time,
        `telemetry:${assetId}:temperature`,
        v1.data.lastTs,
        JSON.stringify(v1),
      ],
    );
    const started = await h.api<DashboardRebuild>('POST', '/api/v1/dashboard/rebuild');
    expect(started.status).toBe(202);
    await eventually(async () => {
      const progress = await h.api<DashboardRebuild>('GET', `/api/v1/dashboard/rebuild/${started.body.id}`);
      return progress.body.state === 'completed' ? progress.body : undefined;
    });
    expect((await h.asset(assetId)).latest).toEqual({
      rpm: { value: 1480, ts: '2026-03-02T10:00:01.000Z' },
      temperature: { value: 71.5, ts: '2026-03-02T10:00:05.500Z' },
    });
  });
});
