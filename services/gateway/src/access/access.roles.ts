/** The roles of people, from the least to the most privileged: each includes what the one before may do. */
export const USER_ROLES = ['viewer', 'technician', 'operator', 'admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/**
 * Every role a token can carry: a user's role, or `device` (a machine that may only send readings;
 * it is outside the user ladder, not below viewer).
 */
export const TOKEN_ROLES = [...USER_ROLES, 'device'] as const;
export type Role = (typeof TOKEN_ROLES)[number];

/**
 * What a device token may send readings for: one asset, or any asset of the fleet.
 *
 * @example
 * const scope: DeviceScope = { kind: 'asset', assetId: '0190…' };
 */
export type DeviceScope = { kind: 'asset'; assetId: string } | { kind: 'fleet' };

/** Whether `role` is a user role (not `device`). */
export function isUserRole(role: string): role is UserRole {
  return (USER_ROLES as readonly string[]).includes(role);
}

/**
 * Whether `role` grants at least what `minimum` grants on the user ladder; `device` never does.
 *
 * @example
 * roleAtLeast('operator', 'technician'); // true
 * roleAtLeast('device', 'viewer'); // false
 */
export function roleAtLeast(role: Role, minimum: UserRole): boolean {
  if (!isUserRole(role)) return false;
  return USER_ROLES.indexOf(role) >= USER_ROLES.indexOf(minimum);
}

/**
 * The lower of two user roles: a token never grants more than its user currently holds (a user
 * demoted after a token was issued is demoted on that token too).
 *
 * @example
 * lowerRole('admin', 'viewer'); // 'viewer'
 */
export function lowerRole(a: UserRole, b: UserRole): UserRole {
  return USER_ROLES.indexOf(a) <= USER_ROLES.indexOf(b) ? a : b;
}

/** The roles from `minimum` up the user ladder, e.g. `['operator', 'admin']` for `operator`. */
export function rolesFrom(minimum: UserRole): UserRole[] {
  return USER_ROLES.slice(USER_ROLES.indexOf(minimum));
}

/**
 * The scope header value the gateway sets on a device's request to the telemetry service, and
 * strips from every client request: `asset:<uuid>` or `fleet`. Telemetry reads the same header
 * (services/telemetry/src/ingest/device-scope.ts); the two must agree.
 *
 * @example
 * deviceScopeHeader({ kind: 'asset', assetId: '0190…' }); // 'asset:0190…'
 */
export function deviceScopeHeader(scope: DeviceScope): string {
  return scope.kind === 'asset' ? `asset:${scope.assetId}` : 'fleet';
}

/** Name of the header that carries a device's scope to the telemetry service. */
export const DEVICE_SCOPE_HEADER = 'x-assetops-device-scope';
