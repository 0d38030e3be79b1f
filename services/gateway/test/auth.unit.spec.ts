import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { bearerToken, createTokenAuthenticator } from '../src/auth/auth.js';

const requestWith = (authorization?: string) => ({ headers: { authorization } }) as unknown as FastifyRequest;

describe('bearer token authentication', () => {
  const authenticate = createTokenAuthenticator({ adminToken: 'the-admin-token-123' });

  it('reads the token of a Bearer header, scheme in any case', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer   abc  ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearerabc')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('resolves the admin for the admin token', async () => {
    await expect(authenticate(requestWith('Bearer the-admin-token-123'))).resolves.toMatchObject({
      kind: 'admin',
      roles: ['admin'],
    });
  });

  it('tells a missing token from a wrong one', async () => {
    await expect(authenticate(requestWith())).rejects.toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    await expect(authenticate(requestWith('Bearer the-admin-token-12'))).rejects.toMatchObject({
      status: 401,
      code: 'INVALID_TOKEN',
    });
  });
});
