import { type Static, Type } from '@sinclair/typebox';
import {
  AssetLocationSchema,
  AssetMetadataSchema,
  AssetNameSchema,
  AssetStatusSchema,
  AssetTypeSchema,
} from '../events/asset.events.js';

/** An asset as the Asset API returns it. */
export const AssetSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: AssetNameSchema,
    type: AssetTypeSchema,
    location: Type.Union([AssetLocationSchema, Type.Null()]),
    metadata: AssetMetadataSchema,
    status: AssetStatusSchema,
    statusReason: Type.Union([Type.String(), Type.Null()]),
    version: Type.Integer({ minimum: 1 }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Asset' },
);
export type Asset = Static<typeof AssetSchema>;

/** `POST /api/v1/assets` */
export const RegisterAssetBody = Type.Object(
  {
    name: AssetNameSchema,
    type: AssetTypeSchema,
    location: Type.Optional(Type.Union([AssetLocationSchema, Type.Null()])),
    metadata: Type.Optional(AssetMetadataSchema),
  },
  { additionalProperties: false },
);
export type RegisterAssetBody = Static<typeof RegisterAssetBody>;

/** `PATCH /api/v1/assets/:id` — the fields to change; the type is fixed at registration. */
export const UpdateAssetBody = Type.Object(
  {
    name: Type.Optional(AssetNameSchema),
    location: Type.Optional(Type.Union([AssetLocationSchema, Type.Null()])),
    metadata: Type.Optional(AssetMetadataSchema),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateAssetBody = Static<typeof UpdateAssetBody>;

/** `POST /api/v1/assets/:id/status` */
export const ChangeAssetStatusBody = Type.Object(
  { status: AssetStatusSchema, reason: Type.Optional(Type.String({ maxLength: 1000 })) },
  { additionalProperties: false },
);
export type ChangeAssetStatusBody = Static<typeof ChangeAssetStatusBody>;

/** `GET /api/v1/assets` query string. `q` searches name, location and type (case-insensitive). */
export const ListAssetsQuery = Type.Object(
  {
    status: Type.Optional(AssetStatusSchema),
    type: Type.Optional(AssetTypeSchema),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  },
  { additionalProperties: false },
);
export type ListAssetsQuery = Static<typeof ListAssetsQuery>;

/** A page of assets; `nextCursor` is null on the last page. */
export const AssetPageSchema = Type.Object({
  items: Type.Array(AssetSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type AssetPage = Static<typeof AssetPageSchema>;

/**
 * `POST /api/v1/assets/:id/decommission` (body optional). `force`: work orders in progress are
 * cancelled too instead of Maintenance refusing; `reason` is kept on the saga and becomes the
 * asset's status reason once decommissioned.
 */
export const DecommissionAssetBody = Type.Object(
  {
    force: Type.Optional(Type.Boolean({ default: false })),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
  },
  { additionalProperties: false },
);
export type DecommissionAssetBody = Static<typeof DecommissionAssetBody>;
