import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '@assetops/platform';
import type { Role, UserRole } from './access.roles.js';

/** A user as the API shows it. */
export interface User {
  id: string;
  name: string;
  email: string | null;
  role: UserRole;
  active: boolean;
  createdAt: string;
  deactivatedAt: string | null;
}

/** A token as the API shows it: never its secret (which is not stored). */
export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  /** The user the token acts for; `null` for a device token issued to no one in particular. */
  userId: string | null;
  /** Device tokens: `asset` (one asset, `assetId`) or `fleet` (any asset); `null` for user tokens. */
  scope: 'asset' | 'fleet' | null;
  assetId: string | null;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  /** Updated at most once a minute per token (a write per request would cost more than it tells). */
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** What verifying a secret needs: the token and, for user tokens, its user's current state. */
export interface TokenGrant {
  token: ApiToken;
  userRole: UserRole | null;
  userActive: boolean | null;
}

/** Prefix of every API and device token, so that secret scanners and people recognise one. */
export const TOKEN_PREFIX = 'aot_';

/**
 * A new token secret: 32 random bytes (256 bits), base64url, with the prefix.
 *
 * @example
 * generateTokenSecret(); // 'aot_mJx0…' (47 characters)
 */
export function generateTokenSecret(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * The stored form of a secret. SHA-256, not a slow password hash: the secrets are 256 random bits,
 * so there is no dictionary to try and no brute force to slow down, while every request verifies
 * one — bcrypt or argon2 would cost tens of milliseconds each time for no gain.
 */
export function hashTokenSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

interface UserRow {
  id: string;
  name: string;
  email: string | null;
  role: UserRole;
  active: boolean;
  created_at: Date;
  deactivated_at: Date | null;
}

interface TokenRow {
  id: string;
  name: string;
  role: Role;
  user_id: string | null;
  asset_id: string | null;
  created_by: string;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const USER_COLUMNS = 'id, name, email, role, active, created_at, deactivated_at';
const TOKEN_COLUMNS =
  't.id, t.name, t.role, t.user_id, t.asset_id, t.created_by, t.created_at, t.expires_at, t.last_used_at, t.revoked_at';

const iso = (date: Date | null) => (date === null ? null : date.toISOString());

function userFromRow(row: UserRow): User {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    role: row.role,
    active: row.active,
    createdAt: row.created_at.toISOString(),
    deactivatedAt: iso(row.deactivated_at),
  };
}

function tokenFromRow(row: TokenRow): ApiToken {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    userId: row.user_id,
    scope: row.role !== 'device' ? null : row.asset_id === null ? 'fleet' : 'asset',
    assetId: row.asset_id,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    expiresAt: iso(row.expires_at),
    lastUsedAt: iso(row.last_used_at),
    revokedAt: iso(row.revoked_at),
  };
}

/** Inserts a user; `undefined` when the name is taken (names are unique, case-insensitively). */
export async function insertUser(
  db: Queryable,
  user: { id: string; name: string; email: string | null; role: UserRole; createdAt: Date },
): Promise<User | undefined> {
  const { rows } = await db.query<UserRow>(
    `INSERT INTO users (id, name, email, role, created_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT DO NOTHING RETURNING ${USER_COLUMNS}`,
    [user.id, user.name, user.email, user.role, user.createdAt],
  );
  return rows[0] && userFromRow(rows[0]);
}

export async function findUser(db: Queryable, id: string): Promise<User | undefined> {
  const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
  return rows[0] && userFromRow(rows[0]);
}

/** Users by name; deactivated ones only when asked. */
export async function listUsers(
  db: Queryable,
  opts: { includeInactive: boolean; limit: number },
): Promise<User[]> {
  const { rows } = await db.query<UserRow>(
    `SELECT ${USER_COLUMNS} FROM users WHERE active OR $1 ORDER BY lower(name) LIMIT $2`,
    [opts.includeInactive, opts.limit],
  );
  return rows.map(userFromRow);
}

/**
 * Serialises the changes that may take an admin away (role changes, deactivations) until the
 * transaction ends: two admins demoting each other at once must not both see the other as the
 * remaining admin. Such changes are rare, so one lock for all of them costs nothing.
 */
