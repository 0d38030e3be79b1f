import { randomUUID } from 'node:crypto';
import type { ReconciliationReport } from '@assetops/contracts';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DashboardHarness, events, startDashboard } from './support/harness.js';

/**
 * Stand-ins for the Asset, Alert and Maintenance APIs (outside the unit under test): their list
 * endpoints with the same filters and cursor paging, over in-memory items.
 */
function fakeSources() {
  const data = {
    assets: [] as { id: string; status: string; name: string }[],
    alerts: [] as { id: string; assetId: string; severity: string; status: string }[],
    workOrders: [] as { id: string; assetId: string; status: string }[],
  };
  /** The query string of every request to the work-order list, in order. */
  const workOrderRequests: Record<string, string | string[]>[] = [];
  const app: FastifyInstance = Fastify();
  const page = <T extends { id: string }>(items: T[], query: Record<string, string>) => {
    const limit = Number(query.limit ?? 50);
    const start = query.cursor ? Number(query.cursor) : 0;
    const slice = items.slice(start, start + limit);
    return { items: slice, nextCursor: start + limit < items.length ? String(start + limit) : null };
  };
  app.get('/api/v1/assets', async (request) => page(data.assets, request.query as Record<string, string>));
  app.get('/api/v1/alerts', async (request) => {
    const query = request.query as Record<string, string>;
    return page(
      data.alerts.filter((a) => a.status === query.status),
      query,
    );
  });
  app.get('/api/v1/work-orders', async (request) => {
    const query = request.query as Record<string, string | string[]>;
    workOrderRequests.push({ ...query });
    // As the Maintenance API: one status or several, repeated or comma-separated.
    const statuses =
      query.status === undefined ? undefined : new Set([query.status].flat().flatMap((s) => s.split(',')));
    return page(
      data.workOrders.filter((w) => !statuses || statuses.has(w.status)),
      query as Record<string, string>,
    );
  });
  return { app, data, workOrderRequests };
}

describe('dashboard reconciliation', () => {
  let h: DashboardHarness;
  const sources = fakeSources();

  beforeAll(async () => {
    const url = await sources.app.listen({ host: '127.0.0.1', port: 0 });
    h = await startDashboard({
      env: { DASHBOARD_ASSET_URL: url, DASHBOARD_ALERT_URL: url, DASHBOARD_MAINTENANCE_URL: url },
    });
    // 600 assets: more than one page of every source.
    for (let i = 0; i < 600; i++) {
      const assetId = randomUUID();
      await h.deliver(events.registered(assetId, { name: `Pump ${i}` }));
      sources.data.assets.push({ id: assetId, status: 'commissioning', name: `Pump ${i}` });
    }
    const [first, second] = sources.data.assets;
    await h.deliver(events.statusChanged(first!.id, 'commissioning', 'active', 2));
    first!.status = 'active';
    const raised = events.alertRaised(first!.id, { severity: 'critical' });
    await h.deliver(raised);
    sources.data.alerts.push({
      id: raised.data.alertId,
      assetId: first!.id,
      severity: 'critical',
      status: 'firing',
    });
    const wo = events.workOrderCreated(second!.id);
    await h.deliver(wo);
    sources.data.workOrders.push({ id: wo.data.workOrderId, assetId: second!.id, status: 'open' });
    // 650 more work orders, 130 in each of four open statuses and completed: the open ones take
    // more than one page of the combined listing; the completed ones are not asked for.
    const moreStatuses = ['open', 'assigned', 'in_progress', 'on_hold', 'completed'] as const;
    for (let i = 0; i < 650; i++) {
      const assetId = sources.data.assets[i % sources.data.assets.length]!.id;
      const status = moreStatuses[i % moreStatuses.length]!;
      const created = events.workOrderCreated(assetId);
      await h.deliver(created);
      if (status !== 'open') {
        await h.deliver(events.workOrderStatusChanged(assetId, created.data.workOrderId, 'open', status, 2));
      }
      sources.data.workOrders.push({ id: created.data.workOrderId, assetId, status });
    }
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    await sources.app.close();
  });

  const check = async () => {
    const response = await h.api<ReconciliationReport>('GET', '/api/v1/dashboard/reconciliation');
    expect(response.status).toBe(200);
    return response.body;
  };

  it('reports no drift when the read model matches the sources', async () => {
    sources.workOrderRequests.length = 0;
    const report = await check();
    expect(report.sources).toEqual({ asset: 'ok', alert: 'ok', maintenance: 'ok' });
    expect(report).toMatchObject({ consistent: true, driftCount: 0, drift: [] });
    expect(report.counts.assetsByStatus).toEqual({
      commissioning: { source: 599, readModel: 599 },
      active: { source: 1, readModel: 1 },
    });
    expect(report.counts.activeAlertsBySeverity).toEqual({ critical: { source: 1, readModel: 1 } });
    expect(report.counts.openWorkOrdersByStatus).toEqual({
      open: { source: 131, readModel: 131 },
      assigned: { source: 130, readModel: 130 },
      in_progress: { source: 130, readModel: 130 },
      on_hold: { source: 130, readModel: 130 },
    });
    // One combined listing of the open statuses, paged (521 open work orders: two pages of 500),
    // not a listing per status.
    expect(sources.workOrderRequests).toEqual([
      { status: 'open,assigned,in_progress,on_hold', limit: '500' },
      { status: 'open,assigned,in_progress,on_hold', limit: '500', cursor: '500' },
    ]);
  });

  it('detects injected drift item by item', async () => {
    const [first, second, third] = sources.data.assets;
    // Drift injected into the read model (as a lost event would leave it) and into the sources.
    await h.db.pool.query(
      `UPDATE assets SET status = 'maintenance' WHERE asset_id = $1 AND generation = (SELECT generation FROM generations WHERE state = 'active')`,
      [third!.id],
    );
    const ghostAlert = randomUUID();
    sources.data.alerts.push({ id: ghostAlert, assetId: second!.id, severity: 'major', status: 'firing' });
    sources.data.workOrders[0]!.status = 'in_progress';
    const report = await check();
    expect(report.consistent).toBe(false);
    expect(report.drift).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'asset',
          id: third!.id,
          issue: 'mismatch',
          field: 'status',
          source: 'commissioning',
          readModel: 'maintenance',
        }),
        expect.objectContaining({ kind: 'alert', id: ghostAlert, assetId: second!.id, issue: 'missing' }),
        expect.objectContaining({
          kind: 'work-order',
          issue: 'mismatch',
          field: 'status',
          source: 'in_progress',
          readModel: 'open',
        }),
      ]),
    );
    expect(report.driftCount).toBe(3);
    expect(report.counts.activeAlertsBySeverity.major).toEqual({ source: 1, readModel: 0 });
    expect(first).toBeDefined();
  });

  it('says which source could not be read', async () => {
    const lonely = await startDashboard({ env: { DASHBOARD_ASSET_URL: 'http://127.0.0.1:1' } });
    try {
      const response = await lonely.api<ReconciliationReport>('GET', '/api/v1/dashboard/reconciliation');
      expect(response.status).toBe(200);
      expect(response.body.sources.asset).toMatch(/^unavailable/);
      expect(response.body.sources.alert).toBe('not configured');
    } finally {
      await lonely.close();
    }
  });
});
