import { type Static, Type } from '@sinclair/typebox';
import { defineEvent } from '../envelope.js';

/**
 * The lifecycle states of an asset. `commissioning_failed` is where onboarding leaves an asset whose
 * set-up could not complete; `decommissioned` is terminal.
 */
export const AssetStatuses = [
  'commissioning',
  'commissioning_failed',
  'active',
  'maintenance',
  'decommissioning',
  'decommissioned',
] as const;
export type AssetStatus = (typeof AssetStatuses)[number];
export const AssetStatusSchema = Type.Union(
  AssetStatuses.map((s) => Type.Literal(s)),
  { $id: 'AssetStatus' },
);

/** Asset types are free-form lower-case identifiers (`pump`, `compressor`, `gas-turbine`). */
export const AssetTypeSchema = Type.String({
  pattern: '^[a-z][a-z0-9_-]{0,63}$',
  description: 'lower-case identifier, e.g. pump',
});
export const AssetNameSchema = Type.String({ minLength: 1, maxLength: 200 });
export const AssetLocationSchema = Type.String({ minLength: 1, maxLength: 500 });
export const AssetMetadataSchema = Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), {
  description: 'free-form JSON object (manufacturer, model, serial number, …)',
});

/**
 * Emitted once when an asset is registered.
 *
 * @example
 * { assetId, name: 'Feed pump 1', type: 'pump', location: 'Plant A', metadata: {}, status: 'commissioning',
 *   registeredAt: '2026-01-01T00:00:00.000Z' }
 */
export const AssetRegistered = defineEvent({
  name: 'AssetRegistered',
  service: 'asset',
  version: 1,
  type: 'assetops.asset.registered.v1',
  data: Type.Object(
    {
      assetId: Type.String({ format: 'uuid' }),
      name: AssetNameSchema,
      type: AssetTypeSchema,
      location: Type.Union([AssetLocationSchema, Type.Null()]),
      metadata: AssetMetadataSchema,
      status: AssetStatusSchema,
      registeredAt: Type.String({ format: 'date-time' }),
    },
    { additionalProperties: false },
  ),
});
export type AssetRegisteredData = Static<typeof AssetRegistered.data>;

/**
 * Emitted when an asset's descriptive fields change; `changes` holds only the fields that changed,
 * with their new values (`location: null` means it was removed). `version` is the asset's version
 * after the change, so a consumer can ignore an older update.
 */
export const AssetUpdated = defineEvent({
  name: 'AssetUpdated',
  service: 'asset',
  version: 1,
  type: 'assetops.asset.updated.v1',
  data: Type.Object(
    {
      assetId: Type.String({ format: 'uuid' }),
      changes: Type.Object(
        {
          name: Type.Optional(AssetNameSchema),
          location: Type.Optional(Type.Union([AssetLocationSchema, Type.Null()])),
          metadata: Type.Optional(AssetMetadataSchema),
        },
        { additionalProperties: false },
      ),
      version: Type.Integer({ minimum: 1 }),
      updatedAt: Type.String({ format: 'date-time' }),
    },
    { additionalProperties: false },
  ),
});
export type AssetUpdatedData = Static<typeof AssetUpdated.data>;

/** Emitted on every lifecycle transition, with the state it left and the reason given. */
export const AssetStatusChanged = defineEvent({
  name: 'AssetStatusChanged',
  service: 'asset',
  version: 1,
  type: 'assetops.asset.status-changed.v1',
  data: Type.Object(
    {
      assetId: Type.String({ format: 'uuid' }),
      assetType: AssetTypeSchema,
      from: AssetStatusSchema,
      to: AssetStatusSchema,
      reason: Type.Union([Type.String({ maxLength: 1000 }), Type.Null()]),
      version: Type.Integer({ minimum: 1 }),
      changedAt: Type.String({ format: 'date-time' }),
    },
    { additionalProperties: false },
  ),
});
export type AssetStatusChangedData = Static<typeof AssetStatusChanged.data>;

/**
 * The steps of the onboarding saga the Asset service runs for a new asset, in action order:
 * Telemetry opens the asset's stream, Alert creates its default thresholds. Compensations run in
 * the reverse order.
 */
export const OnboardingSteps = ['telemetry', 'alert'] as const;
export type OnboardingStep = (typeof OnboardingSteps)[number];
export const OnboardingStepSchema = Type.Union(
  OnboardingSteps.map((s) => Type.Literal(s)),
  { description: 'telemetry or alert' },
);

/**
 * The onboarding saga asks a participant (again) to set the asset up: its confirmation did not
 * arrive in time (`attempt` > 1), or the asset is being commissioned anew. A participant that has
 * already done it answers with its confirmation again; one that has not does it now.
 *
 * @example
 * { sagaId, assetId, assetType: 'pump', step: 'alert', attempt: 2 }
 */
