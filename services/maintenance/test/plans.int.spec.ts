import type { MaintenancePlan, MaintenancePlanPage } from '@assetops/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MaintenanceHarness, startMaintenance } from './support/harness.js';
import { planKit } from './support/plans.js';

type Problem = { code: string; detail: string; errors?: { path: string; message: string }[] };

const CREATED = 'assetops.maintenance.work-order-created.v1';
const DAY = 86_400_000;

describe('preventive plans: API and time-based occurrences', () => {
  let h: MaintenanceHarness;
  let kit: ReturnType<typeof planKit>;
  let pump: string;
  let t0: number;
  beforeAll(async () => {
    h = await startMaintenance();
    kit = planKit(h);
    pump = await h.registerAsset('pump');
    await h.addTechnician({ name: 'Ann' });
    t0 = h.clock.now().getTime();
  });
  afterAll(() => h?.close());

  const at = (ms: number) => new Date(t0 + ms).toISOString();

  it('refuses a plan without a trigger, with bad units, or a lead time not shorter than the interval', async () => {
    const post = (body: Record<string, unknown>) =>
      h.api<Problem>('POST', '/api/v1/maintenance-plans', {
        assetId: pump,
        title: 'x',
        priority: 'low',
        ...body,
      });
    const none = await post({});
    expect(none.status).toBe(400);
    expect(none.body).toMatchObject({
      code: 'PLAN_TRIGGER_REQUIRED',
      errors: [{ path: '/body/interval', message: expect.stringContaining('interval') }],
    });
    const year = await post({ interval: { every: 1, unit: 'year' } });
    expect(year.status).toBe(400);
    expect(year.body.code).toBe('VALIDATION_FAILED');
    expect(year.body.errors!.map((e) => e.path)).toContain('/body/interval/unit');
    const zero = await post({ usage: { metric: 'run_hours', every: 0 } });
    expect(zero.status).toBe(400);
    expect(zero.body.errors!.map((e) => e.path)).toContain('/body/usage/every');
    const kind = await post({ usage: { metric: 'run_hours', every: 10, kind: 'gauge' } });
    expect(kind.body.errors!.map((e) => e.path)).toContain('/body/usage/kind');
    const lead = await post({ interval: { every: 1, unit: 'week' }, leadTime: { amount: 7, unit: 'day' } });
    expect(lead.status).toBe(400);
    expect(lead.body).toMatchObject({ code: 'LEAD_TIME_TOO_LONG', errors: [{ path: '/body/leadTime' }] });
  });

  it('refuses plans for unknown (404) and decommissioned (409) assets', async () => {
    const body = { title: 'x', priority: 'low', interval: { every: 1, unit: 'day' } };
    const unknown = await h.api<Problem>('POST', '/api/v1/maintenance-plans', {
      ...body,
      assetId: '01900000-0000-7000-8000-0000000000ff',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('UNKNOWN_ASSET');
    const retired = await h.registerAsset();
    await h.changeStatus(retired, 'commissioning', 'decommissioning');
    await h.changeStatus(retired, 'decommissioning', 'decommissioned');
    const refused = await h.api<Problem>('POST', '/api/v1/maintenance-plans', { ...body, assetId: retired });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('ASSET_DECOMMISSIONED');
    const missing = await h.api<Problem>(
      'GET',
      '/api/v1/maintenance-plans/01900000-0000-7000-8000-0000000000ff',
    );
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('PLAN_NOT_FOUND');
  });

  it('opens one work order per occurrence, the lead time before it is due; a second run opens nothing', async () => {
    const plan = await kit.createPlan({
      assetId: pump,
      title: 'Weekly pump check',
      interval: { every: 1, unit: 'week' },
      leadTime: { amount: 1, unit: 'day' },
    });
    expect(plan).toMatchObject({
      active: true,
      nextDueAt: at(7 * DAY),
      opensAt: at(6 * DAY),
      usage: null,
      usageSinceLast: null,
      occurrences: 0,
      version: 1,
    });

    h.clock.set(at(6 * DAY - 1));
    expect((await kit.runDuePlans()).opened).toBe(0);
    h.clock.set(at(6 * DAY));
    expect((await kit.runDuePlans()).opened).toBe(1);
    expect((await kit.runDuePlans()).opened).toBe(0);

    const [wo, ...more] = await kit.workOrdersOf(plan.id);
    expect(more).toEqual([]);
    expect(wo).toMatchObject({
      assetId: pump,
      title: 'Weekly pump check',
      source: 'plan',
      sourceRef: `${plan.id}:1`,
      status: 'assigned',
      createdAt: at(6 * DAY),
      // Opened a day ahead (lead time), due on the plan's date rather than the priority's SLA.
      dueAt: at(7 * DAY),
    });
    expect(wo!.description).toContain(`due ${at(7 * DAY)}`);
    const created = (await h.outbox(CREATED)).filter(
      (e) => (e.data as { workOrderId: string }).workOrderId === wo!.id,
    );
    expect(created).toHaveLength(1);
    expect(await kit.plan(plan.id)).toMatchObject({
      occurrences: 1,
      nextDueAt: at(14 * DAY),
      opensAt: at(13 * DAY),
      recentOccurrences: [{ occurrence: 1, reason: 'time', dueAt: at(7 * DAY), workOrderId: wo!.id }],
    });

    // Two timers at once (a takeover while the old leader finishes its run): still one work order.
    h.clock.set(at(13 * DAY));
    const racing = await Promise.all([kit.runDuePlans(), kit.runDuePlans(), kit.runDuePlans()]);
    expect(racing.reduce((sum, run) => sum + run.opened, 0)).toBe(1);
    // Four weeks without the timer: one work order for the overdue date, then the schedule goes on.
    h.clock.set(at(41 * DAY));
    expect((await kit.runDuePlans()).opened).toBe(1);
    expect((await kit.runDuePlans()).opened).toBe(0);
    const after = await kit.plan(plan.id);
    expect(after).toMatchObject({ occurrences: 3, nextDueAt: at(49 * DAY) });
    expect(after.recentOccurrences!.map((o) => [o.occurrence, o.dueAt])).toEqual([
      [3, at(21 * DAY)],
      [2, at(14 * DAY)],
      [1, at(7 * DAY)],
    ]);
    const orders = await kit.workOrdersOf(plan.id);
    expect(orders.map((o) => o.sourceRef)).toEqual([1, 2, 3].map((n) => `${plan.id}:${n}`));
    expect(orders[2]!.description).toContain('3 earlier due date(s)');
    h.clock.set(at(0));
  });

  it('counts months on the calendar from the start, which may be in the past (the last service)', async () => {
    const plan = await kit.createPlan({
      assetId: pump,
      interval: { every: 1, unit: 'month' },
      startsAt: '2026-01-31T08:00:00.000Z',
    });
    expect(plan.nextDueAt).toBe('2026-02-28T08:00:00.000Z');
    h.clock.set('2026-03-02T10:00:00.000Z');
    expect((await kit.runDuePlans()).opened).toBe(1);
    expect(await kit.plan(plan.id)).toMatchObject({ occurrences: 1, nextDueAt: '2026-03-31T08:00:00.000Z' });
    await h.api('POST', `/api/v1/maintenance-plans/${plan.id}/deactivate`);
  });

  it('changes a plan: a new interval continues from the last due date; If-Match; one trigger must remain', async () => {
    const plan = await kit.createPlan({ assetId: pump, interval: { every: 1, unit: 'week' } });
    const patched = await h.api<MaintenancePlan>(
      'PATCH',
      `/api/v1/maintenance-plans/${plan.id}`,
      { interval: { every: 2, unit: 'week' }, usage: { metric: 'run_hours', every: 250 }, priority: 'high' },
      { 'if-match': '"1"' },
    );
    expect(patched.status).toBe(200);
    expect(patched.headers.etag).toBe('"2"');
    expect(patched.body).toMatchObject({
      version: 2,
      priority: 'high',
      nextDueAt: at(14 * DAY),
      usage: { metric: 'run_hours', every: 250, kind: 'counter' },
      usageSinceLast: 0,
    });
    const stale = await h.api<Problem>(
      'PATCH',
      `/api/v1/maintenance-plans/${plan.id}`,
      { title: 'y' },
      {
        'if-match': '"1"',
      },
    );
    expect(stale.status).toBe(412);
    const neither = await h.api<Problem>('PATCH', `/api/v1/maintenance-plans/${plan.id}`, {
      interval: null,
      usage: null,
    });
    expect(neither.status).toBe(400);
    expect(neither.body.code).toBe('PLAN_TRIGGER_REQUIRED');
    const usageOnly = await h.api<MaintenancePlan>('PATCH', `/api/v1/maintenance-plans/${plan.id}`, {
      interval: null,
    });
    expect(usageOnly.body).toMatchObject({ interval: null, nextDueAt: null, opensAt: null, version: 3 });
  });

  it('deactivates a plan (it opens nothing more) and refuses to reactivate it once the asset is decommissioned', async () => {
    const asset = await h.registerAsset();
    const plan = await kit.createPlan({ assetId: asset, interval: { every: 1, unit: 'day' } });
    const off = await h.api<MaintenancePlan>('POST', `/api/v1/maintenance-plans/${plan.id}/deactivate`);
    expect(off.body).toMatchObject({ active: false, version: 2 });
    h.clock.set(at(3 * DAY));
    await kit.runDuePlans();
    expect(await kit.workOrdersOf(plan.id)).toEqual([]);
    const on = await h.api<MaintenancePlan>('POST', `/api/v1/maintenance-plans/${plan.id}/activate`);
    expect(on.body).toMatchObject({ active: true, nextDueAt: at(4 * DAY) });
    await h.changeStatus(asset, 'commissioning', 'decommissioning');
    await h.changeStatus(asset, 'decommissioning', 'decommissioned');
    // Due, but nothing left to maintain: the timer deactivates it instead.
    h.clock.set(at(5 * DAY));
    await kit.runDuePlans();
    expect(await kit.workOrdersOf(plan.id)).toEqual([]);
    expect((await kit.plan(plan.id)).active).toBe(false);
    const refused = await h.api<Problem>('POST', `/api/v1/maintenance-plans/${plan.id}/activate`);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('ASSET_DECOMMISSIONED');
    h.clock.set(at(0));
  });

  it('lists plans newest first, by asset and by active, page by page', async () => {
    const asset = await h.registerAsset();
    const first = await kit.createPlan({ assetId: asset, interval: { every: 1, unit: 'day' } });
    const second = await kit.createPlan({ assetId: asset, usage: { metric: 'cycles', every: 10 } });
    await h.api('POST', `/api/v1/maintenance-plans/${first.id}/deactivate`);
    const page1 = await h.api<MaintenancePlanPage>(
      'GET',
      `/api/v1/maintenance-plans?assetId=${asset}&limit=1`,
    );
    expect(page1.body.items.map((p) => p.id)).toEqual([second.id]);
    expect(page1.body.items[0]!.recentOccurrences).toBeUndefined();
    const page2 = await h.api<MaintenancePlanPage>(
      'GET',
      `/api/v1/maintenance-plans?assetId=${asset}&limit=1&cursor=${page1.body.nextCursor}`,
    );
    expect(page2.body).toMatchObject({ items: [{ id: first.id }], nextCursor: null });
    const active = await h.api<MaintenancePlanPage>(
      'GET',
      `/api/v1/maintenance-plans?assetId=${asset}&active=true`,
    );
    expect(active.body.items.map((p) => p.id)).toEqual([second.id]);
    const inactive = await h.api<MaintenancePlanPage>(
      'GET',
      `/api/v1/maintenance-plans?assetId=${asset}&active=false`,
    );
    expect(inactive.body.items.map((p) => p.id)).toEqual([first.id]);
    expect((await h.api('GET', '/api/v1/maintenance-plans?cursor=nope')).status).toBe(400);
  });
});
