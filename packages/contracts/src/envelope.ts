import { type Static, type TSchema, Type } from '@sinclair/typebox';

/**
 * The CloudEvents 1.0 envelope (JSON format) every AssetOps event travels in.
 *
 * `type` is `assetops.<service>.<event>.v<major>`; `source` is `/assetops/<service>`;
 * `subject` is the assetId the event is about (ordering is per subject).
 * `correlationid`, `causationid` and `traceparent` are CloudEvents extension attributes.
 *
 * @example
 * const e: EventEnvelope = {
 *   specversion: '1.0', id: '0190…', source: '/assetops/asset', type: 'assetops.asset.registered.v1',
 *   subject: assetId, time: '2026-01-01T00:00:00.000Z', datacontenttype: 'application/json',
 *   correlationid: '0190…', data: { … },
 * };
 */
export const EventEnvelopeSchema = Type.Object(
  {
    specversion: Type.Literal('1.0'),
    id: Type.String({ format: 'uuid' }),
    source: Type.String({ pattern: '^/assetops/[a-z][a-z0-9-]*$' }),
    type: Type.String({
      pattern: '^assetops\\.[a-z][a-z0-9-]*\\.[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)*\\.v[0-9]+$',
    }),
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    time: Type.String({ format: 'date-time' }),
    datacontenttype: Type.Literal('application/json'),
    correlationid: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    causationid: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    traceparent: Type.Optional(
      Type.String({ pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' }),
    ),
    data: Type.Unknown(),
  },
  { $id: 'EventEnvelope', additionalProperties: false },
);

/** An event on the wire, before its `data` is narrowed by its type's schema. */
export type EventEnvelope<TData = unknown> = Omit<Static<typeof EventEnvelopeSchema>, 'data'> & {
  data: TData;
};

/**
 * The definition of one event type: its name, CloudEvents type, producing service and data schema.
 *
 * @example
 * export const AssetRegistered = defineEvent({
 *   name: 'AssetRegistered', service: 'asset', version: 1, type: 'assetops.asset.registered.v1',
 *   data: Type.Object({ assetId: Type.String() }),
 * });
 * AssetRegistered.source; // '/assetops/asset'
 */
export interface EventDefinition<TName extends string = string, TData extends TSchema = TSchema> {
  readonly name: TName;
  /** The producing service, e.g. `asset`. */
  readonly service: string;
  readonly version: number;
  /** The CloudEvents `type`, e.g. `assetops.asset.registered.v1`. */
  readonly type: string;
  /** The CloudEvents `source`, e.g. `/assetops/asset`. */
  readonly source: string;
  readonly data: TData;
}

/** The data type of an event definition: `EventData<typeof AssetRegistered>`. */
export type EventData<TDef extends EventDefinition> = Static<TDef['data']>;

/**
 * Declares an event type. The wire `type` is explicit so that renaming the TypeScript name never
 * changes what is on the bus; a breaking change to `data` is a new definition with `version + 1`.
 */
export function defineEvent<TName extends string, TData extends TSchema>(def: {
  name: TName;
  service: string;
  version: number;
  type: string;
  data: TData;
}): EventDefinition<TName, TData> {
  return Object.freeze({
    name: def.name,
    service: def.service,
    version: def.version,
    type: def.type,
    source: `/assetops/${def.service}`,
    data: def.data,
  });
}
