import { type Static, Type } from '@sinclair/typebox';
import { MetricNameSchema } from '../events/telemetry.events.js';

/** The MQTT topic filter of device telemetry: devices publish to `assetops/<assetId>/telemetry`. */
export const DEVICE_TELEMETRY_TOPIC = 'assetops/+/telemetry';

/**
 * One reading as a client sends it. Validation of each reading happens in the service (so that one
 * bad reading is rejected with its index and reason while the others are stored); the body schema
 * only checks the envelope.
 */
export const ReadingInputSchema = Type.Object(
  {
    assetId: Type.String({ description: 'the asset (UUID)' }),
    metric: Type.String({ description: 'metric name, e.g. temperature' }),
    value: Type.Unknown({ description: 'a finite number' }),
    ts: Type.Optional(
      Type.Unknown({ description: 'RFC 3339 time or epoch milliseconds; defaults to the time of receipt' }),
    ),
  },
  { additionalProperties: true },
);

/** `POST /api/v1/telemetry` with `content-type: application/json`. */
export const IngestBody = Type.Object(
  { readings: Type.Array(Type.Unknown(), { maxItems: 10_000 }) },
  { additionalProperties: false },
);
export type IngestBody = Static<typeof IngestBody>;

export const RejectedReadingSchema = Type.Object(
  {
    index: Type.Integer({ minimum: 0, description: 'position of the reading in the request' }),
    code: Type.String({ description: 'stable reason code, e.g. UNKNOWN_ASSET' }),
    reason: Type.String(),
  },
  { $id: 'RejectedReading' },
);
export type RejectedReading = Static<typeof RejectedReadingSchema>;

/**
 * The answer to an ingest request: every accepted reading is durable when it is sent. `duplicates`
 * counts accepted readings that were already stored (same asset, metric and time; the first value
 * is kept).
 */
export const IngestResultSchema = Type.Object(
  {
    accepted: Type.Integer({ minimum: 0 }),
    duplicates: Type.Integer({ minimum: 0 }),
    rejected: Type.Array(RejectedReadingSchema),
  },
  { $id: 'IngestResult' },
);
export type IngestResult = Static<typeof IngestResultSchema>;

export const Aggregations = ['avg', 'min', 'max', 'sum', 'count', 'first', 'last'] as const;
export type Aggregation = (typeof Aggregations)[number];

/**
 * `GET /api/v1/assets/:id/telemetry`. `from`/`to` default to the last 24 hours; buckets are aligned
 * to UTC (weeks start on Monday, months on the 1st) and the range is widened to whole buckets.
 * Without `bucket` one is chosen that gives at most about 1,000 points per metric.
 */
export const TelemetryQuerySchema = Type.Object(
  {
    metric: Type.Array(Type.String({ maxLength: 2100 }), {
      minItems: 1,
      maxItems: 20,
      description: 'one metric or several: repeat the parameter, or separate names with commas',
    }),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    bucket: Type.Optional(
      Type.String({
        pattern: '^(raw|auto|[1-9][0-9]{0,5}(s|m|h|d|w|mo))$',
        description:
          'raw (the readings themselves), auto, or a bucket width from 1s to 1mo: 10s, 1m, 15m, 1h, 1d, 1w, 1mo',
      }),
    ),
    agg: Type.Optional(
      Type.Union(
        Aggregations.map((a) => Type.Literal(a)),
        { description: 'default avg' },
      ),
    ),
  },
  { additionalProperties: false },
);
export type TelemetryQuery = Static<typeof TelemetryQuerySchema>;

export const TelemetryPointSchema = Type.Object({
  ts: Type.String({ format: 'date-time', description: 'the bucket start (or the reading time for raw)' }),
  value: Type.Union([Type.Number(), Type.Null()]),
});

export const TelemetrySeriesSchema = Type.Object({
  metric: MetricNameSchema,
  points: Type.Array(TelemetryPointSchema),
});

export const TelemetryQueryResultSchema = Type.Object(
  {
    assetId: Type.String({ format: 'uuid' }),
    from: Type.String({ format: 'date-time' }),
    to: Type.String({ format: 'date-time' }),
    bucket: Type.String(),
    agg: Type.String(),
    /** The stored tier the answer was computed from: raw, 1m, 1h or 1d. */
    tier: Type.String(),
    series: Type.Array(TelemetrySeriesSchema),
  },
  { $id: 'TelemetryQueryResult' },
);
export type TelemetryQueryResult = Static<typeof TelemetryQueryResultSchema>;

export const LatestValueSchema = Type.Object({
  metric: MetricNameSchema,
  ts: Type.String({ format: 'date-time' }),
  value: Type.Number(),
});

/** `GET /api/v1/assets/:id/telemetry/latest` */
export const LatestValuesSchema = Type.Object(
  { assetId: Type.String({ format: 'uuid' }), values: Type.Array(LatestValueSchema) },
  { $id: 'LatestValues' },
);
export type LatestValues = Static<typeof LatestValuesSchema>;
