import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { defineEvent } from '../envelope.js';

/** How urgent a work order is; each priority has its own SLA (the time allowed until `dueAt`). */
export const WorkOrderPriorities = ['low', 'medium', 'high', 'urgent'] as const;
export type WorkOrderPriority = (typeof WorkOrderPriorities)[number];
export const WorkOrderPrioritySchema = Type.Union(
  WorkOrderPriorities.map((p) => Type.Literal(p)),
  { description: 'low, medium, high or urgent' },
);

/**
 * The life of a work order: `open → assigned → in_progress → completed`, `in_progress ⇄ on_hold`,
 * and `cancelled` from any state that is not over. `completed` and `cancelled` are terminal.
 */
export const WorkOrderStatuses = [
  'open',
  'assigned',
  'in_progress',
  'on_hold',
  'completed',
  'cancelled',
] as const;
export type WorkOrderStatus = (typeof WorkOrderStatuses)[number];
export const WorkOrderStatusSchema = Type.Union(
  WorkOrderStatuses.map((s) => Type.Literal(s)),
  { description: 'open, assigned, in_progress, on_hold, completed or cancelled' },
);

/** Where a work order came from: a person (`manual`), an alert, or a maintenance plan. */
export const WorkOrderSources = ['manual', 'alert', 'plan'] as const;
export type WorkOrderSource = (typeof WorkOrderSources)[number];
export const WorkOrderSourceSchema = Type.Union(
  WorkOrderSources.map((s) => Type.Literal(s)),
  { description: 'manual, alert or plan' },
);

/** Skills are lower-case identifiers (`mechanical`, `electrical`, `hvac`). */
export const SkillSchema = Type.String({
  pattern: '^[a-z][a-z0-9_-]{0,63}$',
  description: 'lower-case identifier, e.g. electrical',
});

const Id = Type.String({ format: 'uuid' });
const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/**
 * A work order was opened. `sourceRef` identifies what caused it (the alert id for `alert`, the plan
 * for `plan`; null for `manual`); `dueAt` is `createdAt` plus the SLA of its priority.
 *
 * @example
 * { workOrderId, assetId, title: 'Replace seal', description: null, priority: 'high', source: 'manual',
 *   sourceRef: null, requiredSkill: 'mechanical', status: 'open', dueAt: '2026-01-02T00:00:00.000Z',
 *   createdAt: '2026-01-01T00:00:00.000Z' }
 */
export const WorkOrderCreated = defineEvent({
  name: 'WorkOrderCreated',
  service: 'maintenance',
  version: 1,
  type: 'assetops.maintenance.work-order-created.v1',
  data: Type.Object(
    {
      workOrderId: Id,
      assetId: Id,
      title: Type.String({ minLength: 1, maxLength: 200 }),
      description: Nullable(Type.String({ maxLength: 5000 })),
      priority: WorkOrderPrioritySchema,
      source: WorkOrderSourceSchema,
      sourceRef: Nullable(Type.String({ minLength: 1, maxLength: 200 })),
      requiredSkill: Nullable(SkillSchema),
      status: Type.Literal('open'),
      dueAt: Time,
      createdAt: Time,
    },
    { additionalProperties: false },
  ),
});
export type WorkOrderCreatedData = Static<typeof WorkOrderCreated.data>;

/**
 * A work order moved through its lifecycle. `assigneeId` is the technician holding it after the
 * change; `version` is the work order's version after it, so a consumer can ignore an older change.
 */
export const WorkOrderStatusChanged = defineEvent({
  name: 'WorkOrderStatusChanged',
  service: 'maintenance',
  version: 1,
  type: 'assetops.maintenance.work-order-status-changed.v1',
  data: Type.Object(
    {
      workOrderId: Id,
      assetId: Id,
      from: WorkOrderStatusSchema,
      to: WorkOrderStatusSchema,
      reason: Nullable(Type.String({ maxLength: 2000 })),
      assigneeId: Nullable(Id),
      version: Type.Integer({ minimum: 1 }),
      changedAt: Time,
    },
    { additionalProperties: false },
  ),
});
export type WorkOrderStatusChangedData = Static<typeof WorkOrderStatusChanged.data>;

/**
 * A technician was given a work order — by the automatic assignment (`auto`) or by a person
 * (`manual`). A first assignment also moves the work order from `open` to `assigned`
 * (WorkOrderStatusChanged, same version); a reassignment changes only the assignee.
 */
