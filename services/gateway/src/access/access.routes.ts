import { ProblemSchema } from '@assetops/contracts';
import {
  ConflictError,
  type HttpApp,
  IllegalStateError,
  NotFoundError,
  ValidationError,
  withTransaction,
} from '@assetops/platform';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { type Principal, principalOf, requireAuthentication } from '../auth/auth.js';
import type { AccessControl } from './access.control.js';
import {
  isUserRole,
  type Role,
  roleAtLeast,
  TOKEN_ROLES,
  USER_ROLES,
  type UserRole,
} from './access.roles.js';
import {
  countOtherActiveAdmins,
  findToken,
  findUser,
  generateTokenSecret,
  hashTokenSecret,
  insertToken,
  insertUser,
  listTokens,
  listUsers,
  lockUserChanges,
  revokeToken,
  saveUser,
  type User,
} from './access.store.js';
import { applyUserChange, mustKeepAnAdmin, type UserChange } from './access.users.js';

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));
const Timestamp = Type.String({ format: 'date-time' });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const UserSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  email: Nullable(Type.String()),
  role: literals(USER_ROLES),
  active: Type.Boolean(),
  createdAt: Timestamp,
  deactivatedAt: Nullable(Timestamp),
});

const TokenSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  role: literals(TOKEN_ROLES),
  userId: Nullable(Type.String({ format: 'uuid' })),
  scope: Nullable(literals(['asset', 'fleet'] as const)),
  assetId: Nullable(Type.String({ format: 'uuid' })),
  createdBy: Type.String(),
  createdAt: Timestamp,
  expiresAt: Nullable(Timestamp),
  lastUsedAt: Nullable(Timestamp),
  revokedAt: Nullable(Timestamp),
});

const CreatedTokenSchema = Type.Composite([
  TokenSchema,
  Type.Object({
    token: Type.String({ description: 'the secret: shown once, never stored (only its SHA-256)' }),
  }),
]);

