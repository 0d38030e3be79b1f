import { type Static, Type } from '@sinclair/typebox';
import { SeveritySchema } from '../events/alert.events.js';
import { AssetTypeSchema } from '../events/asset.events.js';
import { MetricNameSchema } from '../events/telemetry.events.js';

const Finite = Type.Number({ minimum: -1e15, maximum: 1e15 });
const Seconds = Type.Number({ minimum: 0, maximum: 30 * 86_400 });

/**
 * What a rule watches for:
 * - `above` / `below` a threshold (any reading beyond it);
 * - `outside` / `inside` a range `[low, high]`;
 * - `rate_above`: the value changes faster than `perSecond` units per second (either direction);
 * - `no_data`: no reading of the metric for `seconds`.
 */
export const ConditionSchema = Type.Union(
  [
    Type.Object(
      { kind: Type.Union([Type.Literal('above'), Type.Literal('below')]), threshold: Finite },
      { additionalProperties: false },
    ),
    Type.Object(
      { kind: Type.Union([Type.Literal('outside'), Type.Literal('inside')]), low: Finite, high: Finite },
      { additionalProperties: false },
    ),
    Type.Object(
      { kind: Type.Literal('rate_above'), perSecond: Type.Number({ exclusiveMinimum: 0, maximum: 1e15 }) },
      { additionalProperties: false },
    ),
    Type.Object(
      { kind: Type.Literal('no_data'), seconds: Type.Number({ minimum: 1, maximum: 30 * 86_400 }) },
      { additionalProperties: false },
    ),
  ],
  { description: 'the condition (no $id: it is nested in several schemas of one document)' },
);
export type Condition = Static<typeof ConditionSchema>;

/**
 * Hysteresis: the alert clears only once every reading is back on the clear side of `threshold`
 * (above/below/rate), or of `[low, high]` (outside/inside), instead of the firing threshold.
 */
export const ClearSchema = Type.Object(
  { threshold: Type.Optional(Finite), low: Type.Optional(Finite), high: Type.Optional(Finite) },
  { additionalProperties: false },
);
export type ClearCondition = Static<typeof ClearSchema>;

export const EscalationSchema = Type.Object(
  { severity: SeveritySchema, afterSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 30 * 86_400 }) },
  { additionalProperties: false },
);

/** The fields a client sets on a rule. Exactly one of `assetId` and `assetType` is required. */
const ruleFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  assetId: Type.Optional(Type.Union([Type.String({ format: 'uuid' }), Type.Null()])),
  assetType: Type.Optional(Type.Union([AssetTypeSchema, Type.Null()])),
  metric: MetricNameSchema,
  condition: ConditionSchema,
  severity: SeveritySchema,
  forSeconds: Type.Optional(Seconds),
  clear: Type.Optional(Type.Union([ClearSchema, Type.Null()])),
  keepFiringSeconds: Type.Optional(Seconds),
  escalation: Type.Optional(Type.Union([EscalationSchema, Type.Null()])),
  enabled: Type.Optional(Type.Boolean()),
};

/** `POST /api/v1/alert-rules` */
export const CreateRuleBody = Type.Object(ruleFields, { additionalProperties: false });
export type CreateRuleBody = Static<typeof CreateRuleBody>;

/** `PATCH /api/v1/alert-rules/:id`: the fields to change (the target is fixed). */
export const UpdateRuleBody = Type.Object(
  {
    name: Type.Optional(ruleFields.name),
    condition: Type.Optional(ConditionSchema),
    severity: Type.Optional(SeveritySchema),
    forSeconds: ruleFields.forSeconds,
    clear: ruleFields.clear,
    keepFiringSeconds: ruleFields.keepFiringSeconds,
    escalation: ruleFields.escalation,
    enabled: ruleFields.enabled,
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateRuleBody = Static<typeof UpdateRuleBody>;

export const AlertRuleSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    assetId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
    assetType: Type.Union([Type.String(), Type.Null()]),
    metric: MetricNameSchema,
    condition: ConditionSchema,
    severity: SeveritySchema,
    forSeconds: Type.Number(),
    clear: Type.Union([ClearSchema, Type.Null()]),
    keepFiringSeconds: Type.Number(),
    escalation: Type.Union([EscalationSchema, Type.Null()]),
    enabled: Type.Boolean(),
    /** `user`, or the profile that created it (`profile:pump`). */
    origin: Type.String(),
    version: Type.Integer(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'AlertRule' },
);
export type AlertRule = Static<typeof AlertRuleSchema>;

export const AlertStatuses = ['pending', 'firing', 'acknowledged', 'cleared', 'suppressed'] as const;
export type AlertStatus = (typeof AlertStatuses)[number];
export const AlertStatusSchema = Type.Union(AlertStatuses.map((s) => Type.Literal(s)));

export const AlertTransitionSchema = Type.Object({
  status: Type.String({ description: 'the state entered, or `escalated`' }),
  at: Type.String({
    format: 'date-time',
    description: 'event time (reading time), or the time of the action',
  }),
  value: Type.Union([Type.Number(), Type.Null()]),
  cause: Type.String(),
  severity: SeveritySchema,
});

export const AlertSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    ruleId: Type.String({ format: 'uuid' }),
    ruleName: Type.String(),
    assetId: Type.String({ format: 'uuid' }),
    metric: MetricNameSchema,
    status: AlertStatusSchema,
    severity: SeveritySchema,
    episode: Type.Integer(),
    value: Type.Union([Type.Number(), Type.Null()]),
    startedAt: Type.String({ format: 'date-time' }),
    raisedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    acknowledgedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    acknowledgedBy: Type.Union([Type.String(), Type.Null()]),
    clearedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    history: Type.Optional(Type.Array(AlertTransitionSchema)),
  },
  { $id: 'Alert' },
);
export type Alert = Static<typeof AlertSchema>;

export const ListAlertsQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Union([AlertStatusSchema, Type.Literal('active')], {
        description: 'active = pending, firing or acknowledged',
      }),
    ),
    assetId: Type.Optional(Type.String({ format: 'uuid' })),
    severity: Type.Optional(SeveritySchema),
    ruleId: Type.Optional(Type.String({ format: 'uuid' })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  },
  { additionalProperties: false },
);
export type ListAlertsQuery = Static<typeof ListAlertsQuery>;

export const AlertPageSchema = Type.Object({
  items: Type.Array(AlertSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const AcknowledgeBody = Type.Object(
  {
    by: Type.String({ minLength: 1, maxLength: 200 }),
    comment: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type AcknowledgeBody = Static<typeof AcknowledgeBody>;
