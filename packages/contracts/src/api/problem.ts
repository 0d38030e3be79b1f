import { Type } from '@sinclair/typebox';

/**
 * RFC 9457 problem details, as every AssetOps endpoint answers an error. `code` is stable and
 * machine-readable (`ASSET_NOT_FOUND`); `errors` lists field-level reasons for validation failures.
 */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', additionalProperties: true },
);
