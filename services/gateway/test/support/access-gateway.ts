import { createLogger, type HttpApp, runMigrations } from '@assetops/platform';
import { createTestDatabase, type TestDatabase } from '@assetops/platform/testkit';
import { expect } from 'vitest';
import {
  type AccessControl,
  createAccessControl,
  createGateway,
  gatewayMigrations,
} from '../../src/index.js';
import { ADMIN_TOKEN, type EchoUpstream, startEchoUpstream } from './echo-upstream.js';

export const SERVICES = ['asset', 'telemetry', 'alert', 'maintenance', 'dashboard'];
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const ADMIN = bearer(ADMIN_TOKEN);

/** A JSON answer, inspected field by field by each test. */
// biome-ignore lint/suspicious/noExplicitAny: JSON as the tests read it
type Json = any;

export interface CallResult {
  status: number;
  headers: Record<string, unknown>;
  body: Json;
}

/** A gateway with access control on its own real database, in front of echo upstreams. */
export interface AccessGateway {
  db: TestDatabase;
  upstreams: EchoUpstream[];
  access: AccessControl;
  gateway: HttpApp;
  /** An injected request; an object body is sent as JSON, a string body as it is. */
  call(method: string, url: string, headers: Record<string, string>, body?: unknown): Promise<CallResult>;
  /** A new user of `role` (named `<role>-<n>`) with a token of theirs (of `tokenRole` when given). */
  userWithToken(
    role: string,
    tokenRole?: string,
  ): Promise<{ user: Json; token: Json; auth: { authorization: string } }>;
  close(): Promise<void>;
}

/**
 * Starts the gateway on a fresh database (`dbPrefix`) with the given verification cache — 0 for
 * "a change shows on the very next request", longer to prove that a change forgets the cache.
 */
export async function startAccessGateway(dbPrefix: string, cacheTtlMs: number): Promise<AccessGateway> {
  const db = await createTestDatabase(dbPrefix);
  await runMigrations(db.pool, [gatewayMigrations]);
  const upstreams = await Promise.all(
    SERVICES.map((name) => startEchoUpstream(name, { documentedPath: `/api/v1/${name}-documented` })),
  );
  const access = createAccessControl({ pool: db.pool, adminToken: ADMIN_TOKEN, cacheTtlMs });
  const gateway = await createGateway({
    logger: createLogger({ service: 'gateway', level: 'silent' }),
    adminToken: ADMIN_TOKEN,
    upstreams: Object.fromEntries(upstreams.map((u, index) => [SERVICES[index]!, u.url])),
    access,
  });
  const call: AccessGateway['call'] = async (method, url, headers, body) => {
    const res = await gateway.inject({
      method: method as 'GET',
      url,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: res.statusCode, headers: res.headers, body: res.body ? res.json() : undefined };
  };
  let userCount = 0;
  return {
    db,
    upstreams,
    access,
    gateway,
    call,
    async userWithToken(role, tokenRole) {
      const user = await call('POST', '/api/v1/users', ADMIN, { name: `${role}-${++userCount}`, role });
      expect(user.status).toBe(201);
      const token = await call('POST', '/api/v1/tokens', ADMIN, {
        name: `${role} laptop`,
        userId: user.body.id,
        ...(tokenRole ? { role: tokenRole } : {}),
      });
      expect(token.status).toBe(201);
      return { user: user.body, token: token.body, auth: bearer(token.body.token as string) };
    },
    async close() {
      await gateway.close();
      await Promise.all(upstreams.map((u) => u.close()));
      await db.drop();
    },
  };
}
