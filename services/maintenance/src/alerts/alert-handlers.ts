import {
  AlertCleared,
  AlertEscalated,
  AlertRaised,
  type EventEnvelope,
  type Severity,
  type WorkOrderPriority,
} from '@assetops/contracts';
import { type EventHandlers, eventHandler, type PoolClient } from '@assetops/platform';
import { findKnownAsset } from '../assets/known-assets.js';
import {
  applyCommand,
  assignOrExplain,
  openWorkOrder,
  type WorkOrderDeps,
} from '../work-orders/work-order.commands.js';
import { hasNote, loadWorkOrderOfAlertForUpdate } from '../work-orders/work-order.store.js';
import { requiredSkillFor, type SkillMap } from './skill-map.js';

export interface AlertHandlerDeps extends WorkOrderDeps {
  skills: SkillMap;
}

/**
 * The priority of an alert's work order by the alert's severity; info and warning alerts make no
 * work order.
 */
export function priorityForSeverity(severity: Severity): WorkOrderPriority | null {
  if (severity === 'critical') return 'urgent';
  if (severity === 'major') return 'high';
  return null;
}

const CLEARED_NOTE = 'alert-cleared';

/**
 * Alert → work order, by choreography: the Alert service knows nothing of work orders; this service
 * reacts to its events.
 * - AlertRaised (major or critical): one work order for the alert episode (the alert id), assigned
 *   automatically (or left open with a note saying why not).
 * - AlertEscalated to major or critical: raises the work order's priority (critical → urgent), with
 *   a note; an alert that was raised as a warning gets its work order now.
 * - AlertCleared: a note on the work order.
 *
 * Exactly once: the inbox drops a redelivered event, and every effect is also idempotent on its own —
 * the unique alert reference makes a replayed AlertRaised (another event id, the same alert) a
 * no-op, a priority is only ever raised, and the clear note has a key.
 */
export function alertHandlers(deps: AlertHandlerDeps): EventHandlers {
  return {
    ...eventHandler(AlertRaised, async (tx, event) => {
      const d = event.data;
      const priority = priorityForSeverity(d.severity);
      if (!priority) return;
      const value = d.value === null ? '' : ` (value ${d.value})`;
      await openAlertWorkOrder(tx, deps, event, {
        alertId: d.alertId,
        assetId: d.assetId,
        metric: d.metric,
        priority,
        title: clip(`${d.ruleName}: ${d.condition}`, 200),
        description:
          `Alert ${d.alertId} (rule ${d.ruleName}, episode ${d.episode}) raised at ${d.at} with severity ` +
          `${d.severity}: ${d.condition}${value}.`,
      });
    }),
    ...eventHandler(AlertEscalated, async (tx, event) => {
      const d = event.data;
      const priority = priorityForSeverity(d.to);
      if (!priority) return;
      const existing = await loadWorkOrderOfAlertForUpdate(tx, d.alertId);
      if (!existing) {
        await openAlertWorkOrder(tx, deps, event, {
          alertId: d.alertId,
          assetId: d.assetId,
          metric: undefined,
          priority,
          title: `Alert escalated to ${d.to}`,
          description: `Alert ${d.alertId} (rule ${d.ruleId}) escalated from ${d.from} to ${d.to} at ${d.at}.`,
        });
        return;
      }
      await applyCommand(
        tx,
        deps,
        existing,
        {
          kind: 'RaisePriority',
          priority,
          reason: `alert escalated from ${d.from} to ${d.to} at ${d.at}`,
          noteKey: `alert-escalated:${d.to}`,
        },
        { causedBy: event },
      );
    }),
    ...eventHandler(AlertCleared, async (tx, event) => {
      const d = event.data;
      const existing = await loadWorkOrderOfAlertForUpdate(tx, d.alertId);
      // No work order: the alert was a warning, or it is for an asset maintenance does not keep.
      if (!existing || (await hasNote(tx, existing.id, CLEARED_NOTE))) return;
      const value = d.value === null ? '' : ` (last value ${d.value})`;
      await applyCommand(
        tx,
        deps,
        existing,
        {
          kind: 'AddNote',
          text: `alert cleared at ${d.at}: ${d.cause}${value}`,
          author: null,
          key: CLEARED_NOTE,
        },
        { causedBy: event },
      );
    }),
  };
}

interface AlertWorkOrder {
  alertId: string;
  assetId: string;
  metric: string | undefined;
  priority: WorkOrderPriority;
  title: string;
  description: string;
}

async function openAlertWorkOrder(
  tx: PoolClient,
  deps: AlertHandlerDeps,
  cause: EventEnvelope,
  alert: AlertWorkOrder,
): Promise<void> {
  // The asset's events and the alert's travel on different streams, so the asset may not be known
  // yet: the alert proves it exists, and its work order is opened anyway (without the type's skill).
  // A decommissioned asset has nothing left to maintain.
  const asset = await findKnownAsset(tx, alert.assetId);
  if (asset?.status === 'decommissioned') return;
  const created = await openWorkOrder(
    tx,
    deps,
    {
      assetId: alert.assetId,
      title: alert.title,
      description: alert.description,
      priority: alert.priority,
      source: 'alert',
      sourceRef: alert.alertId,
      requiredSkill: requiredSkillFor(deps.skills, { metric: alert.metric, assetType: asset?.assetType }),
    },
    { causedBy: cause },
  );
  if (created) await assignOrExplain(tx, deps, created, { causedBy: cause });
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
