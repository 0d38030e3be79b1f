import { type MaintenancePlan, TelemetryAggregated, type WorkOrder } from '@assetops/contracts';
import { createEvent, createLogger, uuidV7Ids } from '@assetops/platform';
import { defaultSla } from '../../src/index.js';
import { type DuePlansRun, runDuePlans } from '../../src/plans/plan.runner.js';
import type { MaintenanceHarness } from './harness.js';

/** Plan helpers on top of the Maintenance harness (the timer run by hand, telemetry windows). */
export function planKit(h: MaintenanceHarness) {
  const deps = {
    pool: h.db.pool,
    clock: h.clock,
    ids: uuidV7Ids,
    sla: defaultSla,
    logger: createLogger({ service: 'maintenance', level: 'silent' }),
  };
  return {
    /** What the timer does, at the harness clock's time. */
    runDuePlans: (): Promise<DuePlansRun> => runDuePlans(deps),
    async createPlan(body: Record<string, unknown>): Promise<MaintenancePlan> {
      const response = await h.api<MaintenancePlan>('POST', '/api/v1/maintenance-plans', {
        title: 'Service',
        priority: 'medium',
        ...body,
      });
      if (response.status !== 201) throw new Error(`plan not created: ${JSON.stringify(response.body)}`);
      return response.body;
    },
    async plan(id: string): Promise<MaintenancePlan> {
      return (await h.api<MaintenancePlan>('GET', `/api/v1/maintenance-plans/${id}`)).body;
    },
    /** The work orders a plan opened, oldest first. */
    async workOrdersOf(planId: string): Promise<WorkOrder[]> {
      const { rows } = await h.db.pool.query<{ id: string }>(
        `SELECT id FROM work_orders WHERE source = 'plan' AND source_ref LIKE $1 || ':%' ORDER BY id`,
        [planId],
      );
      const found: WorkOrder[] = [];
      for (const { id } of rows)
        found.push((await h.api<WorkOrder>('GET', `/api/v1/work-orders/${id}`)).body);
      return found;
    },
    /**
     * A TelemetryAggregated window of a counter, its readings `offsetS` seconds after the harness
     * clock (first) and half a second later (last); min and max default to first and last.
     */
    window(assetId: string, metric: string, values: CounterValues, offsetS = 0) {
      return this.windowOf(assetId, { [metric]: values }, offsetS);
    },
    /** {@link window} for several counters of the asset in one event. */
    windowOf(assetId: string, counters: Record<string, CounterValues>, offsetS = 0) {
      const start = h.clock.now().getTime() + offsetS * 1000;
      const iso = (ms: number) => new Date(ms).toISOString();
      return createEvent(
        TelemetryAggregated,
        {
          assetId,
          windowStart: iso(start),
          windowEnd: iso(start + 1000),
          metrics: Object.entries(counters).map(([metric, values]) => ({
            metric,
            count: 2,
            sum: values.first + values.last,
            min: values.min ?? Math.min(values.first, values.last),
            max: values.max ?? Math.max(values.first, values.last),
            first: values.first,
            firstTs: iso(start),
            last: values.last,
            lastTs: iso(start + 500),
          })),
        },
        { subject: assetId, clock: h.clock, ids: uuidV7Ids },
      );
    },
  };
}

/** Readings of a counter in one window: its first and last values, and min and max if not those. */
export interface CounterValues {
  first: number;
  last: number;
  min?: number;
  max?: number;
}
