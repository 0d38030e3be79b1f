import { createHash, timingSafeEqual } from 'node:crypto';
import {
  AppError,
  type Clock,
  type IdGenerator,
  type Logger,
  type Pool,
  systemClock,
  UnauthorizedError,
  uuidV7Ids,
} from '@assetops/platform';
import type { FastifyRequest } from 'fastify';
import {
  AppErrorWithHeaders,
  type Authenticate,
  BOOTSTRAP_ADMIN,
  bearerToken,
  type Principal,
} from '../auth/auth.js';
import { splitPath } from '../proxy/route-table.js';
import { accessPolicy, compilePolicy, type PolicyRule } from './access.policy.js';
import { lowerRole } from './access.roles.js';
import { findGrant, hashTokenSecret, type TokenGrant, touchToken } from './access.store.js';
import { type RateDecision, type RateLimit, TokenBuckets } from './rate-limit.js';

export interface AccessControlOptions {
  /** The gateway's own database (users and tokens), migrated with `gatewayMigrations`. */
  pool: Pool;
  /** The bootstrap admin token: always accepted, as the built-in admin. */
  adminToken: string;
  /**
   * How long a token's verification is remembered in this process; default 5 s. A revoked or
   * expired token, a deactivated user or a lowered role is applied by every gateway instance within
   * this time (at once by the instance that made the change). 0: every request reads the database.
   */
  cacheTtlMs?: number;
  /** Per-token limits of `POST /api/v1/telemetry` (ingest) and of every other call (api); unset: none. */
  rateLimits?: { api?: RateLimit | undefined; ingest?: RateLimit | undefined };
  policy?: readonly PolicyRule[];
  clock?: Clock;
  ids?: IdGenerator;
  logger?: Logger;
}

/** A credential's verification, whatever the request: a caller, or why the credential is refused. */
export type Verification = { ok: true; principal: Principal } | { ok: false; code: string; message: string };

/**
 * The gateway's access control: who is calling (bootstrap admin, user token, device token), whether
 * their role may make this call (the policy table) and whether their token is within its rate.
 */
export interface AccessControl {
  /** For `/api/v1/*`: authenticates, then applies the policy and the rate limits (401/403/429). */
  authenticate: Authenticate;
  /** Verifies a token secret alone (MQTT logins); cached like `authenticate`. */
  verify(secret: string): Promise<Verification>;
  /**
   * Forgets cached verifications (after a revocation, a role change or a deactivation by this
   * instance), including those being read while it is called.
   */
  forget(): void;
  pool: Pool;
  clock: Clock;
  ids: IdGenerator;
}

/** 403: the caller's role may not make this call. */
export class InsufficientRoleError extends AppError {
  constructor(role: string, allowed: readonly string[], method: string, path: string) {
    super(
      'INSUFFICIENT_ROLE',
      `the ${role} role may not ${method} ${path}; allowed: ${allowed.join(', ')}`,
      403,
      false,
      { role, allowedRoles: allowed },
    );
  }
}

/** The header a device may send its token in, instead of `Authorization: Bearer`. */
export const DEVICE_TOKEN_HEADER = 'x-device-token';

const CACHE_MAX_ENTRIES = 10_000;

/**
 * Builds the access control on the gateway's database.
 *
 * @example
 * const access = createAccessControl({ pool, adminToken, rateLimits: { api: parseRateLimit('50/s') } });
 * const app = await createGateway({ logger, adminToken, upstreams, access });
 */
