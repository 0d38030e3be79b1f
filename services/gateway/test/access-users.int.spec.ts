import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccessGateway, ADMIN, startAccessGateway } from './support/access-gateway.js';

// PATCH /api/v1/users/:id on the gateway's real database. The verification cache is long (a
// minute) on purpose: a change shows on the next request only because the change forgets it.
describe('changing a user: role, name, active', () => {
  let h: AccessGateway;

  beforeAll(async () => {
    h = await startAccessGateway('gateway_users', 60_000);
  });
  afterAll(() => h?.close());

  const call: AccessGateway['call'] = (...args) => h.call(...args);
  const patch = (id: string, body: unknown, as = ADMIN) => call('PATCH', `/api/v1/users/${id}`, as, body);

  async function userWithToken(role: string, tokenRole?: string) {
    const { user, token, auth } = await h.userWithToken(role, tokenRole);
    return { id: user.id as string, name: user.name as string, auth, tokenId: token.id as string };
  }
  /** What a token may do now: create tokens (admin) and alert rules (operator). */
  async function mayDo(auth: Record<string, string>, userId: string) {
    const token = await call('POST', '/api/v1/tokens', auth, { name: 'spare', userId, role: 'viewer' });
    const rule = await call('POST', '/api/v1/alert-rules', auth, {});
    return { tokens: token.status, alertRules: rule.status, codes: [token.body.code, rule.body.code] };
  }
  async function activeAdmins(): Promise<string[]> {
    const { body } = await call('GET', '/api/v1/users?limit=500', ADMIN);
    return body.items.filter((u: { role: string }) => u.role === 'admin').map((u: { id: string }) => u.id);
  }

  it("lowers what the user's existing tokens may do at once, and raises it back", async () => {
    await userWithToken('admin'); // another admin, so that this one may be demoted
    const ana = await userWithToken('admin');
    expect(await mayDo(ana.auth, ana.id)).toMatchObject({ tokens: 201, alertRules: 200 });

    const demoted = await patch(ana.id, { role: 'operator' });
    expect(demoted).toMatchObject({ status: 200, body: { id: ana.id, role: 'operator', active: true } });
    expect(await mayDo(ana.auth, ana.id)).toEqual({
      tokens: 403,
      alertRules: 200,
      codes: ['INSUFFICIENT_ROLE', undefined],
    });
    expect((await call('GET', '/api/v1/me', ana.auth)).body).toMatchObject({ role: 'operator' });

    await patch(ana.id, { role: 'viewer' });
    expect(await mayDo(ana.auth, ana.id)).toMatchObject({ tokens: 403, alertRules: 403 });

    expect((await patch(ana.id, { role: 'admin' })).body.role).toBe('admin');
    expect(await mayDo(ana.auth, ana.id)).toMatchObject({ tokens: 201, alertRules: 200 });
    // The token itself keeps the role it was issued with; the cap is applied when it is used.
    expect((await call('GET', `/api/v1/tokens/${ana.tokenId}`, ADMIN)).body.role).toBe('admin');
  });

  it('never lifts a token above its own role when its user is raised', async () => {
    const bo = await userWithToken('operator', 'viewer');
    await patch(bo.id, { role: 'admin' });
    expect(await mayDo(bo.auth, bo.id)).toMatchObject({ tokens: 403, alertRules: 403 });
    expect((await call('GET', '/api/v1/me', bo.auth)).body.role).toBe('viewer');
  });

  it("refuses a deactivated user's tokens (401) and accepts them again once reactivated", async () => {
    const cy = await userWithToken('technician');
    expect((await call('GET', '/api/v1/assets', cy.auth)).status).toBe(200);
    const off = await patch(cy.id, { active: false });
    expect(off.body).toMatchObject({ active: false, role: 'technician' });
    expect(off.body.deactivatedAt).not.toBeNull();
    const refused = await call('GET', '/api/v1/assets', cy.auth);
    expect(refused).toMatchObject({ status: 401, body: { code: 'USER_DEACTIVATED' } });
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="assetops"');

    const on = await patch(cy.id, { active: true });
    expect(on.body).toMatchObject({ active: true, deactivatedAt: null });
    expect((await call('GET', '/api/v1/assets', cy.auth)).status).toBe(200);
  });

  it('renames, and clears or sets an email; a taken name is a 409', async () => {
    const dee = await userWithToken('viewer');
    const eve = await userWithToken('viewer');
    const renamed = await patch(dee.id, { name: '  Dee Operator ', email: 'dee@plant.example' });
    expect(renamed).toMatchObject({
      status: 200,
      body: { name: 'Dee Operator', email: 'dee@plant.example' },
    });
    expect((await patch(dee.id, { email: null })).body.email).toBeNull();
    const taken = await patch(eve.id, { name: 'dee operator' });
    expect(taken).toMatchObject({ status: 409, body: { code: 'USER_NAME_TAKEN' } });
    expect((await call('GET', `/api/v1/users/${eve.id}`, ADMIN)).body.name).toBe(eve.name);
  });

  it('is documented in the OpenAPI document at /docs', async () => {
    const res = await h.gateway.inject({ url: '/docs/openapi.json' });
    expect(res.statusCode).toBe(200);
    const operation = res.json().paths['/api/v1/users/{id}']?.patch;
    expect(operation).toMatchObject({ operationId: 'changeUser', tags: ['access'] });
    expect(Object.keys(operation.responses)).toEqual(
      expect.arrayContaining(['200', '400', '403', '404', '409']),
    );
    const body = operation.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties).sort()).toEqual(['active', 'email', 'name', 'role']);
  });

  it('is for admins only', async () => {
    const fay = await userWithToken('operator');
    const res = await patch(fay.id, { role: 'admin' }, fay.auth);
    expect(res).toMatchObject({ status: 403, body: { code: 'INSUFFICIENT_ROLE' } });
    expect((await call('GET', `/api/v1/users/${fay.id}`, ADMIN)).body.role).toBe('operator');
  });

  it('answers bad input with a 400 problem, and an unknown user with a 404', async () => {
    const gus = await userWithToken('viewer');
    for (const body of [
      {},
      { role: 'superuser' },
      { role: 'device' },
      { active: 'maybe' },
      { name: '' },
      { name: '   ' },
      { name: 'x'.repeat(101) },
      { email: 'not an email' },
      { role: 'viewer', admin: true },
      [],
      'null',
      '{"role":',
    ]) {
      const res = await patch(gus.id, body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toEqual(expect.any(String));
    }
    const badId = await call('PATCH', '/api/v1/users/not-a-uuid', ADMIN, { role: 'viewer' });
    expect(badId.status).toBe(400);
    const unknown = await patch(crypto.randomUUID(), { role: 'viewer' });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'USER_NOT_FOUND' } });
    expect((await call('GET', `/api/v1/users/${gus.id}`, ADMIN)).body).toMatchObject({ role: 'viewer' });
  });

  it('refuses to demote or deactivate the last active admin (409), even for the bootstrap admin', async () => {
    const last = await userWithToken('admin');
    // Every other admin steps down, so that `last` is the only one left.
    for (const id of (await activeAdmins()).filter((id) => id !== last.id)) {
      expect((await patch(id, { role: 'operator' })).status).toBe(200);
    }
    expect(await activeAdmins()).toEqual([last.id]);

    for (const [method, url, body] of [
      ['PATCH', `/api/v1/users/${last.id}`, { role: 'operator' }],
      ['PATCH', `/api/v1/users/${last.id}`, { active: false }],
      ['POST', `/api/v1/users/${last.id}/deactivate`, undefined],
    ] as const) {
      const res = await call(method, url, ADMIN, body);
      expect(res).toMatchObject({ status: 409, body: { code: 'LAST_ACTIVE_ADMIN', userId: last.id } });
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    // …nor by themselves; a change that keeps them admin is fine.
    expect((await patch(last.id, { role: 'viewer' }, last.auth)).status).toBe(409);
    expect((await patch(last.id, { name: 'the last admin' }, last.auth)).status).toBe(200);
    expect(await mayDo(last.auth, last.id)).toMatchObject({ tokens: 201 });

    // With another admin, the first may step down.
    const next = await userWithToken('operator');
    await patch(next.id, { role: 'admin' });
    expect((await patch(last.id, { role: 'operator' })).status).toBe(200);
    expect(await activeAdmins()).toEqual([next.id]);
  });

  it('lets only one of two admins demoting each other at once succeed', async () => {
    const a = await userWithToken('admin');
    for (const id of (await activeAdmins()).filter((id) => id !== a.id)) await patch(id, { active: false });
    const b = await userWithToken('admin');
    expect((await activeAdmins()).sort()).toEqual([a.id, b.id].sort());

    const outcomes = await Promise.all([patch(a.id, { role: 'viewer' }), patch(b.id, { role: 'viewer' })]);
    expect(outcomes.map((o) => o.status).sort()).toEqual([200, 409]);
    expect(await activeAdmins()).toHaveLength(1);
  });
});
