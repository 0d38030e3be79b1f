import { type Static, Type } from '@sinclair/typebox';
import {
  SkillSchema,
  WorkOrderPrioritySchema,
  WorkOrderSourceSchema,
  WorkOrderStatusSchema,
} from '../events/maintenance.events.js';
import { MetricNameSchema } from '../events/telemetry.events.js';

const Id = Type.String({ format: 'uuid' });
const Time = Type.String({ format: 'date-time' });
const Cursor = Type.String({ maxLength: 200 });
const Limit = Type.Integer({ minimum: 1, maximum: 500 });

export const Weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof Weekdays)[number];

/**
 * One weekly shift window in UTC: on each of `days` from `start` to `end` (`HH:MM`). An `end` at or
 * before `start` crosses midnight into the next day (`22:00`–`06:00`; `start` = `end` is 24 hours).
 *
 * @example
 * { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '06:00', end: '14:00' }
 */
export const ShiftWindowSchema = Type.Object(
  {
    days: Type.Array(Type.Union(Weekdays.map((d) => Type.Literal(d))), {
      minItems: 1,
      maxItems: 7,
      uniqueItems: true,
    }),
    start: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM, UTC' }),
    end: Type.String({ pattern: '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$', description: 'HH:MM, UTC' }),
  },
  { additionalProperties: false },
);
export type ShiftWindow = Static<typeof ShiftWindowSchema>;

const TechnicianName = Type.String({ minLength: 1, maxLength: 200 });
const Skills = Type.Array(SkillSchema, { maxItems: 50, uniqueItems: true });
/** No windows: on call at any time (subject to `available`). */
const Shifts = Type.Array(ShiftWindowSchema, {
  maxItems: 50,
  description: 'weekly shift windows in UTC; none means on call at any time',
});

/**
 * A technician as the Maintenance API returns it. `available` is the day-to-day switch (sick, on
 * leave); `active` is false once the technician left (deactivated). `openWorkOrders` counts the work
 * orders they hold that are assigned or in progress (the load automatic assignment balances).
 */
export const TechnicianSchema = Type.Object(
  {
    id: Id,
    name: TechnicianName,
    skills: Type.Array(Type.String()),
    shifts: Type.Array(ShiftWindowSchema),
    available: Type.Boolean(),
    active: Type.Boolean(),
    openWorkOrders: Type.Integer({ minimum: 0 }),
    version: Type.Integer({ minimum: 1 }),
    createdAt: Time,
    updatedAt: Time,
  },
  { $id: 'Technician' },
);
export type Technician = Static<typeof TechnicianSchema>;

