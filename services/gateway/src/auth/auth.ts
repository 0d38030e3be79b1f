import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError, sendProblem, toProblem, UnauthorizedError } from '@assetops/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DeviceScope, Role } from '../access/access.roles.js';

/**
 * Who is calling: the bootstrap admin (the `ASSETOPS_ADMIN_TOKEN`), a user through one of their
 * API tokens, or a device through a device token.
 */
export interface Principal {
  kind: 'admin' | 'user' | 'device';
  /** Stable identifier of the caller, for logs and audit: `admin`, the user's id or the device token's id. */
  subject: string;
  /** The role the request is checked with (`[role]`; a list so other credentials may carry several). */
  roles: readonly string[];
  role: Role;
  /** The API token used (`null` for the bootstrap admin token). */
  tokenId: string | null;
  userId: string | null;
  /** Device tokens: what they may send readings for. */
  deviceScope: DeviceScope | null;
}

/**
 * Checks a request's credential: resolves with the caller, or rejects with an `AppError` — 401
 * `UNAUTHORIZED` when no token was sent, `INVALID_TOKEN` (or `TOKEN_REVOKED`, `TOKEN_EXPIRED`) when
 * it is not accepted; with access control also 403 `INSUFFICIENT_ROLE` and 429 `RATE_LIMITED`
 * (errors with `responseHeaders` have those headers sent along).
 */
export type Authenticate = (request: FastifyRequest) => Promise<Principal>;

/**
 * An `AppError` that needs headers on its response (`Retry-After` on a 429).
 *
 * @example
 * throw new AppErrorWithHeaders('RATE_LIMITED', 'slow down', 429, { 'retry-after': '1' });
 */
export class AppErrorWithHeaders extends AppError {
  constructor(
    code: string,
    message: string,
    status: number,
    readonly responseHeaders: Record<string, string>,
    details?: Record<string, unknown>,
  ) {
    super(code, message, status, status === 429 || status >= 500, details);
  }
}

/** The challenge every 401 of the gateway carries (RFC 6750), e.g. `WWW-Authenticate: Bearer realm="assetops"`. */
export const BEARER_CHALLENGE = 'Bearer realm="assetops"';

/**
 * Authenticates `Authorization: Bearer <token>` against the admin token.
 *
 * Both sides are hashed before the constant-time comparison: `timingSafeEqual` needs equal
 * lengths, and comparing digests means neither the time taken nor an early length check reveals
 * how long the admin token is.
 *
 * @example
 * const authenticate = createTokenAuthenticator({ adminToken: config.ASSETOPS_ADMIN_TOKEN });
 * const principal = await authenticate(request); // throws UnauthorizedError on a missing/wrong token
 */
export function createTokenAuthenticator(opts: { adminToken: string }): Authenticate {
  const adminDigest = sha256(opts.adminToken);
  return async (request) => {
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) throw new UnauthorizedError('UNAUTHORIZED', 'a bearer token is required');
    if (!timingSafeEqual(sha256(token), adminDigest)) {
      throw new UnauthorizedError('INVALID_TOKEN', 'the bearer token is not valid');
    }
    return BOOTSTRAP_ADMIN;
  };
}

/**
 * The token of an `Authorization: Bearer …` header; the scheme is case-insensitive (RFC 9110).
 * Another scheme (`Basic …`) or an empty token counts as no bearer token at all.
 *
 * @example
 * bearerToken('Bearer abc'); // 'abc'
 * bearerToken('Basic YTpi'); // undefined
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer(?:[ \t]+(.*))?$/i.exec(header);
  const token = match?.[1]?.trim();
  return token ? token : undefined;
}

/** The caller of the bootstrap admin token (`ASSETOPS_ADMIN_TOKEN`). */
export const BOOTSTRAP_ADMIN: Principal = Object.freeze({
  kind: 'admin',
  subject: 'admin',
  roles: Object.freeze(['admin']),
  role: 'admin',
  tokenId: null,
  userId: null,
  deviceScope: null,
});

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

const principals = new WeakMap<FastifyRequest, Principal>();

/**
 * A Fastify `onRequest` hook that authenticates every request of the scope it is added to and
 * answers 401 problem+json with the bearer challenge when that fails. The caller is then available
 * through {@link principalOf} (the roles issue authorises on it).
 *
 * @example
 * scope.addHook('onRequest', requireAuthentication(createTokenAuthenticator({ adminToken })));
 */
export function requireAuthentication(authenticate: Authenticate) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    try {
      principals.set(request, await authenticate(request));
      return undefined;
    } catch (err) {
      // Answered here rather than thrown so the challenge header cannot be lost on the way through
      // the error handler. An authenticator that fails for another reason still yields a problem.
      const body = toProblem(err, request);
      if (body.status === 401) reply.header('www-authenticate', BEARER_CHALLENGE);
      if (err instanceof AppErrorWithHeaders) reply.headers(err.responseHeaders);
      if (body.status >= 500) request.log.error({ err }, 'authentication failed');
      // Returning the reply tells Fastify the response is sent and the route must not run.
      return sendProblem(reply, body);
    }
  };
}

/**
 * The authenticated caller of a request, or `undefined` on a public route.
 *
 * @example
 * const principal = principalOf(request); // { kind: 'admin', subject: 'admin', roles: ['admin'] }
 */
export function principalOf(request: FastifyRequest): Principal | undefined {
  return principals.get(request);
}
