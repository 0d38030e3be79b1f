import { TelemetryAggregated, telemetryWindows } from '@assetops/contracts';
import { type EventHandlers, eventHandler } from '@assetops/platform';
import type { WorkOrderDeps } from '../work-orders/work-order.commands.js';
import { openOccurrence } from './plan.commands.js';
import { loadUsagePlansForUpdate, updatePlan } from './plan.store.js';
import { countCounterUsage } from './plan.usage.js';

/**
 * Usage of the plans from the telemetry feed: each TelemetryAggregated window of a metric some active
 * plans count adds the counter's rise to them (see `countCounterUsage`: resets count from 0, late
 * windows are ignored), and a plan whose usage is reached opens its occurrence in the same
 * transaction — whichever trigger comes first, the other restarts with it.
 *
 * Exactly once: the inbox drops a redelivered event, and a replay under another event id (or a late
 * window) ends at or before what the plan counted already, so it counts nothing.
 */
export function planUsageHandlers(deps: WorkOrderDeps): EventHandlers {
  return eventHandler(TelemetryAggregated, async (tx, event) => {
    const now = deps.clock.now();
    // Metric by metric, in name order: the plans of an asset are locked in one order whatever the event.
    const windows = telemetryWindows(event.data).sort((a, b) =>
      a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0,
    );
    for (const d of windows) {
      const plans = await loadUsagePlansForUpdate(tx, d.assetId, d.metric);
      for (const plan of plans) {
        const outcome = countCounterUsage(
          { lastValue: plan.lastCounterValue, countedUntil: plan.countedUntil },
          d,
        );
        if (!outcome.counted) continue;
        const counted = {
          ...plan,
          usageSinceLast: plan.usageSinceLast + outcome.usage,
          lastCounterValue: outcome.lastValue,
          countedUntil: outcome.countedUntil,
        };
        await updatePlan(tx, counted);
        if (counted.usage && counted.usageSinceLast >= counted.usage.every) {
          await openOccurrence(tx, deps, counted, 'usage', now, { causedBy: event });
        }
      }
    }
  });
}