/** `POST /api/v1/technicians` */
export const CreateTechnicianBody = Type.Object(
  {
    name: TechnicianName,
    skills: Type.Optional(Skills),
    shifts: Type.Optional(Shifts),
    available: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateTechnicianBody = Static<typeof CreateTechnicianBody>;

/** `PATCH /api/v1/technicians/:id`: the fields to change (`skills` and `shifts` are replaced whole). */
export const UpdateTechnicianBody = Type.Object(
  {
    name: Type.Optional(TechnicianName),
    skills: Type.Optional(Skills),
    shifts: Type.Optional(Shifts),
    available: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateTechnicianBody = Static<typeof UpdateTechnicianBody>;

/** `GET /api/v1/technicians` query string; inactive technicians are listed only when asked for. */
export const ListTechniciansQuery = Type.Object(
  {
    skill: Type.Optional(SkillSchema),
    active: Type.Optional(Type.Boolean({ description: 'default true' })),
    available: Type.Optional(Type.Boolean()),
    cursor: Type.Optional(Cursor),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
);
export type ListTechniciansQuery = Static<typeof ListTechniciansQuery>;

export const TechnicianPageSchema = Type.Object({
  items: Type.Array(TechnicianSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type TechnicianPage = Static<typeof TechnicianPageSchema>;

/** A note on a work order; `author` is null for notes the service wrote itself. */
export const WorkOrderNoteSchema = Type.Object({
  id: Id,
  at: Time,
  author: Type.Union([Type.String(), Type.Null()]),
  text: Type.String(),
});
export type WorkOrderNote = Static<typeof WorkOrderNoteSchema>;

/** One entry of a work order's status history (`from` is null for its creation). */
export const WorkOrderHistoryEntrySchema = Type.Object({
  from: Type.Union([WorkOrderStatusSchema, Type.Null()]),
  to: WorkOrderStatusSchema,
  at: Time,
  reason: Type.Union([Type.String(), Type.Null()]),
  assigneeId: Type.Union([Id, Type.Null()]),
});
export type WorkOrderHistoryEntry = Static<typeof WorkOrderHistoryEntrySchema>;

/**
 * A work order as the Maintenance API returns it; a single one (`GET /:id` and the transitions)
 * comes with its notes and status history, a list without.
 */
export const WorkOrderSchema = Type.Object(
  {
    id: Id,
    assetId: Id,
    title: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    priority: WorkOrderPrioritySchema,
    source: WorkOrderSourceSchema,
    sourceRef: Type.Union([Type.String(), Type.Null()]),
    status: WorkOrderStatusSchema,
    assigneeId: Type.Union([Id, Type.Null()]),
    requiredSkill: Type.Union([Type.String(), Type.Null()]),
    dueAt: Time,
    startedAt: Type.Union([Time, Type.Null()]),
    completedAt: Type.Union([Time, Type.Null()]),
    version: Type.Integer({ minimum: 1 }),
    createdAt: Time,
    updatedAt: Time,
    notes: Type.Optional(Type.Array(WorkOrderNoteSchema)),
    history: Type.Optional(Type.Array(WorkOrderHistoryEntrySchema)),
  },
  { $id: 'WorkOrder' },
);
export type WorkOrder = Static<typeof WorkOrderSchema>;

const NoteText = Type.String({ minLength: 1, maxLength: 5000 });
const Author = Type.String({ minLength: 1, maxLength: 200 });

/**
 * `POST /api/v1/work-orders` (source `manual`). `assigneeId` assigns it at once; `autoAssign`
 * picks a technician (when none fits it stays open, with a note saying why). Not both.
 */
export const CreateWorkOrderBody = Type.Object(
  {
    assetId: Id,
    title: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 5000 })),
    priority: WorkOrderPrioritySchema,
    requiredSkill: Type.Optional(SkillSchema),
    assigneeId: Type.Optional(Id),
    autoAssign: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateWorkOrderBody = Static<typeof CreateWorkOrderBody>;

/**
 * `GET /api/v1/work-orders` query string (newest first). `status` takes one status or several,
 * repeated or comma-separated (`status=open,assigned&status=on_hold`); the service checks each name
 * and refuses an unknown one with 400 `INVALID_STATUS`.
 */
export const ListWorkOrdersQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Array(Type.String({ maxLength: 200 }), {
        maxItems: 20,
        description: 'one work-order status or several, repeated or comma-separated',
      }),
    ),
    assetId: Type.Optional(Id),
    priority: Type.Optional(WorkOrderPrioritySchema),
    assigneeId: Type.Optional(Id),
    source: Type.Optional(WorkOrderSourceSchema),
    cursor: Type.Optional(Cursor),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
);
export type ListWorkOrdersQuery = Static<typeof ListWorkOrdersQuery>;

export const WorkOrderPageSchema = Type.Object({
  items: Type.Array(WorkOrderSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type WorkOrderPage = Static<typeof WorkOrderPageSchema>;

/** `POST /api/v1/work-orders/:id/assign`: a technician (manual override), or none for automatic. */
export const AssignWorkOrderBody = Type.Object(
  { technicianId: Type.Optional(Id) },
  { additionalProperties: false },
);
export type AssignWorkOrderBody = Static<typeof AssignWorkOrderBody>;

/** `POST /api/v1/work-orders/:id/hold` */
export const HoldWorkOrderBody = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })) },
  { additionalProperties: false },
);
export type HoldWorkOrderBody = Static<typeof HoldWorkOrderBody>;

/** `POST /api/v1/work-orders/:id/complete`: an optional closing note. */
export const CompleteWorkOrderBody = Type.Object(
  { note: Type.Optional(NoteText), author: Type.Optional(Author) },
  { additionalProperties: false },
);
export type CompleteWorkOrderBody = Static<typeof CompleteWorkOrderBody>;

/** `POST /api/v1/work-orders/:id/cancel`: why (required). */
export const CancelWorkOrderBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 2000 }) },
  { additionalProperties: false },
);
export type CancelWorkOrderBody = Static<typeof CancelWorkOrderBody>;

