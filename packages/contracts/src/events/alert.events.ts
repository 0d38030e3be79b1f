import { type Static, Type } from '@sinclair/typebox';
import { defineEvent } from '../envelope.js';
import { AssetTypeSchema } from './asset.events.js';
import { MetricNameSchema } from './telemetry.events.js';

export const Severities = ['info', 'warning', 'major', 'critical'] as const;
export type Severity = (typeof Severities)[number];
// No `$id`: the schema is nested several times in one document (a rule's severity and its
// escalation's), and Ajv refuses an `$id` that occurs twice.
export const SeveritySchema = Type.Union(Severities.map((s) => Type.Literal(s)));

const Id = Type.String({ format: 'uuid' });
const Time = Type.String({ format: 'date-time' });

/**
 * An alert started firing (its pending period, if any, is over). `at` is the event time (the time
 * of the readings that crossed), `value` the value that crossed, `episode` counts the alert's
 * episodes for this rule and asset.
 */
export const AlertRaised = defineEvent({
  name: 'AlertRaised',
  service: 'alert',
  version: 1,
  type: 'assetops.alert.raised.v1',
  data: Type.Object(
    {
      alertId: Id,
      ruleId: Id,
      ruleName: Type.String(),
      assetId: Id,
      metric: MetricNameSchema,
      severity: SeveritySchema,
      value: Type.Union([Type.Number(), Type.Null()]),
      condition: Type.String({ description: 'the rule condition in words, e.g. temperature > 90' }),
      at: Time,
      episode: Type.Integer({ minimum: 1 }),
    },
    { additionalProperties: false },
  ),
});
export type AlertRaisedData = Static<typeof AlertRaised.data>;

/** A firing alert's severity was raised after its condition held for the escalation period. */
export const AlertEscalated = defineEvent({
  name: 'AlertEscalated',
  service: 'alert',
  version: 1,
  type: 'assetops.alert.escalated.v1',
  data: Type.Object(
    { alertId: Id, ruleId: Id, assetId: Id, from: SeveritySchema, to: SeveritySchema, at: Time },
    { additionalProperties: false },
  ),
});
export type AlertEscalatedData = Static<typeof AlertEscalated.data>;

export const AlertAcknowledged = defineEvent({
  name: 'AlertAcknowledged',
  service: 'alert',
  version: 1,
  type: 'assetops.alert.acknowledged.v1',
  data: Type.Object(
    {
      alertId: Id,
      ruleId: Id,
      assetId: Id,
      severity: SeveritySchema,
      by: Type.String({ minLength: 1, maxLength: 200 }),
      comment: Type.Union([Type.String({ maxLength: 2000 }), Type.Null()]),
      at: Time,
    },
    { additionalProperties: false },
  ),
});
export type AlertAcknowledgedData = Static<typeof AlertAcknowledged.data>;

/** A raised alert ended: its condition cleared (`cause`), or its rule or asset went away. */
export const AlertCleared = defineEvent({
  name: 'AlertCleared',
  service: 'alert',
  version: 1,
  type: 'assetops.alert.cleared.v1',
  data: Type.Object(
    {
      alertId: Id,
      ruleId: Id,
      assetId: Id,
      severity: SeveritySchema,
      value: Type.Union([Type.Number(), Type.Null()]),
      cause: Type.String(),
      at: Time,
    },
    { additionalProperties: false },
  ),
});
export type AlertClearedData = Static<typeof AlertCleared.data>;

/**
 * The default rules of an asset's type profile exist for the asset: created on AssetRegistered, or
 * (again) on an OnboardingStepRequested of the onboarding saga, whose id is then `sagaId` (absent
 * or null for the answer to AssetRegistered). `ruleIds` are the asset's profile rules.
 */
export const ThresholdsInitialized = defineEvent({
  name: 'ThresholdsInitialized',
  service: 'alert',
  version: 1,
  type: 'assetops.alert.thresholds-initialized.v1',
  data: Type.Object(
    {
      assetId: Id,
      assetType: AssetTypeSchema,
      profile: Type.Union([Type.String(), Type.Null()]),
      ruleIds: Type.Array(Id),
      sagaId: Type.Optional(Type.Union([Id, Type.Null()])),
    },
    { additionalProperties: false },
  ),
});
export type ThresholdsInitializedData = Static<typeof ThresholdsInitialized.data>;

/**
 * The profile rules Alert had created for the asset were removed (their open alerts cleared): the
 * answer to an OnboardingCompensationRequested (`sagaId` of the request). `ruleIds` may be empty.
 */
export const ThresholdsRemoved = defineEvent({
  name: 'ThresholdsRemoved',
  service: 'alert',
  version: 1,
  type: 'assetops.alert.thresholds-removed.v1',
  data: Type.Object(
    { assetId: Id, sagaId: Type.Union([Id, Type.Null()]), ruleIds: Type.Array(Id), at: Time },
    { additionalProperties: false },
  ),
});
export type ThresholdsRemovedData = Static<typeof ThresholdsRemoved.data>;

/**
 * Alert took the asset out of alerting for a decommissioning saga (`sagaId`): `ruleIds` are the
 * asset's rules it disabled (all the asset's rules disabled by this saga, on a repeated request),
 * `clearedAlerts` how many active alerts it cleared (each raised one with an AlertCleared). Rules
 * of a whole asset type are left alone: they serve other assets. The answer to a
 * DecommissioningStepRequested (step alert).
 *
 * @example
 * { assetId, sagaId, ruleIds: [ruleId], clearedAlerts: 1, at: '2026-01-01T00:00:00.000Z' }
 */
export const AssetAlertingDisabled = defineEvent({
  name: 'AssetAlertingDisabled',
  service: 'alert',
  version: 1,
  type: 'assetops.alert.asset-alerting-disabled.v1',
  data: Type.Object(
    {
      assetId: Id,
      sagaId: Id,
      ruleIds: Type.Array(Id),
      clearedAlerts: Type.Integer({ minimum: 0 }),
      at: Time,
    },
    { additionalProperties: false },
  ),
});
export type AssetAlertingDisabledData = Static<typeof AssetAlertingDisabled.data>;

/**
 * Alert re-enabled exactly the rules the decommissioning saga `sagaId` had disabled (`ruleIds`,
 * empty when there was nothing left to undo). The answer to a DecommissioningCompensationRequested.
 */
export const AssetAlertingRestored = defineEvent({
  name: 'AssetAlertingRestored',
  service: 'alert',
  version: 1,
  type: 'assetops.alert.asset-alerting-restored.v1',
  data: Type.Object(
    { assetId: Id, sagaId: Id, ruleIds: Type.Array(Id), at: Time },
    { additionalProperties: false },
  ),
});
export type AssetAlertingRestoredData = Static<typeof AssetAlertingRestored.data>;

export const alertEvents = [
  AlertRaised,
  AlertEscalated,
  AlertAcknowledged,
  AlertCleared,
  ThresholdsInitialized,
  ThresholdsRemoved,
  AssetAlertingDisabled,
  AssetAlertingRestored,
] as const;
