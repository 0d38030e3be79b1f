import { ValidationError } from '@assetops/platform';
import type { IngestItem } from './ingest.js';
import { isRejection } from './validate.js';

/**
 * The header in which the gateway tells which assets a device token may send readings for:
 * `asset:<uuid>` (one asset) or `fleet` (any). The gateway sets it for device tokens only and strips
 * it from every client request, so its presence always comes from the gateway (its constant
 * `DEVICE_SCOPE_HEADER` in services/gateway/src/access/access.roles.ts must stay equal). Without it
 * (users, operators, services) readings are not restricted.
 */
export const DEVICE_SCOPE_HEADER = 'x-assetops-device-scope';

/** What a device may send readings for; `undefined` when the request is not a device's. */
export type DeviceScope = { kind: 'asset'; assetId: string } | { kind: 'fleet' };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads the scope header. A malformed one is refused outright (400) rather than read as "no
 * restriction": only the gateway writes it, so a bad value is a bug that must not widen access.
 *
 * @example
 * deviceScopeOf('asset:0190a000-0000-7000-8000-000000000001'); // { kind: 'asset', assetId: '0190a000-…' }
 */
export function deviceScopeOf(header: string | string[] | undefined): DeviceScope | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(',') : header.trim();
  if (value === 'fleet') return { kind: 'fleet' };
  const assetId = /^asset:(.+)$/.exec(value)?.[1];
  if (assetId !== undefined && UUID.test(assetId)) return { kind: 'asset', assetId: assetId.toLowerCase() };
  throw new ValidationError('INVALID_DEVICE_SCOPE', `${DEVICE_SCOPE_HEADER} must be asset:<uuid> or fleet`);
}

/**
 * Turns a reading for an asset outside the scope into a rejection `OUT_OF_SCOPE`, so
 * it is reported with its index like every other rejection; the others are untouched.
 *
 * @example
 * restrictToScope(parsed, { kind: 'asset', assetId }); // readings of other assets → OUT_OF_SCOPE
 */
export function restrictToScope(item: IngestItem, scope: DeviceScope | undefined): IngestItem {
  if (scope === undefined || scope.kind === 'fleet' || isRejection(item)) return item;
  if (item.assetId.toLowerCase() === scope.assetId) return item;
  return {
    code: 'OUT_OF_SCOPE',
    reason: `this device token may only send readings for asset ${scope.assetId}`,
  };
}
