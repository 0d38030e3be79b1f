import { type Static, Type } from '@sinclair/typebox';
import {
  SkillSchema,
  WorkOrderPrioritySchema,
  WorkOrderSourceSchema,
  WorkOrderStatusSchema,
} from '../events/maintenance.events.js';

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

/** `GET /api/v1/work-orders` query string (newest first). */
export const ListWorkOrdersQuery = Type.Object(
  {
    status: Type.Optional(WorkOrderStatusSchema),
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