/** `POST /api/v1/work-orders/:id/notes` */
export const AddWorkOrderNoteBody = Type.Object(
  { text: NoteText, author: Type.Optional(Author) },
  { additionalProperties: false },
);
export type AddWorkOrderNoteBody = Static<typeof AddWorkOrderNoteBody>;

/** The units of a maintenance plan's interval; a month is a calendar month (UTC). */
export const PlanIntervalUnits = ['day', 'week', 'month'] as const;
export type PlanIntervalUnit = (typeof PlanIntervalUnits)[number];

/**
 * A plan's time trigger: an occurrence every `every` days, weeks or calendar months, counted from
 * the plan's start (`startsAt + k × interval`). A month added to the 31st lands on the month's last
 * day when it is shorter, without drifting the later occurrences.
 *
 * @example
 * { every: 3, unit: 'month' }
 */
export const PlanIntervalSchema = Type.Object(
  {
    every: Type.Integer({ minimum: 1, maximum: 1000 }),
    unit: Type.Union(
      PlanIntervalUnits.map((u) => Type.Literal(u)),
      { description: 'day, week or month' },
    ),
  },
  { additionalProperties: false },
);
export type PlanInterval = Static<typeof PlanIntervalSchema>;

/**
 * How a plan's usage is measured from the telemetry feed. `counter`: a monotonic counter such as an
 * operating-hours meter or a cycle count (a value lower than the previous one is a reset of the
 * counter, which then counts from 0).
 */
export const PlanUsageKinds = ['counter'] as const;
export type PlanUsageKind = (typeof PlanUsageKinds)[number];
const PlanUsageKindSchema = Type.Union(
  PlanUsageKinds.map((k) => Type.Literal(k)),
  { description: 'counter (a monotonic counter or run-hours meter; resets count from 0)' },
);
const PlanUsageEvery = Type.Number({
  exclusiveMinimum: 0,
  maximum: 1e12,
  description: 'units of the metric between two occurrences',
});

/**
 * A plan's usage trigger: an occurrence every `every` units of `metric` (of the plan's asset).
 *
 * @example
 * { metric: 'run_hours', every: 500, kind: 'counter' }
 */
export const PlanUsageSchema = Type.Object(
  { metric: MetricNameSchema, every: PlanUsageEvery, kind: PlanUsageKindSchema },
  { additionalProperties: false },
);
export type PlanUsage = Static<typeof PlanUsageSchema>;

/** The usage trigger as a request gives it (`kind` defaults to `counter`). */
export const PlanUsageBody = Type.Object(
  { metric: MetricNameSchema, every: PlanUsageEvery, kind: Type.Optional(PlanUsageKindSchema) },
  { additionalProperties: false },
);
export type PlanUsageBody = Static<typeof PlanUsageBody>;

export const LeadTimeUnits = ['hour', 'day', 'week'] as const;
export type LeadTimeUnit = (typeof LeadTimeUnits)[number];

/**
 * How long before a time-based due date its work order is opened; shorter than the interval. Usage
 * triggers open their work order when the usage is reached (lower `every` to open earlier).
 *
 * @example
 * { amount: 3, unit: 'day' }
 */
export const LeadTimeSchema = Type.Object(
  {
    amount: Type.Integer({ minimum: 0, maximum: 10_000 }),
    unit: Type.Union(
      LeadTimeUnits.map((u) => Type.Literal(u)),
      { description: 'hour, day or week' },
    ),
  },
  { additionalProperties: false },
);
export type LeadTime = Static<typeof LeadTimeSchema>;

export const PlanOccurrenceReasons = ['time', 'usage'] as const;
export type PlanOccurrenceReason = (typeof PlanOccurrenceReasons)[number];

/**
 * One due occurrence of a plan and the one work order it opened (`sourceRef` `<planId>:<occurrence>`).
 * `usage` is the usage counted since the previous occurrence when it opened (null without a usage
 * trigger).
 */
export const PlanOccurrenceSchema = Type.Object({
  occurrence: Type.Integer({ minimum: 1 }),
  workOrderId: Id,
  reason: Type.Union(PlanOccurrenceReasons.map((r) => Type.Literal(r))),
  dueAt: Time,
  usage: Type.Union([Type.Number(), Type.Null()]),
  createdAt: Time,
});
export type PlanOccurrence = Static<typeof PlanOccurrenceSchema>;

