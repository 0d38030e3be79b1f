import { type Static, Type } from '@sinclair/typebox';
import { defineEvent } from '../envelope.js';

/**
 * Metric names: a letter, then letters, digits, `_`, `.`, `-` or `:`; at most 100 characters
 * (`temperature`, `bearing.vibration_rms`, `rpm`).
 */
export const MetricNameSchema = Type.String({
  pattern: '^[A-Za-z][A-Za-z0-9_.:-]{0,99}$',
  description: 'a letter, then letters, digits, _ . - or :, at most 100 characters',
});
export const METRIC_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.:-]{0,99}$/;

/**
 * The aggregate of the readings of one asset and metric accepted since the previous event for the
 * same event-time window (`windowStart`…`windowEnd`, ≤ 1 s by default). Readings arriving late for
 * a window already announced give another event for that window carrying only the new readings,
 * so a consumer that merges the events of a window (min of mins, sum of sums…) gets it exactly.
 * `first`/`last` are the values at `firstTs`/`lastTs`, the earliest and latest reading times.
 */
export const TelemetryAggregated = defineEvent({
  name: 'TelemetryAggregated',
  service: 'telemetry',
  version: 1,
  type: 'assetops.telemetry.aggregated.v1',
  data: Type.Object(
    {
      assetId: Type.String({ format: 'uuid' }),
      metric: MetricNameSchema,
      windowStart: Type.String({ format: 'date-time' }),
      windowEnd: Type.String({ format: 'date-time' }),
      count: Type.Integer({ minimum: 1 }),
      sum: Type.Number(),
      min: Type.Number(),
      max: Type.Number(),
      first: Type.Number(),
      firstTs: Type.String({ format: 'date-time' }),
      last: Type.Number(),
      lastTs: Type.String({ format: 'date-time' }),
    },
    { additionalProperties: false },
  ),
});
export type TelemetryAggregatedData = Static<typeof TelemetryAggregated.data>;

/**
 * Telemetry accepts readings of the asset: its answer to AssetRegistered (`sagaId` null) or to an
 * OnboardingStepRequested of the onboarding saga (`sagaId` of the request).
 */
export const TelemetryStreamInitialized = defineEvent({
  name: 'TelemetryStreamInitialized',
  service: 'telemetry',
  version: 1,
  type: 'assetops.telemetry.stream-initialized.v1',
  data: Type.Object(
    {
      assetId: Type.String({ format: 'uuid' }),
      sagaId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
      at: Type.String({ format: 'date-time' }),
    },
    { additionalProperties: false },
  ),
});
export type TelemetryStreamInitializedData = Static<typeof TelemetryStreamInitialized.data>;

/**
 * Telemetry no longer accepts readings of the asset (they are rejected `INGESTION_CLOSED`); the
 * answer to an OnboardingCompensationRequested (`sagaId` of the request).
 */
export const TelemetryStreamClosed = defineEvent({
  name: 'TelemetryStreamClosed',
  service: 'telemetry',
  version: 1,
  type: 'assetops.telemetry.stream-closed.v1',
  data: Type.Object(
    {
      assetId: Type.String({ format: 'uuid' }),
      sagaId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
      at: Type.String({ format: 'date-time' }),
    },
    { additionalProperties: false },
  ),
});
export type TelemetryStreamClosedData = Static<typeof TelemetryStreamClosed.data>;

const SagaReply = Type.Object(
  {
    assetId: Type.String({ format: 'uuid' }),
    sagaId: Type.String({ format: 'uuid' }),
    at: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

/**
 * Telemetry holds the asset's readings back for a decommissioning saga (`sagaId`): they are
 * rejected `ASSET_DECOMMISSIONING`. The answer to a DecommissioningStepRequested (step telemetry).
 *
 * @example
 * { assetId, sagaId, at: '2026-01-01T00:00:00.000Z' }
 */
export const TelemetryIngestionStopped = defineEvent({
  name: 'TelemetryIngestionStopped',
  service: 'telemetry',
  version: 1,
  type: 'assetops.telemetry.ingestion-stopped.v1',
  data: SagaReply,
});
export type TelemetryIngestionStoppedData = Static<typeof TelemetryIngestionStopped.data>;

/**
 * Telemetry lifted the hold of the decommissioning saga `sagaId`: readings of the asset are accepted
 * again (unless something else closed them). The answer to a DecommissioningCompensationRequested.
 */
export const TelemetryIngestionReopened = defineEvent({
  name: 'TelemetryIngestionReopened',
  service: 'telemetry',
  version: 1,
  type: 'assetops.telemetry.ingestion-reopened.v1',
  data: SagaReply,
});
export type TelemetryIngestionReopenedData = Static<typeof TelemetryIngestionReopened.data>;

export const telemetryEvents = [
  TelemetryAggregated,
  TelemetryStreamInitialized,
  TelemetryStreamClosed,
  TelemetryIngestionStopped,
  TelemetryIngestionReopened,
] as const;
