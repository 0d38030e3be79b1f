import { type Static, Type } from '@sinclair/typebox';

/**
 * A message a service's consumer gave up on (an event whose handler kept failing), or a device
 * payload it could not accept: why, after how many attempts, and whether it was redriven. Every
 * service serves its own under `/api/v1/ops/<service>/dead-letters`.
 *
 * @example
 * // GET /api/v1/ops/telemetry/dead-letters?consumer=telemetry.mqtt
 * { items: [{ id: 7, consumer: 'telemetry.mqtt', eventId: null, reason: 'not JSON', … }], nextCursor: null }
 */
export const DeadLetterSchema = Type.Object({
  id: Type.Integer(),
  consumer: Type.String({ description: 'the consumer (or ingestion path) that gave up' }),
  eventId: Type.Union([Type.String(), Type.Null()], {
    description: 'set for events; only these can be redriven',
  }),
  type: Type.Union([Type.String(), Type.Null()]),
  subject: Type.Union([Type.String(), Type.Null()]),
  payload: Type.Unknown({ description: 'the event envelope, or what was received' }),
  reason: Type.String(),
  attempts: Type.Integer(),
  deadAt: Type.String({ format: 'date-time' }),
  redrivenAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  redrivable: Type.Boolean({ description: 'an event not redriven yet' }),
});
export type DeadLetterView = Static<typeof DeadLetterSchema>;

/** A page of dead letters, newest first. */
export const DeadLetterPageSchema = Type.Object({
  items: Type.Array(DeadLetterSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

/** Filters of the dead-letter list. */
export const ListDeadLettersQuery = Type.Object({
  consumer: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  includeRedriven: Type.Optional(Type.Boolean({ default: false })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});