export const OnboardingStepRequested = defineEvent({
  name: 'OnboardingStepRequested',
  service: 'asset',
  version: 1,
  type: 'assetops.asset.onboarding-step-requested.v1',
  data: Type.Object(
    {
      sagaId: Type.String({ format: 'uuid' }),
      assetId: Type.String({ format: 'uuid' }),
      assetType: AssetTypeSchema,
      step: OnboardingStepSchema,
      attempt: Type.Integer({ minimum: 1 }),
    },
    { additionalProperties: false },
  ),
});
export type OnboardingStepRequestedData = Static<typeof OnboardingStepRequested.data>;

/**
 * The onboarding saga gave up and asks a participant to undo its step (Telemetry closes ingestion
 * for the asset, Alert removes the profile rules it created). Idempotent on the participant's side:
 * undoing twice, or what was never done, still answers with a confirmation.
 *
 * @example
 * { sagaId, assetId, assetType: 'pump', step: 'telemetry', attempt: 1, reason: 'alert did not confirm after 3 attempts' }
 */
export const OnboardingCompensationRequested = defineEvent({
  name: 'OnboardingCompensationRequested',
  service: 'asset',
  version: 1,
  type: 'assetops.asset.onboarding-compensation-requested.v1',
  data: Type.Object(
    {
      sagaId: Type.String({ format: 'uuid' }),
      assetId: Type.String({ format: 'uuid' }),
      assetType: AssetTypeSchema,
      step: OnboardingStepSchema,
      attempt: Type.Integer({ minimum: 1 }),
      reason: Type.String({ maxLength: 1000 }),
    },
    { additionalProperties: false },
  ),
});
export type OnboardingCompensationRequestedData = Static<typeof OnboardingCompensationRequested.data>;

/**
 * The steps of the decommissioning saga the Asset service runs on `POST /assets/:id/decommission`,
 * in action order, one at a time: Maintenance withdraws (cancels open work orders, deactivates
 * plans; it may refuse), Alert disables the asset's rules and clears its alerts, Telemetry stops
 * ingestion. Compensations run in the reverse order.
 */
export const DecommissioningSteps = ['maintenance', 'alert', 'telemetry'] as const;
export type DecommissioningStep = (typeof DecommissioningSteps)[number];
export const DecommissioningStepSchema = Type.Union(
  DecommissioningSteps.map((s) => Type.Literal(s)),
  { description: 'maintenance, alert or telemetry' },
);

/**
 * The decommissioning saga asks a participant to take its part of the asset out of service
 * (`attempt` > 1: asked again after no answer in time). `force` lets Maintenance cancel work in
 * progress instead of refusing; `note` is the reason the person gave. A participant that has done
 * it already answers with its confirmation again.
 *
 * @example
 * { sagaId, assetId, assetType: 'pump', step: 'maintenance', attempt: 1, force: false, note: 'replaced' }
 */
export const DecommissioningStepRequested = defineEvent({
  name: 'DecommissioningStepRequested',
  service: 'asset',
  version: 1,
  type: 'assetops.asset.decommissioning-step-requested.v1',
  data: Type.Object(
    {
      sagaId: Type.String({ format: 'uuid' }),
      assetId: Type.String({ format: 'uuid' }),
      assetType: AssetTypeSchema,
      step: DecommissioningStepSchema,
      attempt: Type.Integer({ minimum: 1 }),
      force: Type.Boolean(),
      note: Type.Union([Type.String({ maxLength: 1000 }), Type.Null()]),
    },
    { additionalProperties: false },
  ),
});
export type DecommissioningStepRequestedData = Static<typeof DecommissioningStepRequested.data>;

/**
 * The decommissioning saga was called off (a refusal, a timeout) and asks a participant to undo
 * what this saga made it do: Telemetry reopens ingestion, Alert re-enables the rules it disabled,
 * Maintenance reactivates the plans it deactivated. Idempotent on the participant's side: undoing
 * twice, or what was never done, still answers with a confirmation.
 *
 * @example
 * { sagaId, assetId, assetType: 'pump', step: 'alert', attempt: 1, reason: 'telemetry did not confirm after 3 attempts' }
 */
export const DecommissioningCompensationRequested = defineEvent({
  name: 'DecommissioningCompensationRequested',
  service: 'asset',
  version: 1,
  type: 'assetops.asset.decommissioning-compensation-requested.v1',
  data: Type.Object(
    {
      sagaId: Type.String({ format: 'uuid' }),
      assetId: Type.String({ format: 'uuid' }),
      assetType: AssetTypeSchema,
      step: DecommissioningStepSchema,
      attempt: Type.Integer({ minimum: 1 }),
      reason: Type.String({ maxLength: 1000 }),
    },
    { additionalProperties: false },
  ),
});
export type DecommissioningCompensationRequestedData = Static<
  typeof DecommissioningCompensationRequested.data
>;

export const assetEvents = [
  AssetRegistered,
  AssetUpdated,
  AssetStatusChanged,
  OnboardingStepRequested,
  OnboardingCompensationRequested,
  DecommissioningStepRequested,
  DecommissioningCompensationRequested,
] as const;
