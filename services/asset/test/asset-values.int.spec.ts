import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AssetHarness, startAsset } from './support/harness.js';

// Text PostgreSQL cannot store reaches the database only as a refused statement: a 400 problem
// (found by the fuzz test: a NUL character in a name was a 500).
describe('asset values the database cannot store', () => {
  let h: AssetHarness;
  beforeAll(async () => {
    h = await startAsset();
  });
  afterAll(() => h?.close());

  it('refuses a NUL character in a name with 400 INVALID_CHARACTER', async () => {
    const created = await h.service.app.inject({
      method: 'POST',
      url: '/api/v1/assets',
      payload: { name: 'Feed pump', type: 'pump' },
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    const patch = (target: string) =>
      h.service.app.inject({
        method: 'PATCH',
        url: `/api/v1/assets/${target}`,
        payload: '{"name":"pump\\u0000"}',
        headers: { 'content-type': 'application/json' },
      });
    const res = await patch(id);
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().code).toBe('INVALID_CHARACTER');
    expect((await patch('01a23b3d-8447-7e4b-9091-fbe5ce3af083')).statusCode).toBe(404);
    const registered = await h.service.app.inject({
      method: 'POST',
      url: '/api/v1/assets',
      payload: '{"name":"\\u0000","type":"pump"}',
      headers: { 'content-type': 'application/json' },
    });
    expect(registered.statusCode).toBe(400);
    const still = await h.service.app.inject({ method: 'GET', url: `/api/v1/assets/${id}` });
    expect(still.json().name).toBe('Feed pump');
  });
});