export function createAccessControl(opts: AccessControlOptions): AccessControl {
  const clock = opts.clock ?? systemClock;
  const cacheTtlMs = opts.cacheTtlMs ?? 5_000;
  const check = compilePolicy(opts.policy ?? accessPolicy);
  const adminDigest = sha256(opts.adminToken);
  const apiBuckets = opts.rateLimits?.api && new TokenBuckets(opts.rateLimits.api);
  const ingestBuckets = opts.rateLimits?.ingest && new TokenBuckets(opts.rateLimits.ingest);
  // Keyed by the secret's hash: the cache never holds a secret. Refusals are cached too, so a
  // client retrying a bad token in a loop costs no database round trip.
  const cache = new Map<
    string,
    { verification: Verification; expiresAtMs: number; tokenExpiresAtMs: number | null }
  >();

  // Bumped by forget(): a verification read from the database before a forget() may predate the
  // change that called it (a role lowered, a user deactivated), so it must not be cached after it.
  let generation = 0;

  async function verify(secret: string): Promise<Verification> {
    const digest = sha256(secret);
    if (timingSafeEqual(digest, adminDigest)) return { ok: true, principal: BOOTSTRAP_ADMIN };
    const nowMs = clock.now().getTime();
    const key = digest.toString('base64');
    const cached = cache.get(key);
    if (cached && cached.expiresAtMs > nowMs)
      return expired(cached.tokenExpiresAtMs, nowMs) ?? cached.verification;
    const readIn = generation;
    // The secret's SHA-256 is what the table stores (hashTokenSecret), so the digest is the lookup key.
    const grant = await findGrant(opts.pool, hashTokenSecret(secret));
    const verification = fromGrant(grant);
    const tokenExpiresAtMs = grant?.token.expiresAt ? Date.parse(grant.token.expiresAt) : null;
    if (cacheTtlMs > 0 && readIn === generation) {
      if (cache.size >= CACHE_MAX_ENTRIES) cache.delete(cache.keys().next().value!);
      cache.set(key, { verification, expiresAtMs: nowMs + cacheTtlMs, tokenExpiresAtMs });
    }
    if (verification.ok && grant) {
      // Only on a cache miss (at most once per cache time per token), and the update writes at most
      // once a minute; a failure only loses a timestamp, never the request.
      await touchToken(opts.pool, grant.token.id, clock.now()).catch((err: unknown) =>
        opts.logger?.warn({ err, tokenId: grant.token.id }, 'could not record the use of a token'),
      );
    }
    return expired(tokenExpiresAtMs, nowMs) ?? verification;
  }

  const authenticate: Authenticate = async (request) => {
    const secret = credentialOf(request);
    if (secret === undefined) throw new UnauthorizedError('UNAUTHORIZED', 'a bearer token is required');
    const verification = await verify(secret);
    if (!verification.ok) throw new UnauthorizedError(verification.code, verification.message);
    const principal = verification.principal;
    const path = pathOf(request);
    const decision = check(principal.role, request.method, path);
    if (!decision.allowed)
      throw new InsufficientRoleError(principal.role, decision.allow, request.method, path);
    // The bootstrap admin is not limited: it is the operator's break-glass credential (and what
    // benchmarks drive the platform with). Users and devices get tokens of their own, which are.
    if (principal.kind !== 'admin') {
      const ingest = request.method === 'POST' && isIngestPath(path);
      const buckets = ingest ? ingestBuckets : apiBuckets;
      const rate = buckets?.take(`${principal.tokenId}`, clock.now().getTime());
      if (rate && !rate.allowed) throw rateLimited(rate, ingest ? 'ingest' : 'api');
    }
    return principal;
  };

  return {
    authenticate,
    verify,
    forget: () => {
      generation += 1;
      cache.clear();
    },
    pool: opts.pool,
    clock,
    ids: opts.ids ?? uuidV7Ids,
  };
}

function fromGrant(grant: TokenGrant | undefined): Verification {
  if (!grant) return { ok: false, code: 'INVALID_TOKEN', message: 'the token is not valid' };
  const { token } = grant;
  if (token.revokedAt !== null) return { ok: false, code: 'TOKEN_REVOKED', message: 'the token was revoked' };
  if (token.role === 'device') {
    return {
      ok: true,
      principal: {
        kind: 'device',
        subject: token.id,
        roles: ['device'],
        role: 'device',
        tokenId: token.id,
        userId: token.userId,
        deviceScope: token.assetId === null ? { kind: 'fleet' } : { kind: 'asset', assetId: token.assetId },
      },
    };
  }
  if (grant.userActive !== true || grant.userRole === null) {
    return { ok: false, code: 'USER_DEACTIVATED', message: "the token's user was deactivated" };
  }
  const role = lowerRole(token.role as typeof grant.userRole, grant.userRole);
  return {
    ok: true,
    principal: {
      kind: 'user',
      subject: grant.token.userId!,
      roles: [role],
      role,
      tokenId: token.id,
      userId: token.userId,
      deviceScope: null,
    },
  };
}

function expired(tokenExpiresAtMs: number | null, nowMs: number): Verification | undefined {
  if (tokenExpiresAtMs === null || tokenExpiresAtMs > nowMs) return undefined;
  return { ok: false, code: 'TOKEN_EXPIRED', message: 'the token has expired' };
}

/** `Authorization: Bearer <token>`, else `X-Device-Token: <token>` (for devices that cannot set the former). */
function credentialOf(request: FastifyRequest): string | undefined {
  const bearer = bearerToken(request.headers.authorization);
  if (bearer !== undefined) return bearer;
  const device = request.headers[DEVICE_TOKEN_HEADER];
  const value = (Array.isArray(device) ? device[0] : device)?.trim();
  return value ? value : undefined;
}

function pathOf(request: FastifyRequest): string {
  const raw = request.raw.url ?? request.url;
  const queryStart = raw.indexOf('?');
  return queryStart === -1 ? raw : raw.slice(0, queryStart);
}

/** The readings endpoints, limited separately from the rest of the API. */
function isIngestPath(path: string): boolean {
  return splitPath(path)?.join('/') === 'api/v1/telemetry';
}

function rateLimited(rate: RateDecision, kind: 'api' | 'ingest'): AppErrorWithHeaders {
  const { limit } = rate;
  return new AppErrorWithHeaders(
    'RATE_LIMITED',
    `too many ${kind === 'ingest' ? 'ingest requests' : 'requests'} for this token (${limit.text}); retry after ${rate.retryAfterSeconds} s`,
    429,
    {
      'retry-after': String(rate.retryAfterSeconds),
      'ratelimit-limit': String(limit.burst),
      'ratelimit-remaining': String(rate.remaining),
      'ratelimit-reset': String(rate.resetSeconds),
      'ratelimit-policy': `${limit.burst};w=${Math.max(1, Math.round(limit.burst / limit.ratePerSecond))}`,
    },
    { limit: limit.text, kind },
  );
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