export async function lockUserChanges(tx: Queryable): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtext('assetops.gateway.user-changes'))");
}

/** Active admin users other than `exceptId` (call under {@link lockUserChanges}). */
export async function countOtherActiveAdmins(db: Queryable, exceptId: string): Promise<number> {
  const { rows } = await db.query<{ admins: number }>(
    `SELECT count(*)::int AS admins FROM users WHERE role = 'admin' AND active AND id <> $1`,
    [exceptId],
  );
  return rows[0]?.admins ?? 0;
}

/** Writes a user's changeable fields; `undefined` when the new name is another user's (case-insensitively). */
export async function saveUser(db: Queryable, user: User): Promise<User | undefined> {
  try {
    const { rows } = await db.query<UserRow>(
      `UPDATE users SET name = $2, email = $3, role = $4, active = $5, deactivated_at = $6
       WHERE id = $1 RETURNING ${USER_COLUMNS}`,
      [user.id, user.name, user.email, user.role, user.active, user.deactivatedAt],
    );
    return rows[0] && userFromRow(rows[0]);
  } catch (err) {
    if ((err as { code?: string }).code === UNIQUE_VIOLATION) return undefined;
    throw err;
  }
}

const UNIQUE_VIOLATION = '23505';

export async function insertToken(
  db: Queryable,
  token: {
    id: string;
    secretHash: Buffer;
    name: string;
    role: Role;
    userId: string | null;
    assetId: string | null;
    createdBy: string;
    createdAt: Date;
    expiresAt: Date | null;
  },
): Promise<ApiToken> {
  const { rows } = await db.query<TokenRow>(
    `INSERT INTO api_tokens AS t (id, secret_hash, name, role, user_id, asset_id, created_by, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${TOKEN_COLUMNS}`,
    [
      token.id,
      token.secretHash,
      token.name,
      token.role,
      token.userId,
      token.assetId,
      token.createdBy,
      token.createdAt,
      token.expiresAt,
    ],
  );
  return tokenFromRow(rows[0]!);
}

export async function findToken(db: Queryable, id: string): Promise<ApiToken | undefined> {
  const { rows } = await db.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens t WHERE t.id = $1`, [
    id,
  ]);
  return rows[0] && tokenFromRow(rows[0]);
}

/** Tokens, newest first; revoked ones only when asked. */
export async function listTokens(
  db: Queryable,
  opts: { userId?: string | undefined; includeRevoked: boolean; limit: number },
): Promise<ApiToken[]> {
  const { rows } = await db.query<TokenRow>(
    `SELECT ${TOKEN_COLUMNS} FROM api_tokens t
     WHERE ($1::uuid IS NULL OR t.user_id = $1) AND (t.revoked_at IS NULL OR $2)
     ORDER BY t.created_at DESC, t.id DESC LIMIT $3`,
    [opts.userId ?? null, opts.includeRevoked, opts.limit],
  );
  return rows.map(tokenFromRow);
}

/** Revokes a token (idempotent: the first revocation time is kept); `undefined` when unknown. */
export async function revokeToken(db: Queryable, id: string, at: Date): Promise<ApiToken | undefined> {
  const { rows } = await db.query<TokenRow>(
    `UPDATE api_tokens t SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1 RETURNING ${TOKEN_COLUMNS}`,
    [id, at],
  );
  return rows[0] && tokenFromRow(rows[0]);
}

/** The token with this secret hash and its user's state, whatever its state (the caller decides). */
export async function findGrant(db: Queryable, secretHash: Buffer): Promise<TokenGrant | undefined> {
  const { rows } = await db.query<TokenRow & { user_role: UserRole | null; user_active: boolean | null }>(
    `SELECT ${TOKEN_COLUMNS}, u.role AS user_role, u.active AS user_active
     FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
     WHERE t.secret_hash = $1`,
    [secretHash],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { token: tokenFromRow(row), userRole: row.user_role, userActive: row.user_active };
}

/** Records a use of a token, at most once a minute (cheap: one indexed update, usually of nothing). */
export async function touchToken(db: Queryable, id: string, at: Date): Promise<void> {
  await db.query(
    `UPDATE api_tokens SET last_used_at = $2::timestamptz
     WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - interval '1 minute')`,
    [id, at],
  );
}
