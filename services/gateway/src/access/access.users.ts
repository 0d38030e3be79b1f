import { ConflictError } from '@assetops/platform';
import type { UserRole } from './access.roles.js';
import type { User } from './access.store.js';

/** What an admin may change on a user (`PATCH /api/v1/users/:id`); absent fields stay as they are. */
export interface UserChange {
  name?: string | undefined;
  email?: string | null | undefined;
  role?: UserRole | undefined;
  active?: boolean | undefined;
}

/**
 * The user after a change. Deactivating keeps the first deactivation time; reactivating clears it.
 * Pure.
 *
 * @example
 * applyUserChange(user, { role: 'viewer' }, now); // { ...user, role: 'viewer' }
 */
export function applyUserChange(user: User, change: UserChange, now: Date): User {
  const active = change.active ?? user.active;
  return {
    ...user,
    name: change.name === undefined ? user.name : change.name.trim(),
    email: change.email === undefined ? user.email : change.email,
    role: change.role ?? user.role,
    active,
    deactivatedAt: active ? null : (user.deactivatedAt ?? now.toISOString()),
  };
}

/** Whether a change takes away an active admin (a demotion or a deactivation of one). */
export function removesActiveAdmin(before: User, after: User): boolean {
  return before.active && before.role === 'admin' && !(after.active && after.role === 'admin');
}

/**
 * Refuses a change that would leave no active admin user: the people running the platform would
 * then depend on the bootstrap token alone (a deployment secret) to manage users again.
 */
export function mustKeepAnAdmin(before: User, after: User, otherActiveAdmins: number): void {
  if (removesActiveAdmin(before, after) && otherActiveAdmins === 0) {
    throw new ConflictError(
      'LAST_ACTIVE_ADMIN',
      `user ${before.id} is the last active admin: make another user admin first`,
      { userId: before.id },
    );
  }
}
