import type { WorkOrderPriority } from '@assetops/contracts';

/** The time allowed for a work order of each priority, in milliseconds (its SLA). */
export type SlaPolicy = Readonly<Record<WorkOrderPriority, number>>;

const HOUR = 3_600_000;

/** Urgent 4 h, high 24 h, medium 3 days, low 7 days; each is configurable (`MAINTENANCE_SLA_*`). */
export const defaultSla: SlaPolicy = {
  urgent: 4 * HOUR,
  high: 24 * HOUR,
  medium: 72 * HOUR,
  low: 168 * HOUR,
};

const RANK: Readonly<Record<WorkOrderPriority, number>> = { low: 0, medium: 1, high: 2, urgent: 3 };

/** Orders priorities: positive when `a` is more urgent than `b`. */
export function comparePriority(a: WorkOrderPriority, b: WorkOrderPriority): number {
  return RANK[a] - RANK[b];
}

/** When a work order of `priority` created at `createdAt` is due. */
export function dueAt(createdAt: Date | string, priority: WorkOrderPriority, sla: SlaPolicy): Date {
  return new Date(new Date(createdAt).getTime() + sla[priority]);
}
