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
 * The aggregate of the readings of one metric accepted since the previous event for the same
 * asset and event-time window. `first`/`last` are the values at `firstTs`/`lastTs`, the earliest
 * and latest reading times.
 */
export const MetricWindowSchema = Type.Object(
  {
    metric: MetricNameSchema,
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
);
export type MetricWindow = Static<typeof MetricWindowSchema>;

/**
 * The aggregates of the readings of one asset accepted since the previous event for the same
 * event-time window (`windowStart`…`windowEnd`, ≤ 1 s by default): one entry per metric that had
 * readings, each metric at most once. A device's message of ten metrics is one event per window,
 * not ten. Readings arriving late for a window already announced give another event for that
 * window carrying only the new readings, so a consumer that merges the events of a window and
 * metric (min of mins, sum of sums…) gets it exactly. Consumers that work per metric read the
 * event through {@link telemetryWindows}.
 *
 * Version 2: version 1 carried one metric per event (the fields of {@link TelemetryWindow}).
 */
export const TelemetryAggregated = defineEvent({
  name: 'TelemetryAggregated',
  service: 'telemetry',
  version: 2,
  type: 'assetops.telemetry.aggregated.v2',
  data: Type.Object(
    {
      assetId: Type.String({ format: 'uuid' }),
      windowStart: Type.String({ format: 'date-time' }),
      windowEnd: Type.String({ format: 'date-time' }),
      metrics: Type.Array(MetricWindowSchema, { minItems: 1 }),
    },
    { additionalProperties: false },
  ),
});
export type TelemetryAggregatedData = Static<typeof TelemetryAggregated.data>;

/**
 * The entry of a metric with one reading in the window (count 1, every aggregate that value).
 *
 * @example
 * metricWindowOfReading('rpm', 1480, '2026-03-02T10:00:01.250Z');
 */
export function metricWindowOfReading(metric: string, value: number, ts: string): MetricWindow {
  return {
    metric,
    count: 1,
    sum: value,
    min: value,
    max: value,
    first: value,
    firstTs: ts,
    last: value,
    lastTs: ts,
  };
}

/** One metric of one asset in one window: a TelemetryAggregated event seen per metric. */
export interface TelemetryWindow extends MetricWindow {
  assetId: string;
  windowStart: string;
  windowEnd: string;
}

/**
 * The windows of a TelemetryAggregated event, one per metric, in the event's order.
 *
 * @example
 * telemetryWindows({ assetId, windowStart, windowEnd, metrics: [{ metric: 'rpm', … }, { metric: 'temperature', … }] });
 * // [{ assetId, windowStart, windowEnd, metric: 'rpm', … }, { assetId, windowStart, windowEnd, metric: 'temperature', … }]
 */
export function telemetryWindows(data: TelemetryAggregatedData): TelemetryWindow[] {
  return data.metrics.map((m) => ({
    assetId: data.assetId,
    windowStart: data.windowStart,
    windowEnd: data.windowEnd,
    ...m,
  }));
}

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
