import type { MaintenancePlan } from '@assetops/contracts';
import { createEventConsumer, createInProcessBus, createLogger, uuidV7Ids } from '@assetops/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageMetricIndex } from '../src/plans/plan.relevance.js';
import { type MaintenanceHarness, startMaintenance } from './support/harness.js';
import { planKit } from './support/plans.js';

const DAY = 86_400_000;
const CREATED = 'assetops.maintenance.work-order-created.v1';

describe('preventive plans: usage from the telemetry feed', () => {
  let h: MaintenanceHarness;
  let kit: ReturnType<typeof planKit>;
  beforeAll(async () => {
    h = await startMaintenance();
    kit = planKit(h);
    await h.addTechnician({ name: 'Ann' });
  });
  afterAll(() => h?.close());

  const usageOf = async (plan: MaintenancePlan) => (await kit.plan(plan.id)).usageSinceLast;

  it('counts a counter across a reset (from 0) and opens one work order when the usage is reached', async () => {
    const pump = await h.registerAsset();
    const plan = await kit.createPlan({ assetId: pump, usage: { metric: 'run_hours', every: 100 } });
    // A reading of another metric, or of another asset, counts for nothing.
    await h.deliver(kit.window(pump, 'temperature', { first: 1, last: 900 }, 1));

    await h.deliver(kit.window(pump, 'run_hours', { first: 1000, last: 1010 }, 10)); // baseline: +10
    expect(await usageOf(plan)).toBe(10);
    await h.deliver(kit.window(pump, 'run_hours', { first: 1015, last: 1040 }, 20)); // +5 +25
    expect(await usageOf(plan)).toBe(40);
    // The hour meter was replaced: the new one counts from 0 (+5 up to its first reading, +15).
    await h.deliver(kit.window(pump, 'run_hours', { first: 5, last: 20 }, 30));
    expect(await kit.plan(plan.id)).toMatchObject({ usageSinceLast: 60, lastCounterValue: 20 });
    expect(await kit.workOrdersOf(plan.id)).toEqual([]);

    // +10 to 30, up to 50, reset within the window, up to 10: +20 +10 → 100.
    const crossing = kit.window(pump, 'run_hours', { first: 30, last: 10, min: 0, max: 50 }, 40);
    await h.deliver(crossing);
    const [wo, ...more] = await kit.workOrdersOf(plan.id);
    expect(more).toEqual([]);
    expect(wo).toMatchObject({ source: 'plan', sourceRef: `${plan.id}:1`, status: 'assigned' });
    expect(wo!.description).toContain('usage reached: 100 run_hours');
    const [created] = (await h.outbox(CREATED)).filter(
      (e) => (e.data as { workOrderId: string }).workOrderId === wo!.id,
    );
    expect(created).toMatchObject({ causationid: crossing.id, subject: pump });
    expect(await kit.plan(plan.id)).toMatchObject({
      occurrences: 1,
      usageSinceLast: 0,
      lastCounterValue: 10,
      recentOccurrences: [{ occurrence: 1, reason: 'usage', usage: 100, dueAt: h.clock.now().toISOString() }],
    });
    await h.deliver(kit.window(pump, 'run_hours', { first: 12, last: 30 }, 50));
    expect(await usageOf(plan)).toBe(20);
    // The timer finds nothing due.
    expect((await kit.runDuePlans()).opened).toBe(0);
  });

  it('counts the metric of each plan in a window of several metrics, and stores only windows a plan counts', async () => {
    const press = await h.registerAsset();
    const hours = await kit.createPlan({ assetId: press, usage: { metric: 'run_hours', every: 1000 } });
    const strokes = await kit.createPlan({ assetId: press, usage: { metric: 'strokes', every: 1_000_000 } });
    await h.deliver(
      kit.windowOf(
        press,
        {
          temperature: { first: 1, last: 90 },
          strokes: { first: 500, last: 800 },
          run_hours: { first: 7, last: 9 },
        },
        1,
      ),
    );
    await h.deliver(
      kit.windowOf(press, { run_hours: { first: 10, last: 12 }, strokes: { first: 900, last: 950 } }, 2),
    );
    expect(await usageOf(hours)).toBe(5);
    expect(await usageOf(strokes)).toBe(450);
    // The consumer filter: a window is stored when one of its metrics is counted by some plan.
    const index = new UsageMetricIndex(h.db.pool, createLogger({ service: 'maintenance', level: 'silent' }));
    await index.refresh();
    const counters = { first: 1, last: 2 };
    expect(index.accepts(kit.windowOf(press, { temperature: counters, strokes: counters }))).toBe(true);
    expect(index.accepts(kit.windowOf(press, { temperature: counters, rpm: counters }))).toBe(false);
  });

  it('changes nothing for a late window, a replay under another event id, or the same event delivered again', async () => {
    const pump = await h.registerAsset();
    const plan = await kit.createPlan({ assetId: pump, usage: { metric: 'cycles', every: 1000 } });
    const bus = createInProcessBus();
    const consumer = createEventConsumer({
      name: 'maintenance',
      pool: h.db.pool,
      bus,
      sources: h.service.consumer!.sources,
      handlers: h.service.consumer!.handlers,
      accept: h.service.consumer!.accept!,
      logger: createLogger({ service: 'maintenance', level: 'silent' }),
    });
    await consumer.start();
    try {
      // A metric no plan counts is not even stored.
      await bus.publish([kit.window(pump, 'temperature', { first: 70, last: 71 }, 5)]);
      const first = kit.window(pump, 'cycles', { first: 100, last: 110 }, 10);
      const second = kit.window(pump, 'cycles', { first: 120, last: 150 }, 20);
      // The same events, in one batch and one by one: the inbox keeps each once.
      await bus.publish([first, first, second]);
      for (let i = 0; i < 5; i++) await bus.publish([second]);
      await consumer.drain();
      expect(await kit.plan(plan.id)).toMatchObject({ usageSinceLast: 50, lastCounterValue: 150 });

      // Late readings of the first window (announced again with only the new readings), and a
      // replay of the second under a new event id: the counter has been counted past both.
      await bus.publish([kit.window(pump, 'cycles', { first: 112, last: 115 }, 10.2)]);
      await bus.publish([{ ...second, id: uuidV7Ids.next() }]);
      await consumer.drain();
      expect(await kit.plan(plan.id)).toMatchObject({ usageSinceLast: 50, lastCounterValue: 150 });
      const { rows } = await h.db.pool.query(
        `SELECT count(*)::int AS processed FROM inbox WHERE consumer = 'maintenance' AND type = $1`,
        ['assetops.telemetry.aggregated.v2'],
      );
      expect(rows).toEqual([{ processed: 4 }]);
    } finally {
      await consumer.stop();
    }
  });

  it('opens whichever comes first — usage before time, then time before usage — and restarts both', async () => {
    const press = await h.registerAsset('press');
    const t0 = h.clock.now().getTime();
    const at = (ms: number) => new Date(t0 + ms).toISOString();
    const plan = await kit.createPlan({
      assetId: press,
      interval: { every: 30, unit: 'day' },
      leadTime: { amount: 2, unit: 'day' },
      usage: { metric: 'strokes', every: 100 },
    });
    expect(plan).toMatchObject({ nextDueAt: at(30 * DAY), opensAt: at(28 * DAY) });

    // Heavy use: 100 strokes by day 10, long before the interval.
    h.clock.set(at(10 * DAY));
    await h.deliver(kit.window(press, 'strokes', { first: 0, last: 60 }));
    await h.deliver(kit.window(press, 'strokes', { first: 70, last: 100 }, 1));
    expect(await kit.plan(plan.id)).toMatchObject({
      occurrences: 1,
      usageSinceLast: 0,
      // The interval restarts from the occurrence.
      nextDueAt: at(40 * DAY),
      opensAt: at(38 * DAY),
    });

    // Light use afterwards: the interval comes first (its work order opens the lead time before).
    h.clock.set(at(37 * DAY));
    await h.deliver(kit.window(press, 'strokes', { first: 110, last: 150 }));
    expect((await kit.runDuePlans()).opened).toBe(0);
    h.clock.set(at(38 * DAY));
    expect((await kit.runDuePlans()).opened).toBe(1);
    expect((await kit.runDuePlans()).opened).toBe(0);
    expect(await kit.plan(plan.id)).toMatchObject({
      occurrences: 2,
      usageSinceLast: 0,
      nextDueAt: at(70 * DAY),
      recentOccurrences: [
        { occurrence: 2, reason: 'time', dueAt: at(40 * DAY), usage: 50 },
        { occurrence: 1, reason: 'usage', dueAt: at(10 * DAY), usage: 100 },
      ],
    });
    // The usage counts from 0 again: 60 more strokes are not enough.
    await h.deliver(kit.window(press, 'strokes', { first: 160, last: 210 }, 5));
    expect(await kit.plan(plan.id)).toMatchObject({ usageSinceLast: 60, occurrences: 2 });
    expect((await kit.runDuePlans()).opened).toBe(0);
    const orders = await kit.workOrdersOf(plan.id);
    expect(orders.map((o) => o.sourceRef)).toEqual([`${plan.id}:1`, `${plan.id}:2`]);
  });

  it('opens the usage occurrence from the timer when a lower `every` makes the usage already reached', async () => {
    const fan = await h.registerAsset('fan');
    const plan = await kit.createPlan({ assetId: fan, usage: { metric: 'run_hours', every: 50 } });
    await h.deliver(kit.window(fan, 'run_hours', { first: 10, last: 40 }, 1));
    await h.api('PATCH', `/api/v1/maintenance-plans/${plan.id}`, {
      usage: { metric: 'run_hours', every: 25 },
    });
    expect(await usageOf(plan)).toBe(30);
    expect((await kit.runDuePlans()).opened).toBe(1);
    expect((await kit.runDuePlans()).opened).toBe(0);
    expect(await kit.plan(plan.id)).toMatchObject({ occurrences: 1, usageSinceLast: 0 });
  });
});
