import { randomUUID } from 'node:crypto';
import type { DashboardAsset, DashboardAssetPage, DashboardFleet } from '@assetops/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DashboardHarness, events, startDashboard } from './support/harness.js';

describe('dashboard projection', () => {
  let h: DashboardHarness;
  beforeAll(async () => {
    h = await startDashboard();
  });
  afterAll(() => h?.close());

  it('builds an asset view from the events of every service', async () => {
    const assetId = randomUUID();
    const raised = events.alertRaised(assetId, { severity: 'major', ruleName: 'bearing hot' });
    const wo = events.workOrderCreated(assetId);
    await h.deliver(
      events.registered(assetId, { name: 'Feed pump 1', location: 'Plant A' }),
      events.statusChanged(assetId, 'commissioning', 'active', 2),
      events.telemetry(assetId, 'temperature', 71.5, '2026-03-02T10:00:01.000Z'),
      events.telemetry(assetId, 'rpm', 1480, '2026-03-02T10:00:02.000Z'),
      raised,
      wo,
    );
    const asset = await h.asset(assetId);
    expect(asset).toMatchObject({
      assetId,
      name: 'Feed pump 1',
      type: 'pump',
      location: 'Plant A',
      status: 'active',
      lastSeenAt: '2026-03-02T10:00:02.000Z',
      latest: {
        temperature: { value: 71.5, ts: '2026-03-02T10:00:01.000Z' },
        rpm: { value: 1480, ts: '2026-03-02T10:00:02.000Z' },
      },
      alerts: {
        active: 1,
        bySeverity: { info: 0, warning: 0, major: 1, critical: 0 },
        items: [
          { alertId: raised.data.alertId, severity: 'major', title: 'bearing hot', acknowledged: false },
        ],
      },
      workOrders: { open: 1 },
    });
    await h.deliver(
      events.alertEscalated(raised, 'major', 'critical'),
      events.alertAcknowledged(raised),
      events.workOrderStatusChanged(assetId, wo.data.workOrderId, 'open', 'assigned', 2),
    );
    const escalated = await h.asset(assetId);
    expect(escalated.alerts.bySeverity).toEqual({ info: 0, warning: 0, major: 0, critical: 1 });
    expect(escalated.alerts.items[0]).toMatchObject({ severity: 'critical', acknowledged: true });
    expect(escalated.workOrders.open).toBe(1);
    await h.deliver(
      events.alertCleared(raised),
      events.workOrderStatusChanged(assetId, wo.data.workOrderId, 'assigned', 'cancelled', 3),
    );
    const calm = await h.asset(assetId);
    expect(calm.alerts).toEqual({
      active: 0,
      bySeverity: { info: 0, warning: 0, major: 0, critical: 0 },
      items: [],
    });
    expect(calm.workOrders.open).toBe(0);
  });

  it('ignores duplicates: an event delivered twice counts once', async () => {
    const assetId = randomUUID();
    const raised = events.alertRaised(assetId);
    const wo = events.workOrderCreated(assetId);
    const registered = events.registered(assetId);
    await h.deliver(registered, registered, raised, raised, wo, wo);
    const asset = await h.asset(assetId);
    expect(asset.alerts.active).toBe(1);
    expect(asset.workOrders.open).toBe(1);
    const { rows } = await h.db.pool.query('SELECT count(*)::int AS n FROM journal WHERE subject = $1', [
      assetId,
    ]);
    expect(rows[0].n).toBe(3);
  });

  it('tolerates events out of order', async () => {
    const assetId = randomUUID();
    const raised = events.alertRaised(assetId, { severity: 'critical' });
    const wo = events.workOrderCreated(assetId);
    // Everything about the asset arrives before its registration, newest first.
    await h.deliver(
      events.telemetry(assetId, 'temperature', 80, '2026-03-02T10:00:05.000Z'),
      events.telemetry(assetId, 'temperature', 60, '2026-03-02T10:00:01.000Z'),
      events.alertCleared(raised),
      raised,
      events.workOrderStatusChanged(assetId, wo.data.workOrderId, 'in_progress', 'completed', 4),
      wo,
      events.statusChanged(assetId, 'active', 'maintenance', 3),
      events.updated(assetId, 4, { name: 'Renamed pump' }),
    );
    expect((await h.api('GET', `/api/v1/dashboard/assets/${assetId}`)).status).toBe(404);
    await h.deliver(
      events.statusChanged(assetId, 'commissioning', 'active', 2),
      events.updated(assetId, 3, { name: 'Older name', location: 'Hall 2' }),
      events.registered(assetId, { name: 'Original', location: 'Plant A' }),
    );
    const asset = await h.asset(assetId);
    expect(asset).toMatchObject({
      name: 'Renamed pump',
      location: 'Hall 2',
      status: 'maintenance',
      lastSeenAt: '2026-03-02T10:00:05.000Z',
      latest: { temperature: { value: 80, ts: '2026-03-02T10:00:05.000Z' } },
      workOrders: { open: 0 },
    });
    // No ghost: the alert was cleared before it was raised.
    expect(asset.alerts.active).toBe(0);
  });

  it('answers 404 problem+json for an unknown asset', async () => {
    const response = await h.api<{ code: string }>('GET', `/api/v1/dashboard/assets/${randomUUID()}`);
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.body.code).toBe('DASHBOARD_ASSET_NOT_FOUND');
  });
});