const PlanTitle = Type.String({ minLength: 1, maxLength: 200 });
const PlanDescription = Type.String({ maxLength: 4000 });

/**
 * A preventive maintenance plan as the Maintenance API returns it: its triggers, whichever comes
 * first, and where it stands — `nextDueAt` (time trigger) and `opensAt` (`nextDueAt` minus the lead
 * time, when its work order opens), `usageSinceLast` (usage trigger), `lastCounterValue` and
 * `countedUntil` (the event time up to which telemetry was counted: older windows are late and
 * ignored). A single plan (`GET /:id`) comes with its most recent occurrences. `version` counts
 * changes of the definition, not the usage counted from telemetry.
 */
export const MaintenancePlanSchema = Type.Object(
  {
    id: Id,
    assetId: Id,
    title: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    priority: WorkOrderPrioritySchema,
    requiredSkill: Type.Union([Type.String(), Type.Null()]),
    interval: Type.Union([PlanIntervalSchema, Type.Null()]),
    usage: Type.Union([PlanUsageSchema, Type.Null()]),
    leadTime: LeadTimeSchema,
    active: Type.Boolean(),
    startsAt: Time,
    nextDueAt: Type.Union([Time, Type.Null()]),
    opensAt: Type.Union([Time, Type.Null()]),
    usageSinceLast: Type.Union([Type.Number(), Type.Null()]),
    lastCounterValue: Type.Union([Type.Number(), Type.Null()]),
    countedUntil: Type.Union([Time, Type.Null()]),
    occurrences: Type.Integer({ minimum: 0 }),
    version: Type.Integer({ minimum: 1 }),
    createdAt: Time,
    updatedAt: Time,
    recentOccurrences: Type.Optional(Type.Array(PlanOccurrenceSchema)),
  },
  { $id: 'MaintenancePlan' },
);
export type MaintenancePlan = Static<typeof MaintenancePlanSchema>;

/**
 * `POST /api/v1/maintenance-plans`: an `interval`, a `usage` trigger or both (whichever comes first).
 * `startsAt` (default now) is where the interval counts from, e.g. the last service.
 */
export const CreateMaintenancePlanBody = Type.Object(
  {
    assetId: Id,
    title: PlanTitle,
    description: Type.Optional(PlanDescription),
    priority: WorkOrderPrioritySchema,
    requiredSkill: Type.Optional(SkillSchema),
    interval: Type.Optional(PlanIntervalSchema),
    usage: Type.Optional(PlanUsageBody),
    leadTime: Type.Optional(LeadTimeSchema),
    startsAt: Type.Optional(Time),
  },
  { additionalProperties: false },
);
export type CreateMaintenancePlanBody = Static<typeof CreateMaintenancePlanBody>;

/**
 * `PATCH /api/v1/maintenance-plans/:id`: the fields to change; `interval` or `usage` null removes
 * that trigger (one must remain).
 */
export const UpdateMaintenancePlanBody = Type.Object(
  {
    title: Type.Optional(PlanTitle),
    description: Type.Optional(Type.Union([PlanDescription, Type.Null()])),
    priority: Type.Optional(WorkOrderPrioritySchema),
    requiredSkill: Type.Optional(Type.Union([SkillSchema, Type.Null()])),
    interval: Type.Optional(Type.Union([PlanIntervalSchema, Type.Null()])),
    usage: Type.Optional(Type.Union([PlanUsageBody, Type.Null()])),
    leadTime: Type.Optional(LeadTimeSchema),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateMaintenancePlanBody = Static<typeof UpdateMaintenancePlanBody>;

/** `GET /api/v1/maintenance-plans` query string (newest first). */
export const ListMaintenancePlansQuery = Type.Object(
  {
    assetId: Type.Optional(Id),
    active: Type.Optional(Type.Boolean()),
    cursor: Type.Optional(Cursor),
    limit: Type.Optional(Limit),
  },
  { additionalProperties: false },
);
export type ListMaintenancePlansQuery = Static<typeof ListMaintenancePlansQuery>;

export const MaintenancePlanPageSchema = Type.Object({
  items: Type.Array(MaintenancePlanSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type MaintenancePlanPage = Static<typeof MaintenancePlanPageSchema>;
