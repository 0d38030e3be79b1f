import { LeaderLoop, type Logger, withTransaction } from '@assetops/platform';
import { openOccurrence, type PlanDeps } from './plan.commands.js';
import { dueTrigger } from './plan.decide.js';
import { duePlanIds, loadPlanForUpdate } from './plan.store.js';

export interface PlanRunnerDeps extends PlanDeps {
  logger: Logger;
}

export interface DuePlansRun {
  /** Occurrences opened (a work order each). */
  opened: number;
  /** Plans that failed (logged; tried again on the next run). */
  failed: number;
  /** Whether more plans may be due than this run looked at. */
  more: boolean;
}

/**
 * Opens the occurrences due at `now`: each due plan in its own transaction (one plan that fails
 * holds up no other), locked and checked again first, so a run that overlaps another — or the
 * telemetry handler opening a usage occurrence of the same plan — opens nothing twice. Running it
 * again at the same `now` opens nothing more.
 *
 * @example
 * await runDuePlans(deps); // what the timer does every MAINTENANCE_PLAN_INTERVAL
 */
export async function runDuePlans(
  deps: PlanRunnerDeps,
  now: Date = deps.clock.now(),
  batchSize = 100,
): Promise<DuePlansRun> {
  const ids = await duePlanIds(deps.pool, now, batchSize);
  let opened = 0;
  let failed = 0;
  for (const id of ids) {
    try {
      const done = await withTransaction(deps.pool, async (tx) => {
        // Skipped when locked: its holder may be opening it right now; the next run sees the outcome.
        const plan = await loadPlanForUpdate(tx, id, { skipLocked: true });
        const trigger = plan && dueTrigger(plan, now);
        if (!plan || !trigger) return false;
        return (await openOccurrence(tx, deps, plan, trigger, now)) !== null;
      });
      if (done) opened++;
    } catch (err) {
      failed++;
      deps.logger.error({ err, planId: id }, 'maintenance plan: opening its occurrence failed');
    }
  }
  return { opened, failed, more: ids.length === batchSize && opened > 0 };
}

/**
 * The timer of the time-based plans: one instance per database (advisory lock) runs
 * {@link runDuePlans} every `intervalMs`, at once again when a full batch was opened.
 */
export function createPlanLoop(deps: PlanRunnerDeps & { intervalMs: number }): LeaderLoop {
  return new LeaderLoop({
    name: 'maintenance-plans',
    pool: deps.pool,
    lockName: 'assetops.maintenance.plans',
    channel: 'assetops_maintenance_plans',
    pollIntervalMs: deps.intervalMs,
    standbyRetryMs: 5000,
    errorBackoff: { baseMs: 500, maxMs: 30_000 },
    logger: deps.logger,
    work: async () => ({ more: (await runDuePlans(deps)).more }),
  });
}