describe('dashboard queries', () => {
  let h: DashboardHarness;
  const tag = `q${randomUUID().slice(0, 6)}`;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    h = await startDashboard();
    const fleet = [
      {
        key: 'a',
        name: `${tag} Alpha pump`,
        type: 'pump',
        location: 'Plant A',
        seen: '2026-03-02T10:00:03.000Z',
      },
      {
        key: 'b',
        name: `${tag} Bravo compressor`,
        type: 'compressor',
        location: 'Plant B',
        seen: '2026-03-02T10:00:01.000Z',
      },
      { key: 'c', name: `${tag} Charlie pump`, type: 'pump', location: 'Hall 100%', seen: null },
      {
        key: 'd',
        name: `${tag} Delta chiller`,
        type: 'chiller',
        location: 'Roof',
        seen: '2026-03-02T10:00:02.000Z',
      },
    ];
    for (const a of fleet) {
      const assetId = randomUUID();
      ids[a.key] = assetId;
      await h.deliver(events.registered(assetId, { name: a.name, type: a.type, location: a.location }));
      if (a.seen) await h.deliver(events.telemetry(assetId, 'temperature', 50, a.seen));
    }
    await h.deliver(
      events.statusChanged(ids.a!, 'commissioning', 'active', 2),
      events.statusChanged(ids.b!, 'commissioning', 'active', 2),
      events.statusChanged(ids.d!, 'commissioning', 'commissioning_failed', 2, 'alert did not confirm'),
      events.alertRaised(ids.b!, { severity: 'critical' }),
      events.alertRaised(ids.a!, { severity: 'warning' }),
      events.alertRaised(ids.a!, { severity: 'warning' }),
      events.workOrderCreated(ids.b!),
    );
  });
  afterAll(() => h?.close());

  const list = async (query: string) => {
    const response = await h.api<DashboardAssetPage>('GET', `/api/v1/dashboard/assets?q=${tag}&${query}`);
    expect(response.status).toBe(200);
    return response.body;
  };
  const keys = (page: DashboardAssetPage) =>
    page.items.map((item) => Object.entries(ids).find(([, id]) => id === item.assetId)?.[0]);

  it('filters by text, type, status and severity', async () => {
    expect(keys(await list(''))).toEqual(['a', 'b', 'c', 'd']);
    expect(keys(await list('type=pump'))).toEqual(['a', 'c']);
    expect(keys(await list('status=active'))).toEqual(['a', 'b']);
    expect(keys(await list('severity=critical'))).toEqual(['b']);
    const byLocation = await h.api<DashboardAssetPage>(
      'GET',
      `/api/v1/dashboard/assets?q=${encodeURIComponent('100%')}`,
    );
    expect(byLocation.body.items.map((i) => i.assetId)).toEqual([ids.c]);
  });

  it('sorts by name, last seen, alerts and status', async () => {
    expect(keys(await list('sort=-name'))).toEqual(['d', 'c', 'b', 'a']);
    expect(keys(await list('sort=lastSeen'))).toEqual(['c', 'b', 'd', 'a']);
    expect(keys(await list('sort=-lastSeen'))).toEqual(['a', 'd', 'b', 'c']);
    expect(keys(await list('sort=-alerts')).slice(0, 2)).toEqual(['b', 'a']);
    expect(keys(await list('sort=status'))).toEqual(['a', 'b', 'c', 'd']);
  });

  it('pages with a cursor in every sort', async () => {
    for (const sort of ['name', '-name', 'lastSeen', '-lastSeen', 'alerts', '-alerts', 'status']) {
      const all = keys(await list(`sort=${sort}`));
      const seen: (string | undefined)[] = [];
      let cursor: string | null = null;
      do {
        const page: DashboardAssetPage = await list(
          `sort=${sort}&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        );
        seen.push(...keys(page));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen, sort).toEqual(all);
    }
    const bad = await h.api<{ code: string }>('GET', '/api/v1/dashboard/assets?cursor=nonsense');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_CURSOR');
    expect((await h.api('GET', '/api/v1/dashboard/assets?sort=size')).status).toBe(400);
  });

  it('totals the fleet and lists the assets that need attention, worst first', async () => {
    const fleet = (await h.api<DashboardFleet>('GET', '/api/v1/dashboard/fleet')).body;
    expect(fleet.assets).toEqual({
      total: 4,
      byStatus: {
        commissioning: 1,
        commissioning_failed: 1,
        active: 2,
        maintenance: 0,
        decommissioning: 0,
        decommissioned: 0,
      },
    });
    expect(fleet.alerts).toEqual({ active: 3, bySeverity: { info: 0, warning: 2, major: 0, critical: 1 } });
    expect(fleet.workOrders).toEqual({
      open: 1,
      byStatus: { open: 1, assigned: 0, in_progress: 0, on_hold: 0 },
    });
    expect(fleet.needsAttention.map((a: DashboardAsset) => a.assetId)).toEqual([ids.b, ids.d]);
    expect(fleet.needsAttention[1]?.statusReason).toBe('alert did not confirm');
  });
});
