import { type Static, type TSchema, Type } from '@sinclair/typebox';

/**
 * The sagas a service runs; the Asset service runs `onboarding` for every new asset and
 * `decommissioning` when an asset is taken out of service.
 */
export const SagaTypes = ['onboarding', 'decommissioning'] as const;
export type SagaType = (typeof SagaTypes)[number];
export const SagaTypeSchema = Type.Union(
  SagaTypes.map((t) => Type.Literal(t)),
  { description: 'onboarding or decommissioning' },
);

/**
 * Where a saga is: `running` (waiting for its steps), `compensating` (undoing them in reverse
 * order), `completed`, `failed` (compensated), or `needs_attention` — it cannot go on by itself
 * and waits for a person to `retry` or `skip` (never silently stuck).
 */
export const SagaStatuses = ['running', 'compensating', 'completed', 'failed', 'needs_attention'] as const;
export type SagaStatus = (typeof SagaStatuses)[number];
export const SagaStatusSchema = Type.Union(
  SagaStatuses.map((s) => Type.Literal(s)),
  { description: 'running, compensating, completed, failed or needs_attention' },
);

/**
 * Where one step is: `pending` (requested, or not yet reached), `done`, then possibly
 * `compensating`, `compensated` or `skipped`; `refused` when its participant said no (and changed
 * nothing).
 */
export const SagaStepStatuses = [
  'pending',
  'done',
  'compensating',
  'compensated',
  'skipped',
  'refused',
] as const;
export type SagaStepStatus = (typeof SagaStepStatuses)[number];

/** What a person can do about a saga in `needs_attention`. */
export const SagaActions = ['retry', 'skip'] as const;
export type SagaAction = (typeof SagaActions)[number];

const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/**
 * A saga as the API returns it. `step` is the step it waits on (null when over), `attempts` how
 * many times that wait's request was sent, `deadline` when it times out; `reason` says why the
 * saga failed, `attention` why it needs a person; `actions` are what may be done now.
 */
export const SagaSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  type: SagaTypeSchema,
  assetId: Type.String({ format: 'uuid' }),
  status: SagaStatusSchema,
  step: Nullable(Type.String()),
  steps: Type.Array(
    Type.Object({
      name: Type.String(),
      status: Type.Union(SagaStepStatuses.map((s) => Type.Literal(s))),
    }),
  ),
  attempts: Type.Integer({ minimum: 0 }),
  deadline: Nullable(Time),
  reason: Nullable(Type.String()),
  attention: Nullable(Type.String()),
  /**
   * What the saga was started with, by type; decommissioning: `{ force, note, formerStatus }`
   * (the status the asset goes back to when the saga is called off). Null for onboarding.
   */
  input: Nullable(Type.Record(Type.String(), Type.Unknown())),
  actions: Type.Array(Type.Union(SagaActions.map((a) => Type.Literal(a)))),
  version: Type.Integer({ minimum: 1 }),
  createdAt: Time,
  updatedAt: Time,
});
export type Saga = Static<typeof SagaSchema>;

/**
 * One entry of a saga's history: on which `step` (a participant, or `asset` for the asset's own
 * status change), which `action` (`initialize`, `compensate`, `activate`, `mark_failed`) and its
 * `outcome` (`requested`, `confirmed`, `timed_out`, `retried`, `skipped`, `done`, `unchanged`).
 * Decommissioning adds the actions `execute` (a participant's step), `hold` (the asset moved to
 * decommissioning), `decommission` and `restore` (the asset back to its former status), and the
 * outcome `refused`.
 */
export const SagaHistoryEntrySchema = Type.Object({
  seq: Type.Integer({ minimum: 1 }),
  step: Type.String(),
  action: Type.String(),
  outcome: Type.String(),
  at: Time,
  detail: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});
export type SagaHistoryEntry = Static<typeof SagaHistoryEntrySchema>;

/** `GET /api/v1/sagas/:id`: the saga with its whole history, oldest first. */
export const SagaDetailSchema = Type.Object({
  ...SagaSchema.properties,
  history: Type.Array(SagaHistoryEntrySchema),
});
export type SagaDetail = Static<typeof SagaDetailSchema>;

/** `GET /api/v1/sagas` query string (newest first, cursor pagination). */
export const ListSagasQuery = Type.Object(
  {
    assetId: Type.Optional(Type.String({ format: 'uuid' })),
    status: Type.Optional(SagaStatusSchema),
    type: Type.Optional(SagaTypeSchema),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  },
  { additionalProperties: false },
);
export type ListSagasQuery = Static<typeof ListSagasQuery>;

/** A page of sagas (without their history); `nextCursor` is null on the last page. */
export const SagaPageSchema = Type.Object({
  items: Type.Array(SagaSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type SagaPage = Static<typeof SagaPageSchema>;