const UserName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
const Email = Type.String({ maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+$' });

const CreateUserBody = Type.Object(
  {
    name: UserName,
    email: Type.Optional(Email),
    role: literals(USER_ROLES),
  },
  { additionalProperties: false },
);

const ChangeUserBody = Type.Object(
  {
    name: Type.Optional(UserName),
    email: Type.Optional(Nullable(Email)),
    role: Type.Optional(literals(USER_ROLES)),
    active: Type.Optional(
      Type.Boolean({ description: "false: the user's tokens are refused (401); true: they work again" }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

const CreateTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
    userId: Type.Optional(Type.String({ format: 'uuid', description: 'the user the token acts for' })),
    role: Type.Optional(
      Type.Union([...TOKEN_ROLES.map((r) => Type.Literal(r))], {
        description: "default: the user's role; at most the user's role; 'device' for a device token",
      }),
    ),
    assetId: Type.Optional(
      Type.String({ format: 'uuid', description: 'device tokens: the one asset it sends for' }),
    ),
    fleet: Type.Optional(Type.Boolean({ description: 'device tokens: true for any asset of the fleet' })),
    expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const Limit = Type.Integer({ minimum: 1, maximum: 500, default: 100 });

const MeSchema = Type.Object({
  kind: literals(['admin', 'user', 'device'] as const),
  role: literals(TOKEN_ROLES),
  user: Nullable(UserSchema),
  token: Nullable(TokenSchema),
});

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };

/**
 * The identity API, served by the gateway itself from its own database: users (create, list, get,
 * change — role, name, email, active —, deactivate), tokens (create — the secret is in that answer only —, list, get, revoke) and
 * `GET /api/v1/me`. Every route goes through the access control, whose policy keeps all but `me`
 * for admins.
 *
 * @example
 * await app.register(accessRoutes, { access });
 */
export async function accessRoutes(scope: HttpApp, opts: { access: AccessControl }): Promise<void> {
  const { access } = opts;
  scope.addHook('onRequest', requireAuthentication(access.authenticate));
  const tags = ['access'];

  scope.post(
    '/api/v1/users',
    {
      schema: {
        tags,
        operationId: 'createUser',
        summary: 'Create a user (admin)',
        body: CreateUserBody,
        response: { 201: UserSchema, 409: ProblemSchema, ...errors },
      },
    },
    async (request, reply) => {
      const user = await insertUser(access.pool, {
        id: access.ids.next(),
        name: request.body.name.trim(),
        email: request.body.email ?? null,
        role: request.body.role,
        createdAt: access.clock.now(),
      });
      if (!user) throw new ConflictError('USER_NAME_TAKEN', `a user named '${request.body.name}' exists`);
      return reply.code(201).header('location', `/api/v1/users/${user.id}`).send(user);
    },
  );

  scope.get(
    '/api/v1/users',
    {
      schema: {
        tags,
        operationId: 'listUsers',
        summary: 'List users by name (admin); deactivated ones with includeInactive=true',
        querystring: Type.Object({ includeInactive: Type.Boolean({ default: false }), limit: Limit }),
        response: { 200: Type.Object({ items: Type.Array(UserSchema) }), ...errors },
      },
    },
    async (request) => ({
      items: await listUsers(access.pool, {
        includeInactive: request.query.includeInactive,
        limit: request.query.limit,
      }),
    }),
  );

  scope.get(
    '/api/v1/users/:id',
    {
      schema: {
        tags,
        operationId: 'getUser',
        summary: 'Get a user (admin)',
        params: IdParams,
        response: { 200: UserSchema, ...errors },
      },
    },
    async (request) => {
      const user = await findUser(access.pool, request.params.id);
      if (!user) throw new NotFoundError('USER_NOT_FOUND', `user ${request.params.id} does not exist`);
      return user;
    },
  );

  scope.patch(
    '/api/v1/users/:id',
    {
      schema: {
        tags,
        operationId: 'changeUser',
        summary: "Change a user's role, name, email or active state (admin)",
        description:
          "A token never acts above its user's current role: lowering the role lowers what every one of the " +
          "user's tokens may do at once, raising it back restores them (up to each token's own role). " +
          "active: false refuses the user's tokens (401). Other gateway instances apply a change within " +
          'their token cache time (GATEWAY_TOKEN_CACHE_TTL, 5 s by default). The last active admin cannot be demoted or deactivated (409 LAST_ACTIVE_ADMIN).',
        params: IdParams,
        body: ChangeUserBody,
        response: { 200: UserSchema, 409: ProblemSchema, ...errors },
      },
    },
    async (request) => changeUser(access, request.params.id, request.body),
  );

  scope.post(
    '/api/v1/users/:id/deactivate',
    {
      schema: {
        tags,
        operationId: 'deactivateUser',
        summary: "Deactivate a user (admin): every one of the user's tokens stops working",
        description: 'The same as PATCH with active: false (idempotent; the last active admin: 409).',
        params: IdParams,
        response: { 200: UserSchema, 409: ProblemSchema, ...errors },
      },
    },
    async (request) => changeUser(access, request.params.id, { active: false }),
  );

  scope.post(
    '/api/v1/tokens',
    {
      schema: {
        tags,
        operationId: 'createToken',
        summary: 'Create an API token for a user, or a device token (admin); the secret is shown only here',
        description:
          "A user's token carries a role no higher than the user's (default: the user's). A device token " +
          "(role 'device') names one asset (assetId) or the whole fleet (fleet: true) and may only send readings.",
        body: CreateTokenBody,
        response: { 201: CreatedTokenSchema, 409: ProblemSchema, ...errors },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const fields = await tokenFields(access, body);
      const secret = generateTokenSecret();
      const token = await insertToken(access.pool, {
        id: access.ids.next(),
        secretHash: hashTokenSecret(secret),
        name: body.name.trim(),
        ...fields,
        createdBy: createdBy(principalOf(request)),
        createdAt: access.clock.now(),
      });
      return reply
        .code(201)
        .header('location', `/api/v1/tokens/${token.id}`)
        .header('cache-control', 'no-store')
        .send({ ...token, token: secret });
    },
  );

  scope.get(
    '/api/v1/tokens',
    {
      schema: {
        tags,
        operationId: 'listTokens',
        summary: 'List tokens, newest first, without their secrets (admin)',
        querystring: Type.Object({
          userId: Type.Optional(Type.String({ format: 'uuid' })),
          includeRevoked: Type.Boolean({ default: false }),
          limit: Limit,
        }),
        response: { 200: Type.Object({ items: Type.Array(TokenSchema) }), ...errors },
      },
    },
    async (request) => ({
      items: await listTokens(access.pool, {
        userId: request.query.userId,
        includeRevoked: request.query.includeRevoked,
        limit: request.query.limit,
      }),
    }),
  );

  scope.get(
    '/api/v1/tokens/:id',
    {
      schema: {
        tags,
        operationId: 'getToken',
        summary: 'Get a token, without its secret (admin)',
        params: IdParams,
        response: { 200: TokenSchema, ...errors },
      },
    },
    async (request) => {
      const token = await findToken(access.pool, request.params.id);
      if (!token) throw new NotFoundError('TOKEN_NOT_FOUND', `token ${request.params.id} does not exist`);
      return token;
    },
  );

  scope.delete(
    '/api/v1/tokens/:id',
    {
      schema: {
        tags,
        operationId: 'revokeToken',
        summary:
          'Revoke a token (admin; idempotent). Other gateway instances refuse it within the cache time (5 s)',
        params: IdParams,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const token = await revokeToken(access.pool, request.params.id, access.clock.now());
      if (!token) throw new NotFoundError('TOKEN_NOT_FOUND', `token ${request.params.id} does not exist`);
      access.forget();
      return reply.code(204).send(null);
    },
  );

  scope.get(
    '/api/v1/me',
    {
      schema: {
        tags,
        operationId: 'getMe',
        summary: 'Who the token is: its role, its user and the token itself (any token)',
        response: { 200: MeSchema, 401: ProblemSchema },
      },
    },
    async (request) => {
      const principal = principalOf(request)!;
      const [user, token] = await Promise.all([
        principal.userId ? findUser(access.pool, principal.userId) : undefined,
        principal.tokenId ? findToken(access.pool, principal.tokenId) : undefined,
      ]);
      return { kind: principal.kind, role: principal.role, user: user ?? null, token: token ?? null };
    },
  );
}

/**
 * Changes a user under the user-changes lock, refusing to leave no active admin, then forgets this
 * instance's cached verifications so that no request after the answer acts with the old role.
 */
async function changeUser(access: AccessControl, id: string, change: UserChange): Promise<User> {
  const user = await withTransaction(access.pool, async (tx) => {
    await lockUserChanges(tx);
    const before = await findUser(tx, id);
    if (!before) throw new NotFoundError('USER_NOT_FOUND', `user ${id} does not exist`);
    const after = applyUserChange(before, change, access.clock.now());
    mustKeepAnAdmin(before, after, await countOtherActiveAdmins(tx, before.id));
    const saved = await saveUser(tx, after);
    if (!saved) throw new ConflictError('USER_NAME_TAKEN', `a user named '${after.name}' exists`);
    return saved;
  });
  access.forget();
  return user;
}

/** Who issued a token, for its record: `admin` (the bootstrap token) or `user:<id>`. */
function createdBy(principal: Principal | undefined): string {
  if (!principal || principal.kind === 'admin') return 'admin';
  return `${principal.kind}:${principal.subject}`;
}

/** The checked role, owner and scope of a token to create. */
async function tokenFields(
  access: AccessControl,
  body: Static<typeof CreateTokenBody>,
): Promise<{ role: Role; userId: string | null; assetId: string | null; expiresAt: Date | null }> {
  const expiresAt = body.expiresAt === undefined ? null : new Date(body.expiresAt);
  if (expiresAt !== null && expiresAt.getTime() <= access.clock.now().getTime()) {
    throw new ValidationError('EXPIRY_IN_PAST', 'expiresAt must be in the future', [
      { path: '/body/expiresAt', message: 'must be in the future' },
    ]);
  }
  const user = body.userId === undefined ? undefined : await findUser(access.pool, body.userId);
  if (body.userId !== undefined && !user) {
    throw new NotFoundError('USER_NOT_FOUND', `user ${body.userId} does not exist`);
  }
  if (user && !user.active) throw new IllegalStateError('USER_INACTIVE', `user ${user.id} is deactivated`);

  if (body.role === 'device') {
    if ((body.assetId === undefined) === (body.fleet !== true)) {
      throw new ValidationError(
        'DEVICE_SCOPE_REQUIRED',
        'a device token needs either assetId or fleet: true',
        [{ path: '/body/assetId', message: 'give assetId, or fleet: true for any asset' }],
      );
    }
    return {
      role: 'device',
      userId: user?.id ?? null,
      assetId: body.assetId?.toLowerCase() ?? null,
      expiresAt,
    };
  }
  if (body.assetId !== undefined || body.fleet !== undefined) {
    throw new ValidationError('SCOPE_FOR_DEVICES_ONLY', "assetId and fleet apply to role 'device' only", [
      { path: '/body/role', message: "must be 'device' with assetId or fleet" },
    ]);
  }
  if (!user) {
    throw new ValidationError('USER_REQUIRED', 'a token other than a device token needs a userId', [
      { path: '/body/userId', message: 'is required' },
    ]);
  }
  const role: UserRole = body.role !== undefined && isUserRole(body.role) ? body.role : user.role;
  if (!roleAtLeast(user.role, role)) {
    throw new ValidationError(
      'TOKEN_ROLE_ABOVE_USER',
      `the token's role (${role}) exceeds the user's (${user.role})`,
      [{ path: '/body/role', message: `must be at most ${user.role}` }],
    );
  }
  return { role, userId: user.id, assetId: null, expiresAt };
}
