import type { Technician, WorkOrder } from '@assetops/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MaintenanceHarness, startMaintenance } from './support/harness.js';

type Problem = { code: string; detail: string; [key: string]: unknown };

describe('assignment of work orders', () => {
  let h: MaintenanceHarness;
  let asset: string;
  beforeAll(async () => {
    h = await startMaintenance();
    asset = await h.registerAsset();
  });
  afterAll(() => h?.close());
  beforeEach(async () => {
    // Each test starts with its own staff: earlier technicians leave, the clock is Monday 10:00 UTC.
    await h.db.pool.query('UPDATE technicians SET active = false');
    h.clock.set('2026-03-02T10:00:00.000Z');
  });

  const autoAssign = async (wo: WorkOrder) =>
    h.api<WorkOrder & Problem>('POST', `/api/v1/work-orders/${wo.id}/assign`);
  const assigneeOf = async (body: Record<string, unknown>) =>
    (await h.openWorkOrder({ assetId: asset, autoAssign: true, ...body })).assigneeId;

  it('assigns to a technician with the required skill', async () => {
    await h.addTechnician({ name: 'Ann', skills: ['electrical'] });
    const bob = await h.addTechnician({ name: 'Bob', skills: ['mechanical', 'hvac'] });
    const wo = await h.openWorkOrder({ assetId: asset, requiredSkill: 'mechanical' });
    const assigned = await autoAssign(wo);
    expect(assigned.status).toBe(200);
    expect(assigned.body).toMatchObject({ status: 'assigned', assigneeId: bob.id });
    expect(assigned.body.notes!.map((n) => n.text)).toEqual([
      "automatically assigned to Bob with skill 'mechanical', on shift, holding 0 open work orders",
    ]);
  });

  it('lets anyone take work that needs no skill', async () => {
    const ann = await h.addTechnician({ name: 'Ann', skills: ['electrical'] });
    expect(await assigneeOf({})).toBe(ann.id);
  });

  it('assigns only technicians on shift at the time (UTC windows, overnight included)', async () => {
    const day = await h.addTechnician({
      name: 'Day',
      shifts: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '06:00', end: '14:00' }],
    });
    const night = await h.addTechnician({
      name: 'Night',
      shifts: [{ days: ['mon'], start: '22:00', end: '06:00' }],
    });
    expect(await assigneeOf({})).toBe(day.id);
    h.clock.set('2026-03-02T23:00:00.000Z'); // Monday night
    expect(await assigneeOf({})).toBe(night.id);
    h.clock.set('2026-03-03T05:30:00.000Z'); // still Monday's night shift, on Tuesday morning
    expect(await assigneeOf({})).toBe(night.id);
    h.clock.set('2026-03-07T10:00:00.000Z'); // Saturday: nobody
    expect(await assigneeOf({})).toBeNull();
  });

  it('never assigns unavailable or deactivated technicians', async () => {
    const ann = await h.addTechnician({ name: 'Ann', available: false });
    const bob = await h.addTechnician({ name: 'Bob' });
    await h.api('POST', `/api/v1/technicians/${bob.id}/deactivate`);
    expect(await assigneeOf({})).toBeNull();
    await h.api('PATCH', `/api/v1/technicians/${ann.id}`, { available: true });
    expect(await assigneeOf({})).toBe(ann.id);
  });

  it('balances the load: the fewest assigned or in-progress work orders wins, ties by name', async () => {
    const ann = await h.addTechnician({ name: 'Ann' });
    const bob = await h.addTechnician({ name: 'Bob' });
    // Equal loads: Ann before Bob by name; then they alternate.
    expect(await assigneeOf({})).toBe(ann.id);
    expect(await assigneeOf({})).toBe(bob.id);
    expect(await assigneeOf({})).toBe(ann.id);
    // Ann holds 2, Bob 1. Work on hold is parked and does not count, completed work neither.
    const { items } = (await h.api<{ items: WorkOrder[] }>('GET', `/api/v1/work-orders?assigneeId=${ann.id}`))
      .body;
    for (const wo of items) {
      await h.api('POST', `/api/v1/work-orders/${wo.id}/start`);
    }
    await h.api('POST', `/api/v1/work-orders/${items[0]!.id}/hold`);
    await h.api('POST', `/api/v1/work-orders/${items[1]!.id}/complete`);
    const ann0 = await h.api<Technician>('GET', `/api/v1/technicians/${ann.id}`);
    expect(ann0.body.openWorkOrders).toBe(0);
    expect(await assigneeOf({})).toBe(ann.id); // 0 against 1
    expect(await assigneeOf({})).toBe(ann.id); // 1 against 1: the name decides
    expect(await assigneeOf({})).toBe(bob.id); // 2 against 1
  });

  it('spreads work orders assigned at the same moment evenly', async () => {
    const staff = [
      await h.addTechnician({ name: 'C1', skills: ['rush'] }),
      await h.addTechnician({ name: 'C2', skills: ['rush'] }),
      await h.addTechnician({ name: 'C3', skills: ['rush'] }),
    ];
    const orders: WorkOrder[] = [];
    for (let i = 0; i < 9; i++) orders.push(await h.openWorkOrder({ assetId: asset, requiredSkill: 'rush' }));
    const results = await Promise.all(orders.map((wo) => autoAssign(wo)));
    expect(results.map((r) => r.status)).toEqual(orders.map(() => 200));
    for (const t of staff) {
      expect((await h.api<Technician>('GET', `/api/v1/technicians/${t.id}`)).body.openWorkOrders).toBe(3);
    }
  });

  it('lets a person override the rules, and notes what was overridden', async () => {
    await h.addTechnician({ name: 'Ann', skills: ['hvac'] });
    const bob = await h.addTechnician({ name: 'Bob', skills: ['mechanical'], available: false });
    const wo = await h.openWorkOrder({ assetId: asset, requiredSkill: 'hvac', assigneeId: bob.id });
    expect(wo).toMatchObject({ status: 'assigned', assigneeId: bob.id });
    expect(wo.notes!.map((n) => n.text)).toEqual([
      "manually assigned to Bob (override: lacks the required skill 'hvac', is marked unavailable)",
    ]);
  });

  it('reassigns manually or automatically without changing the status', async () => {
    const ann = await h.addTechnician({ name: 'Ann' });
    const wo = await h.openWorkOrder({ assetId: asset, autoAssign: true });
    await h.api('POST', `/api/v1/work-orders/${wo.id}/start`);
    const bob = await h.addTechnician({ name: 'Bob' });
    // The work order's own load is not counted: Ann holds nothing else, and keeps it.
    const kept = await autoAssign(wo);
    expect(kept.body).toMatchObject({ assigneeId: ann.id, version: 3 });
    const moved = await h.api<WorkOrder>('POST', `/api/v1/work-orders/${wo.id}/assign`, {
      technicianId: bob.id,
    });
    expect(moved.body).toMatchObject({ status: 'in_progress', assigneeId: bob.id, version: 4 });
    expect(moved.body.history!.map((e) => e.to)).toEqual(['open', 'assigned', 'in_progress']);
  });

  it('refuses an unknown (404) or deactivated (409) technician', async () => {
    const wo = await h.openWorkOrder({ assetId: asset });
    const unknown = await h.api<Problem>('POST', `/api/v1/work-orders/${wo.id}/assign`, {
      technicianId: '01900000-0000-7000-8000-000000000bad',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('TECHNICIAN_NOT_FOUND');
    const gone = await h.addTechnician({ name: 'Gone' });
    await h.api('POST', `/api/v1/technicians/${gone.id}/deactivate`);
    const inactive = await h.api<Problem>('POST', `/api/v1/work-orders/${wo.id}/assign`, {
      technicianId: gone.id,
    });
    expect(inactive.status).toBe(409);
    expect(inactive.body.code).toBe('TECHNICIAN_INACTIVE');
    // Creating with an unknown assignee creates nothing.
    const before = (await h.db.pool.query('SELECT count(*)::int AS n FROM work_orders')).rows[0].n;
    const refused = await h.api<Problem>('POST', '/api/v1/work-orders', {
      assetId: asset,
      title: 'x',
      priority: 'low',
      assigneeId: '01900000-0000-7000-8000-000000000bad',
    });
    expect(refused.status).toBe(404);
    expect((await h.db.pool.query('SELECT count(*)::int AS n FROM work_orders')).rows[0].n).toBe(before);
  });

  it('with nobody fitting: an explicit assignment is a 409, a new work order stays open with a note', async () => {
    await h.addTechnician({ name: 'Ann', skills: ['electrical'] });
    const wo = await h.openWorkOrder({ assetId: asset, requiredSkill: 'welding', autoAssign: true });
    expect(wo).toMatchObject({ status: 'open', assigneeId: null, version: 2 });
    expect(wo.notes!.map((n) => [n.author, n.text])).toEqual([
      [
        null,
        "not assigned: no active, available technician with skill 'welding' is on shift at 2026-03-02T10:00:00.000Z",
      ],
    ]);
    const refused = await autoAssign(wo);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'NO_TECHNICIAN_AVAILABLE', requiredSkill: 'welding' });
    expect((await h.api<WorkOrder>('GET', `/api/v1/work-orders/${wo.id}`)).body.version).toBe(2);
  });
});