export const WorkOrderAssigned = defineEvent({
  name: 'WorkOrderAssigned',
  service: 'maintenance',
  version: 1,
  type: 'assetops.maintenance.work-order-assigned.v1',
  data: Type.Object(
    {
      workOrderId: Id,
      assetId: Id,
      technicianId: Id,
      previousTechnicianId: Nullable(Id),
      mode: Type.Union([Type.Literal('auto'), Type.Literal('manual')]),
      version: Type.Integer({ minimum: 1 }),
      at: Time,
    },
    { additionalProperties: false },
  ),
});
export type WorkOrderAssignedData = Static<typeof WorkOrderAssigned.data>;

/**
 * A work order's priority was raised (an alert escalated to critical); `dueAt` is the new due time
 * (its creation plus the new priority's SLA, never later than before).
 */
export const WorkOrderPriorityChanged = defineEvent({
  name: 'WorkOrderPriorityChanged',
  service: 'maintenance',
  version: 1,
  type: 'assetops.maintenance.work-order-priority-changed.v1',
  data: Type.Object(
    {
      workOrderId: Id,
      assetId: Id,
      from: WorkOrderPrioritySchema,
      to: WorkOrderPrioritySchema,
      dueAt: Time,
      reason: Nullable(Type.String({ maxLength: 2000 })),
      version: Type.Integer({ minimum: 1 }),
      at: Time,
    },
    { additionalProperties: false },
  ),
});
export type WorkOrderPriorityChangedData = Static<typeof WorkOrderPriorityChanged.data>;

/**
 * Maintenance withdrew from the asset for a decommissioning saga (`sagaId`): it cancelled the
 * asset's unfinished work orders (`cancelledWorkOrderIds`; with `forced`, work in progress too) and
 * deactivated its active plans (`deactivatedPlanIds`). The answer to a DecommissioningStepRequested
 * (step maintenance); a repeated request is answered with the same lists.
 *
 * @example
 * { assetId, sagaId, cancelledWorkOrderIds: [woId], deactivatedPlanIds: [planId], forced: false, at }
 */
export const AssetMaintenanceWithdrawn = defineEvent({
  name: 'AssetMaintenanceWithdrawn',
  service: 'maintenance',
  version: 1,
  type: 'assetops.maintenance.asset-maintenance-withdrawn.v1',
  data: Type.Object(
    {
      assetId: Id,
      sagaId: Id,
      cancelledWorkOrderIds: Type.Array(Id),
      deactivatedPlanIds: Type.Array(Id),
      forced: Type.Boolean(),
      at: Time,
    },
    { additionalProperties: false },
  ),
});
export type AssetMaintenanceWithdrawnData = Static<typeof AssetMaintenanceWithdrawn.data>;

/**
 * Maintenance refused to withdraw from the asset: work is in progress on it (`code`
 * `WORK_IN_PROGRESS`, the work orders in `workOrderIds`) and the saga was not forced. Nothing was
 * changed. The decommissioning saga compensates and shows `reason`.
 */
export const AssetMaintenanceWithdrawalRefused = defineEvent({
  name: 'AssetMaintenanceWithdrawalRefused',
  service: 'maintenance',
  version: 1,
  type: 'assetops.maintenance.asset-maintenance-withdrawal-refused.v1',
  data: Type.Object(
    {
      assetId: Id,
      sagaId: Id,
      code: Type.String({ minLength: 1, maxLength: 100 }),
      reason: Type.String({ maxLength: 1000 }),
      workOrderIds: Type.Array(Id),
      at: Time,
    },
    { additionalProperties: false },
  ),
});
export type AssetMaintenanceWithdrawalRefusedData = Static<typeof AssetMaintenanceWithdrawalRefused.data>;

/**
 * Maintenance undid its withdrawal for the decommissioning saga `sagaId`: the plans it had
 * deactivated are active again (`reactivatedPlanIds`, their schedules restarted from now). The work
 * orders it cancelled stay cancelled — a cancelled work order is final — and each got a note
 * (`cancelledWorkOrderIds`), so that a dispatcher can open again what is still needed.
 */
export const AssetMaintenanceRestored = defineEvent({
  name: 'AssetMaintenanceRestored',
  service: 'maintenance',
  version: 1,
  type: 'assetops.maintenance.asset-maintenance-restored.v1',
  data: Type.Object(
    {
      assetId: Id,
      sagaId: Id,
      reactivatedPlanIds: Type.Array(Id),
      cancelledWorkOrderIds: Type.Array(Id),
      at: Time,
    },
    { additionalProperties: false },
  ),
});
export type AssetMaintenanceRestoredData = Static<typeof AssetMaintenanceRestored.data>;

export const maintenanceEvents = [
  WorkOrderCreated,
  WorkOrderStatusChanged,
  WorkOrderAssigned,
  WorkOrderPriorityChanged,
  AssetMaintenanceWithdrawn,
  AssetMaintenanceWithdrawalRefused,
  AssetMaintenanceRestored,
] as const;
