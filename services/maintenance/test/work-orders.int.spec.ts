import type {
  WorkOrder,
  WorkOrderAssignedData,
  WorkOrderCreatedData,
  WorkOrderPage,
  WorkOrderStatusChangedData,
} from '@assetops/contracts';
import type { Queryable } from '@assetops/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listWorkOrders, type WorkOrderFilter } from '../src/work-orders/work-order.store.js';
import { type MaintenanceHarness, startMaintenance } from './support/harness.js';

type Problem = { code: string; detail: string; errors?: { path: string }[]; [key: string]: unknown };
const CREATED = 'assetops.maintenance.work-order-created.v1';
const STATUS_CHANGED = 'assetops.maintenance.work-order-status-changed.v1';
const ASSIGNED = 'assetops.maintenance.work-order-assigned.v1';

describe('work orders API', () => {
  let h: MaintenanceHarness;
  let asset: string;
  beforeAll(async () => {
    h = await startMaintenance();
    asset = await h.registerAsset();
  });
  afterAll(() => h?.close());

  it('opens a manual work order (201) with its history, and announces WorkOrderCreated', async () => {
    const response = await h.api<WorkOrder>('POST', '/api/v1/work-orders', {
      assetId: asset,
      title: 'Replace seal',
      description: 'leaking at the shaft',
      priority: 'high',
      requiredSkill: 'mechanical',
    });
    expect(response.status).toBe(201);
    expect(response.headers.location).toBe(`/api/v1/work-orders/${response.body.id}`);
    expect(response.headers.etag).toBe('"1"');
    const now = h.clock.now().toISOString();
    expect(response.body).toMatchObject({
      assetId: asset,
      title: 'Replace seal',
      description: 'leaking at the shaft',
      priority: 'high',
      source: 'manual',
      sourceRef: null,
      status: 'open',
      assigneeId: null,
      requiredSkill: 'mechanical',
      dueAt: '2026-03-03T10:00:00.000Z',
      version: 1,
      createdAt: now,
      notes: [],
      history: [{ from: null, to: 'open', at: now, reason: null, assigneeId: null }],
    });
    const event = (await h.outbox(CREATED)).find(
      (e) => (e.data as WorkOrderCreatedData).workOrderId === response.body.id,
    );
    expect(event).toMatchObject({ source: '/assetops/maintenance', subject: asset });
    expect(event!.data).toMatchObject({
      priority: 'high',
      source: 'manual',
      status: 'open',
      dueAt: '2026-03-03T10:00:00.000Z',
    });
    expect((await h.api('GET', `/api/v1/work-orders/${response.body.id}`)).body).toEqual(response.body);
  });

  it('sets the due time from the SLA of each priority (urgent 4 h, high 24 h, medium 3 d, low 7 d)', async () => {
    h.clock.set('2026-03-02T10:00:00.000Z');
    const due: Record<string, string> = {};
    for (const priority of ['urgent', 'high', 'medium', 'low']) {
      due[priority] = (await h.openWorkOrder({ assetId: asset, priority })).dueAt;
      h.clock.advance(60_000); // each counts from its own creation
    }
    expect(due).toEqual({
      urgent: '2026-03-02T14:00:00.000Z',
      high: '2026-03-03T10:01:00.000Z',
      medium: '2026-03-05T10:02:00.000Z',
      low: '2026-03-09T10:03:00.000Z',
    });
  });

  it('refuses work orders for assets it does not know (404) or that are decommissioned (409)', async () => {
    const unknown = await h.api<Problem>('POST', '/api/v1/work-orders', {
      assetId: '01900000-0000-7000-8000-00000000dead',
      title: 'x',
      priority: 'low',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('UNKNOWN_ASSET');
    const retired = await h.registerAsset();
    await h.changeStatus(retired, 'commissioning', 'decommissioning');
    await h.changeStatus(retired, 'decommissioning', 'decommissioned');
    const refused = await h.api<Problem>('POST', '/api/v1/work-orders', {
      assetId: retired,
      title: 'x',
      priority: 'low',
    });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      code: 'ASSET_DECOMMISSIONED',
      status: 409,
      assetStatus: 'decommissioned',
    });
    // An asset in maintenance, or on its way out, still takes work orders.
    const leaving = await h.registerAsset();
    await h.changeStatus(leaving, 'commissioning', 'decommissioning');
    expect(
      (await h.api('POST', '/api/v1/work-orders', { assetId: leaving, title: 'x', priority: 'low' })).status,
    ).toBe(201);
  });

  it.each([
    [{ assetId: undefined, title: 'x', priority: 'low' }, '/body/assetId'],
    [{ assetId: 'not-a-uuid', title: 'x', priority: 'low' }, '/body/assetId'],
    [{ title: 'x', priority: 'whenever' }, '/body/priority'],
    [{ title: '', priority: 'low' }, '/body/title'],
    [{ title: 'x', priority: 'low', source: 'alert' }, '/body/source'],
    [{ title: 'x', priority: 'low', requiredSkill: 'Welding!' }, '/body/requiredSkill'],
  ])('refuses %j with a 400', async (body, path) => {
    // JSON drops an undefined assetId: that case sends none.
    const payload = 'assetId' in body ? body : { assetId: asset, ...body };
    const response = await h.api<Problem>('POST', '/api/v1/work-orders', payload);
    expect(response.status).toBe(400);
    expect(response.body.errors!.map((e) => e.path)).toContain(path);
  });

  it('refuses assigneeId together with autoAssign (400)', async () => {
    const response = await h.api<Problem>('POST', '/api/v1/work-orders', {
      assetId: asset,
      title: 'x',
      priority: 'low',
      assigneeId: '01900000-0000-7000-8000-000000000001',
      autoAssign: true,
    });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('ASSIGNMENT_AMBIGUOUS');
  });

  it('answers 404 for an unknown work order (read and change) and 400 for a malformed id', async () => {
    const id = '01900000-0000-7000-8000-000000000000';
    for (const [method, url] of [
      ['GET', `/api/v1/work-orders/${id}`],
      ['POST', `/api/v1/work-orders/${id}/start`],
      ['POST', `/api/v1/work-orders/${id}/assign`],
    ] as const) {
      const response = await h.api<Problem>(method, url);
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('WORK_ORDER_NOT_FOUND');
    }
    expect((await h.api('GET', '/api/v1/work-orders/42')).status).toBe(400);
  });

  it('moves a work order through assigned → in_progress ⇄ on_hold → completed, with history, notes and events', async () => {
    const ann = await h.addTechnician({ name: 'Ann' });
    const wo = await h.openWorkOrder({ assetId: asset, priority: 'medium' });
    const step = async (action: string, body?: unknown) => {
      h.clock.advance(60_000);
      const response = await h.api<WorkOrder>('POST', `/api/v1/work-orders/${wo.id}/${action}`, body);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return response.body;
    };
    expect(await step('assign', { technicianId: ann.id })).toMatchObject({
      status: 'assigned',
      assigneeId: ann.id,
    });
    const started = await step('start');
    expect(started).toMatchObject({ status: 'in_progress', startedAt: h.clock.now().toISOString() });
    expect(await step('hold', { reason: 'waiting for parts' })).toMatchObject({ status: 'on_hold' });
    expect(await step('resume')).toMatchObject({ status: 'in_progress', startedAt: started.startedAt });
    const done = await step('complete', { note: 'seal replaced, test run ok', author: 'Ann' });
    expect(done).toMatchObject({ status: 'completed', completedAt: h.clock.now().toISOString(), version: 6 });
    expect(done.history!.map((e) => [e.from, e.to, e.reason])).toEqual([
      [null, 'open', null],
      ['open', 'assigned', 'manually assigned to Ann'],
      ['assigned', 'in_progress', null],
      ['in_progress', 'on_hold', 'waiting for parts'],
      ['on_hold', 'in_progress', null],
      ['in_progress', 'completed', null],
    ]);
    expect(done.notes!.map((n) => [n.author, n.text])).toEqual([
      [null, 'manually assigned to Ann'],
      ['Ann', 'seal replaced, test run ok'],
    ]);
    const mine = (e: { data: unknown }) => (e.data as { workOrderId: string }).workOrderId === wo.id;
    const changes = (await h.outbox(STATUS_CHANGED))
      .filter(mine)
      .map((e) => e.data as WorkOrderStatusChangedData);
    expect(changes.map((c) => `${c.from}→${c.to}@${c.version}`)).toEqual([
      'open→assigned@2',
      'assigned→in_progress@3',
      'in_progress→on_hold@4',
      'on_hold→in_progress@5',
      'in_progress→completed@6',
    ]);
    expect(changes.every((c) => c.assigneeId === ann.id)).toBe(true);
    const assigned = (await h.outbox(ASSIGNED)).filter(mine).map((e) => e.data as WorkOrderAssignedData);
    expect(assigned).toEqual([
      expect.objectContaining({
        technicianId: ann.id,
        previousTechnicianId: null,
        mode: 'manual',
        version: 2,
      }),
    ]);
  });

  it('refuses illegal transitions with 409 WORK_ORDER_ILLEGAL_TRANSITION and changes nothing', async () => {
    const wo = await h.openWorkOrder({ assetId: asset });
    const before = await h.outbox();
    for (const action of ['start', 'hold', 'resume', 'complete']) {
      const response = await h.api<Problem>('POST', `/api/v1/work-orders/${wo.id}/${action}`);
      expect(response.status).toBe(409);
      expect(response.body).toMatchObject({
        code: 'WORK_ORDER_ILLEGAL_TRANSITION',
        from: 'open',
        allowed: ['assigned', 'cancelled'],
      });
    }
    const cancelled = await h.api<WorkOrder>('POST', `/api/v1/work-orders/${wo.id}/cancel`, {
      reason: 'duplicate',
    });
    expect(cancelled.body).toMatchObject({ status: 'cancelled', version: 2 });
    expect(cancelled.body.history!.at(-1)).toMatchObject({
      from: 'open',
      to: 'cancelled',
      reason: 'duplicate',
    });
    // Cancelling again is a harmless retry; anything else on a cancelled work order is a 409.
    expect(
      (await h.api<WorkOrder>('POST', `/api/v1/work-orders/${wo.id}/cancel`, { reason: 'again' })).body
        .version,
    ).toBe(2);
    const reassign = await h.api<Problem>('POST', `/api/v1/work-orders/${wo.id}/assign`);
    expect(reassign.status).toBe(409);
    expect(reassign.body).toMatchObject({
      code: 'WORK_ORDER_ILLEGAL_TRANSITION',
      from: 'cancelled',
      to: 'assigned',
    });
    expect(await h.outbox()).toHaveLength(before.length + 1);
  });

  it('requires a reason to cancel, and refuses unknown body fields (400)', async () => {
    const wo = await h.openWorkOrder({ assetId: asset });
    const noReason = await h.api<Problem>('POST', `/api/v1/work-orders/${wo.id}/cancel`);
    expect(noReason.status).toBe(400);
    const empty = await h.api<Problem>('POST', `/api/v1/work-orders/${wo.id}/cancel`, { reason: '' });
    expect(empty.status).toBe(400);
    const extra = await h.api<Problem>('POST', `/api/v1/work-orders/${wo.id}/hold`, { why: 'x' });
    expect(extra.status).toBe(400);
    expect(extra.body.errors!.map((e) => e.path)).toContain('/body/why');
  });

  it('honours If-Match on transitions (412 on a stale version)', async () => {
    const wo = await h.openWorkOrder({ assetId: asset });
    const stale = await h.api<Problem>(
      'POST',
      `/api/v1/work-orders/${wo.id}/cancel`,
      { reason: 'x' },
      { 'if-match': '"2"' },
    );
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ code: 'WORK_ORDER_VERSION_MISMATCH', currentVersion: 1 });
    const fresh = await h.api<WorkOrder>(
      'POST',
      `/api/v1/work-orders/${wo.id}/cancel`,
      { reason: 'x' },
      { 'if-match': '"1"' },
    );
    expect(fresh.status).toBe(200);
    expect(fresh.headers.etag).toBe('"2"');
  });

  it('adds notes (201) in any status', async () => {
    const wo = await h.openWorkOrder({ assetId: asset });
    await h.api('POST', `/api/v1/work-orders/${wo.id}/cancel`, { reason: 'not needed' });
    const noted = await h.api<WorkOrder>('POST', `/api/v1/work-orders/${wo.id}/notes`, {
      text: 'checked anyway',
      author: 'Bob',
    });
    expect(noted.status).toBe(201);
    expect(noted.body.notes).toEqual([
      { id: expect.any(String), at: h.clock.now().toISOString(), author: 'Bob', text: 'checked anyway' },
    ]);
    expect((await h.api('POST', `/api/v1/work-orders/${wo.id}/notes`, { text: '' })).status).toBe(400);
  });

  it('lists work orders newest first, filtered by status, asset, priority, assignee and source, page by page', async () => {
    const other = await h.registerAsset();
    const bob = await h.addTechnician({ name: 'Bob' });
    const opened: WorkOrder[] = [];
    for (const priority of ['low', 'high', 'low', 'urgent', 'low']) {
      opened.push(await h.openWorkOrder({ assetId: other, priority }));
    }
    await h.api('POST', `/api/v1/work-orders/${opened[2]!.id}/assign`, { technicianId: bob.id });
    const list = async (query: string) => {
      const response = await h.api<WorkOrderPage>('GET', `/api/v1/work-orders?${query}`);
      expect(response.status).toBe(200);
      return response.body;
    };
    const ids = (page: WorkOrderPage) => page.items.map((w) => w.id);
    expect(ids(await list(`assetId=${other}`))).toEqual(opened.map((w) => w.id).reverse());
    expect(ids(await list(`assetId=${other}&priority=low`))).toEqual([
      opened[4]!.id,
      opened[2]!.id,
      opened[0]!.id,
    ]);
    expect(ids(await list(`assigneeId=${bob.id}`))).toEqual([opened[2]!.id]);
    expect(ids(await list(`assetId=${other}&status=open&priority=low`))).toEqual([
      opened[4]!.id,
      opened[0]!.id,
    ]);
    expect(ids(await list(`assetId=${other}&source=alert`))).toEqual([]);
    expect((await list(`assetId=${other}&source=manual`)).items).toHaveLength(5);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: WorkOrderPage = await list(`assetId=${other}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(2);
      expect(page.items[0]!.notes).toBeUndefined();
      seen.push(...ids(page));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(opened.map((w) => w.id).reverse());
    expect((await h.api('GET', '/api/v1/work-orders?status=done')).status).toBe(400);
    expect((await h.api('GET', '/api/v1/work-orders?limit=0')).status).toBe(400);
    expect((await h.api<Problem>('GET', '/api/v1/work-orders?cursor=abc')).body.code).toBe('INVALID_CURSOR');
  });

  it('filters by several statuses at once: comma-separated, repeated, or both', async () => {
    const asset = await h.registerAsset();
    const bob = await h.addTechnician({ name: 'Bob' });
    // Newest last: open, assigned, in_progress, on_hold, completed, cancelled.
    const [open, assigned, started, held, completed, cancelled] = await Promise.all(
      Array.from({ length: 6 }, () => h.openWorkOrder({ assetId: asset })),
    ).then((orders) => orders.sort((a, b) => a.id.localeCompare(b.id)));
    const post = async (path: string, body?: unknown) => {
      const response = await h.api('POST', path, body);
      expect(response.status).toBe(200);
    };
    for (const wo of [assigned!, started!, held!, completed!]) {
      await post(`/api/v1/work-orders/${wo.id}/assign`, { technicianId: bob.id });
    }
    for (const wo of [started!, held!, completed!]) await post(`/api/v1/work-orders/${wo.id}/start`);
    await post(`/api/v1/work-orders/${held!.id}/hold`);
    await post(`/api/v1/work-orders/${completed!.id}/complete`);
    await post(`/api/v1/work-orders/${cancelled!.id}/cancel`, { reason: 'not needed' });

    const list = async (query: string) => {
      const response = await h.api<WorkOrderPage>('GET', `/api/v1/work-orders?assetId=${asset}&${query}`);
      expect(response.status).toBe(200);
      return response.body.items.map((w) => [w.id, w.status]);
    };
    const openOnes = [
      [held!.id, 'on_hold'],
      [started!.id, 'in_progress'],
      [assigned!.id, 'assigned'],
      [open!.id, 'open'],
    ];
    expect(await list('status=open,assigned,in_progress,on_hold')).toEqual(openOnes);
    expect(await list('status=open&status=assigned&status=in_progress&status=on_hold')).toEqual(openOnes);
    expect(await list('status=open,assigned&status=in_progress,on_hold&status=open')).toEqual(openOnes);
    expect(await list('status=completed,cancelled')).toEqual([
      [cancelled!.id, 'cancelled'],
      [completed!.id, 'completed'],
    ]);
    // A single status works as it always did, and pages still page.
    expect(await list('status=on_hold')).toEqual([[held!.id, 'on_hold']]);
    const firstPage = await h.api<WorkOrderPage>(
      'GET',
      `/api/v1/work-orders?assetId=${asset}&status=open,assigned,in_progress,on_hold&limit=3`,
    );
    expect(firstPage.body.items.map((w) => w.id)).toEqual(openOnes.slice(0, 3).map(([id]) => id));
    expect(
      await list(`status=open,assigned,in_progress,on_hold&cursor=${firstPage.body.nextCursor}`),
    ).toEqual(openOnes.slice(3));
  });

  it('refuses an unknown or empty status among several with 400 INVALID_STATUS, never a 500', async () => {
    for (const query of [
      'status=open,done',
      'status=open&status=done',
      'status=open,,assigned',
      'status=',
      'status=OPEN',
    ]) {
      const response = await h.api<Problem>('GET', `/api/v1/work-orders?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body.code, query).toBe('INVALID_STATUS');
      expect(response.body.errors).toEqual([{ path: '/querystring/status', message: expect.any(String) }]);
    }
    expect((await h.api<Problem>('GET', '/api/v1/work-orders?status=done')).body.detail).toContain('"done"');
    const tooMany = await h.api<Problem>('GET', `/api/v1/work-orders?${'status=open&'.repeat(21)}`);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.code).toBe('VALIDATION_FAILED');
  });

  it("reads an asset's open work orders from the partial index of open work orders, not its history", async () => {
    // The statement as the list runs it (captured, not run), then planned by PostgreSQL with the
    // same parameters. Sequential and bitmap scans are off because a test table is tiny: the
    // question is whether the planner can prove the partial index applies to the statement.
    let statement: { text: string; values: unknown[] } | undefined;
    const capture = {
      query: async (text: string, values: unknown[]) => {
        statement = { text, values };
        return { rows: [], rowCount: 0 };
      },
    } as unknown as Queryable;
    const planOf = async (filter: WorkOrderFilter) => {
      await listWorkOrders(capture, filter);
      const client = await h.db.pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SET LOCAL enable_seqscan = off');
        await client.query('SET LOCAL enable_bitmapscan = off');
        const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(
          `EXPLAIN (FORMAT JSON) ${statement!.text}`,
          statement!.values,
        );
        return JSON.stringify(rows[0]!['QUERY PLAN']);
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    };
    const assetId = await h.registerAsset();
    const open = await planOf({
      assetId,
      statuses: ['open', 'assigned', 'in_progress', 'on_hold'],
      limit: 100,
    });
    expect(open).toContain('"Index Name":"work_orders_open_by_asset_idx"');
    expect(open).not.toContain('"Sort Key"');
    expect(await planOf({ assetId, statuses: ['assigned'], limit: 100 })).toContain(
      '"Index Name":"work_orders_open_by_asset_idx"',
    );
    // Closed statuses are not in it: those lists read the asset's index.
    expect(await planOf({ assetId, statuses: ['open', 'completed'], limit: 100 })).not.toContain(
      'work_orders_open_by_asset_idx',
    );
  });
});
