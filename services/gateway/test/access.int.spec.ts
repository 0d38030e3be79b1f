import { createLogger, type HttpApp } from '@assetops/platform';
import type { TestDatabase } from '@assetops/platform/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessControl, createGateway, parseRateLimit } from '../src/index.js';
import { type AccessGateway, ADMIN, bearer, SERVICES, startAccessGateway } from './support/access-gateway.js';
import { ADMIN_TOKEN, type Echo, type EchoUpstream } from './support/echo-upstream.js';

const logger = createLogger({ service: 'gateway', level: 'silent' });
const ASSET = '0190a000-0000-7000-8000-00000000000a';
const OTHER_ASSET = '0190a000-0000-7000-8000-00000000000b';
// Users, tokens, roles, device scopes, rate limits and the Mosquitto auth endpoints, on the
// gateway's real database; the services behind it are echo upstreams that show what they received.
describe('gateway access control', () => {
  let h: AccessGateway;
  let db: TestDatabase;
  let upstreams: EchoUpstream[];
  let gateway: HttpApp;

  beforeAll(async () => {
    // No verification cache: a revocation shows on the very next request.
    h = await startAccessGateway('gateway_access', 0);
    ({ db, upstreams, gateway } = h);
  });
  afterAll(() => h?.close());

  const call: AccessGateway['call'] = (...args) => h.call(...args);
  const userWithToken: AccessGateway['userWithToken'] = (...args) => h.userWithToken(...args);

  describe('users and tokens', () => {
    it('creates a user and a token whose secret is shown once and stored only as a hash', async () => {
      const { user, token, auth } = await userWithToken('operator');
      expect(user).toMatchObject({ role: 'operator', active: true, deactivatedAt: null });
      expect(token).toMatchObject({ role: 'operator', userId: user.id, scope: null, revokedAt: null });
      expect(token.token).toMatch(/^aot_[A-Za-z0-9_-]{43}$/);

      const listed = await call('GET', `/api/v1/tokens?userId=${user.id}`, ADMIN);
      expect(listed.body.items).toHaveLength(1);
      expect(listed.body.items[0]).not.toHaveProperty('token');
      const stored = await db.pool.query('SELECT * FROM api_tokens WHERE id = $1', [token.id]);
      expect(JSON.stringify(stored.rows[0])).not.toContain(token.token.slice(4));

      const me = await call('GET', '/api/v1/me', auth);
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ kind: 'user', role: 'operator', user: { id: user.id } });
      expect(me.body.token.lastUsedAt).not.toBeNull();
    });

    it('lists, gets and deactivates users; a deactivated user’s tokens stop working', async () => {
      const { user, auth } = await userWithToken('viewer');
      expect((await call('GET', `/api/v1/users/${user.id}`, ADMIN)).body).toMatchObject({ name: user.name });
      expect(
        (await call('GET', '/api/v1/users', ADMIN)).body.items.map((u: { id: string }) => u.id),
      ).toContain(user.id);
      expect((await call('GET', '/api/v1/assets', auth)).status).toBe(200);
      const deactivated = await call('POST', `/api/v1/users/${user.id}/deactivate`, ADMIN);
      expect(deactivated.body).toMatchObject({ active: false });
      const refused = await call('GET', '/api/v1/assets', auth);
      expect(refused.status).toBe(401);
      expect(refused.body.code).toBe('USER_DEACTIVATED');
      expect(
        (await call('GET', '/api/v1/users', ADMIN)).body.items.map((u: { id: string }) => u.id),
      ).not.toContain(user.id);
      expect((await call('GET', `/api/v1/users/${crypto.randomUUID()}`, ADMIN)).status).toBe(404);
    });

    it('refuses a duplicate user name, and a token role above the user’s', async () => {
      const { user } = await userWithToken('technician');
      const duplicate = await call('POST', '/api/v1/users', ADMIN, {
        name: user.name.toUpperCase(),
        role: 'viewer',
      });
      expect(duplicate).toMatchObject({ status: 409, body: { code: 'USER_NAME_TAKEN' } });
      const above = await call('POST', '/api/v1/tokens', ADMIN, {
        name: 'x',
        userId: user.id,
        role: 'operator',
      });
      expect(above).toMatchObject({ status: 400, body: { code: 'TOKEN_ROLE_ABOVE_USER' } });
      const below = await call('POST', '/api/v1/tokens', ADMIN, {
        name: 'x',
        userId: user.id,
        role: 'viewer',
      });
      expect(below).toMatchObject({ status: 201, body: { role: 'viewer' } });
      const noUser = await call('POST', '/api/v1/tokens', ADMIN, { name: 'x', role: 'viewer' });
      expect(noUser).toMatchObject({ status: 400, body: { code: 'USER_REQUIRED' } });
    });

    it('revokes a token: 401 TOKEN_REVOKED from then on (cache time 0 here)', async () => {
      const { token, auth } = await userWithToken('viewer');
      expect((await call('GET', '/api/v1/assets', auth)).status).toBe(200);
      const revoked = await call('DELETE', `/api/v1/tokens/${token.id}`, ADMIN);
      expect(revoked.status).toBe(204);
      const refused = await call('GET', '/api/v1/assets', auth);
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="assetops"');
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.body.code).toBe('TOKEN_REVOKED');
      expect((await call('DELETE', `/api/v1/tokens/${token.id}`, ADMIN)).status).toBe(204); // idempotent
      expect((await call('DELETE', `/api/v1/tokens/${crypto.randomUUID()}`, ADMIN)).status).toBe(404);
      const listed = await call('GET', '/api/v1/tokens?includeRevoked=true', ADMIN);
      expect(listed.body.items.find((t: { id: string }) => t.id === token.id).revokedAt).not.toBeNull();
    });

    it('refuses an expired token: 401 TOKEN_EXPIRED', async () => {
      const { user } = await userWithToken('viewer');
      const created = await call('POST', '/api/v1/tokens', ADMIN, {
        name: 'short-lived',
        userId: user.id,
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      });
      expect((await call('GET', '/api/v1/assets', bearer(created.body.token))).status).toBe(200);
      await db.pool.query(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [
        created.body.id,
      ]);
      const refused = await call('GET', '/api/v1/assets', bearer(created.body.token));
      expect(refused).toMatchObject({ status: 401, body: { code: 'TOKEN_EXPIRED' } });
      const past = await call('POST', '/api/v1/tokens', ADMIN, {
        name: 'x',
        userId: user.id,
        expiresAt: '2001-01-01T00:00:00Z',
      });
      expect(past).toMatchObject({ status: 400, body: { code: 'EXPIRY_IN_PAST' } });
    });

    it('tells a missing token from an unknown one; the bootstrap admin token keeps working', async () => {
      expect((await call('GET', '/api/v1/assets', {})).body.code).toBe('UNAUTHORIZED');
      expect((await call('GET', '/api/v1/assets', bearer('aot_nope'))).body.code).toBe('INVALID_TOKEN');
      const me = await call('GET', '/api/v1/me', ADMIN);
      expect(me.body).toMatchObject({ kind: 'admin', role: 'admin', user: null, token: null });
    });
  });

  describe('roles', () => {
    const cases: [method: string, url: string, allowed: string[]][] = [
      ['GET', '/api/v1/assets', ['viewer', 'technician', 'operator', 'admin']],
      ['GET', `/api/v1/assets/${ASSET}/telemetry`, ['viewer', 'technician', 'operator', 'admin']],
      ['POST', `/api/v1/work-orders/${ASSET}/start`, ['technician', 'operator', 'admin']],
      ['POST', `/api/v1/work-orders/${ASSET}/notes`, ['technician', 'operator', 'admin']],
      ['POST', '/api/v1/assets', ['operator', 'admin']],
      ['POST', `/api/v1/alerts/${ASSET}/acknowledge`, ['operator', 'admin']],
      ['POST', '/api/v1/work-orders', ['operator', 'admin']],
      ['POST', '/api/v1/telemetry', ['operator', 'admin']],
      ['POST', `/api/v1/assets/${ASSET}/decommission`, ['admin']],
      ['GET', '/api/v1/ops/telemetry/dead-letters', ['admin']],
      ['GET', '/api/v1/users', ['admin']],
      ['GET', '/api/v1/tokens', ['admin']],
      ['POST', '/api/v1/not-yet-a-route', ['admin']],
    ];

    const tokens: Record<string, Record<string, string>> = {};
    beforeAll(async () => {
      for (const role of ['viewer', 'technician', 'operator', 'admin'])
        tokens[role] = (await userWithToken(role)).auth;
    });

    it.each(cases)('%s %s is for %j (others: 403 INSUFFICIENT_ROLE)', async (method, url, allowed) => {
      for (const [role, auth] of Object.entries(tokens)) {
        const res = await call(method, url, auth, method === 'GET' ? undefined : {});
        const outcome = res.status === 403 ? res.body.code : 'passed';
        expect({ role, outcome }).toEqual({
          role,
          outcome: allowed.includes(role) ? 'passed' : 'INSUFFICIENT_ROLE',
        });
      }
    });

    it('limits a token to the lower of its role and its user’s current role', async () => {
      const { user, auth } = await userWithToken('operator');
      await db.pool.query(`UPDATE users SET role = 'viewer' WHERE id = $1`, [user.id]);
      const res = await call('POST', '/api/v1/assets', auth, {});
      expect(res).toMatchObject({ status: 403, body: { code: 'INSUFFICIENT_ROLE', role: 'viewer' } });
    });

    it('keeps decommissioning through a status change for admins', async () => {
      const { auth } = await userWithToken('operator');
      const url = `/api/v1/assets/${ASSET}/status`;
      const toMaintenance = await call('POST', url, auth, { status: 'maintenance' });
      expect(toMaintenance.status).toBe(200);
      const echoed = toMaintenance.body as Echo;
      expect(Buffer.from(echoed.body, 'base64').toString()).toBe('{"status":"maintenance"}');
      const decommission = await call('POST', url, auth, { status: 'decommissioning' });
      expect(decommission).toMatchObject({ status: 403, body: { code: 'INSUFFICIENT_ROLE' } });
      expect((await call('POST', url, ADMIN, { status: 'decommissioning' })).status).toBe(200);
    });
  });

  describe('device tokens', () => {
    async function deviceToken(scope: { assetId: string } | { fleet: true }) {
      const res = await call('POST', '/api/v1/tokens', ADMIN, {
        name: 'pump sensor',
        role: 'device',
        ...scope,
      });
      expect(res.status).toBe(201);
      return res.body as { id: string; token: string; scope: string; assetId: string | null };
    }

    it('needs exactly one scope, and only for role device', async () => {
      const none = await call('POST', '/api/v1/tokens', ADMIN, { name: 'x', role: 'device' });
      expect(none).toMatchObject({ status: 400, body: { code: 'DEVICE_SCOPE_REQUIRED' } });
      const both = await call('POST', '/api/v1/tokens', ADMIN, {
        name: 'x',
        role: 'device',
        assetId: ASSET,
        fleet: true,
      });
      expect(both.status).toBe(400);
      const { user } = await userWithToken('operator');
      const scoped = await call('POST', '/api/v1/tokens', ADMIN, {
        name: 'x',
        userId: user.id,
        assetId: ASSET,
      });
      expect(scoped).toMatchObject({ status: 400, body: { code: 'SCOPE_FOR_DEVICES_ONLY' } });
    });

    it('ingests over HTTP with its scope in a header set by the gateway (Bearer or X-Device-Token)', async () => {
      const device = await deviceToken({ assetId: ASSET });
      expect(device).toMatchObject({ scope: 'asset', assetId: ASSET });
      for (const headers of [bearer(device.token), { 'x-device-token': device.token }]) {
        const res = await call('POST', '/api/v1/telemetry', headers, { readings: [] });
        expect(res.status).toBe(200);
        const echo = res.body as Echo;
        expect(echo.service).toBe('telemetry');
        expect(echo.headers['x-assetops-device-scope']).toBe(`asset:${ASSET}`);
        expect(echo.headers['x-device-token']).toBeUndefined();
        expect(echo.headers.authorization).toBeUndefined();
      }
      const fleet = await deviceToken({ fleet: true });
      const res = await call('POST', '/api/v1/telemetry', bearer(fleet.token), { readings: [] });
      expect((res.body as Echo).headers['x-assetops-device-scope']).toBe('fleet');
    });

    it('strips a scope header sent by a client', async () => {
      const forged = { ...ADMIN, 'x-assetops-device-scope': 'fleet' };
      const res = await call('POST', '/api/v1/telemetry', forged, { readings: [] });
      expect((res.body as Echo).headers['x-assetops-device-scope']).toBeUndefined();
      const device = await deviceToken({ assetId: ASSET });
      const widened = await call(
        'POST',
        '/api/v1/telemetry',
        { ...bearer(device.token), 'x-assetops-device-scope': 'fleet' },
        { readings: [] },
      );
      expect((widened.body as Echo).headers['x-assetops-device-scope']).toBe(`asset:${ASSET}`);
    });

    it('may do nothing but ingest (and ask who it is)', async () => {
      const device = await deviceToken({ assetId: ASSET });
      for (const [method, url] of [
        ['GET', '/api/v1/assets'],
        ['GET', `/api/v1/assets/${ASSET}/telemetry/latest`],
        ['POST', '/api/v1/assets'],
        ['GET', '/api/v1/tokens'],
      ] as const) {
        const res = await call(method, url, bearer(device.token), method === 'POST' ? {} : undefined);
        expect({ url, status: res.status, code: res.body.code }).toEqual({
          url,
          status: 403,
          code: 'INSUFFICIENT_ROLE',
        });
      }
      const me = await call('GET', '/api/v1/me', bearer(device.token));
      expect(me.body).toMatchObject({
        kind: 'device',
        role: 'device',
        token: { id: device.id, assetId: ASSET },
      });
    });

    describe('Mosquitto auth endpoints (mosquitto-go-auth HTTP backend)', () => {
      const form = (params: Record<string, string>) => ({
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(params).toString(),
      });
      const post = async (url: string, params: Record<string, string>, as: 'json' | 'form') => {
        const res = await gateway.inject({
          method: 'POST',
          url,
          ...(as === 'form' ? form(params) : { payload: params }),
        });
        return res.statusCode;
      };

      it.each(['json', 'form'] as const)('logs a device in by its token and asset id (%s)', async (as) => {
        const device = await deviceToken({ assetId: ASSET });
        const fleet = await deviceToken({ fleet: true });
        expect(await post('/internal/mqtt/user', { username: ASSET, password: device.token }, as)).toBe(200);
        expect(await post('/internal/mqtt/user', { username: OTHER_ASSET, password: device.token }, as)).toBe(
          403,
        );
        expect(await post('/internal/mqtt/user', { username: OTHER_ASSET, password: fleet.token }, as)).toBe(
          200,
        );
        expect(await post('/internal/mqtt/user', { username: 'pump-7', password: device.token }, as)).toBe(
          403,
        );
        expect(await post('/internal/mqtt/user', { username: ASSET, password: 'aot_nope' }, as)).toBe(403);
        const viewer = await userWithToken('viewer');
        expect(
          await post('/internal/mqtt/user', { username: ASSET, password: viewer.token.token as string }, as),
        ).toBe(403);
        await call('DELETE', `/api/v1/tokens/${device.id}`, ADMIN);
        expect(await post('/internal/mqtt/user', { username: ASSET, password: device.token }, as)).toBe(403);
      });

      it.each(['json', 'form'] as const)(
        'allows writes to the asset’s own telemetry topic only (%s)',
        async (as) => {
          const acl = (username: string, topic: string, acc: string) =>
            post('/internal/mqtt/acl', { username, topic, acc, clientid: 'pump-7' }, as);
          expect(await acl(ASSET, `assetops/${ASSET}/telemetry`, '2')).toBe(200);
          expect(await acl(ASSET, `assetops/${OTHER_ASSET}/telemetry`, '2')).toBe(403);
          expect(await acl(ASSET, `assetops/${ASSET}/telemetry`, '1')).toBe(403);
          expect(await acl(ASSET, 'assetops/+/telemetry', '4')).toBe(403);
          expect(await post('/internal/mqtt/superuser', { username: ASSET }, as)).toBe(403);
        },
      );
    });
  });

  describe('rate limits', () => {
    let limited: HttpApp;
    beforeAll(async () => {
      // Low limits, per token: 2 API calls and 1 ingest request, refilled slowly (no timing in the test).
      limited = await createGateway({
        logger,
        adminToken: ADMIN_TOKEN,
        upstreams: Object.fromEntries(upstreams.map((u, index) => [SERVICES[index]!, u.url])),
        access: createAccessControl({
          pool: db.pool,
          adminToken: ADMIN_TOKEN,
          cacheTtlMs: 0,
          rateLimits: { api: parseRateLimit('1/h,burst=2'), ingest: parseRateLimit('1/h,burst=1') },
        }),
      });
    });
    afterAll(() => limited?.close());

    it('answers 429 with Retry-After and RateLimit headers once a token’s bucket is empty', async () => {
      const first = await userWithToken('operator');
      const second = await userWithToken('operator');
      const get = (auth: Record<string, string>) => limited.inject({ url: '/api/v1/assets', headers: auth });
      expect((await get(first.auth)).statusCode).toBe(200);
      expect((await get(first.auth)).statusCode).toBe(200);
      const refused = await get(first.auth);
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.json()).toMatchObject({ code: 'RATE_LIMITED', kind: 'api', limit: '1/h,burst=2' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.headers['ratelimit-limit']).toBe('2');
      expect(refused.headers['ratelimit-remaining']).toBe('0');
      expect(Number(refused.headers['ratelimit-reset'])).toBeGreaterThan(0);
      // Another token has its own bucket; ingest has its own limit.
      expect((await get(second.auth)).statusCode).toBe(200);
      const ingest = () =>
        limited.inject({
          method: 'POST',
          url: '/api/v1/telemetry',
          headers: { ...first.auth, 'content-type': 'application/json' },
          payload: '{"readings":[]}',
        });
      expect((await ingest()).statusCode).toBe(200);
      const ingestRefused = await ingest();
      expect(ingestRefused.statusCode).toBe(429);
      expect(ingestRefused.json()).toMatchObject({ code: 'RATE_LIMITED', kind: 'ingest' });
      // The bootstrap admin token is not limited.
      for (let i = 0; i < 5; i++) expect((await get(ADMIN)).statusCode).toBe(200);
    });
  });
});
