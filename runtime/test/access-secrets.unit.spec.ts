import { describe, expect, it } from 'vitest';
import { distributedSecretProblems } from '../src/secret-policy.js';
import { databaseServices } from '../src/services.js';

const strong = 'b1f3c9e27a4d8f60c2e5a7b9d1f3e5c7';

describe('the gateway’s own database', () => {
  it('is provisioned like every other service’s', () => {
    expect(databaseServices).toContain('gateway');
  });

  it('must have a real password in the distributed runtime', () => {
    const url = (password: string) => `postgres://assetops_gateway:${password}@db:5432/assetops_gateway`;
    expect(
      distributedSecretProblems('gateway', {
        ASSETOPS_ADMIN_TOKEN: strong,
        DATABASE_URL: url('9f8e7d6c5b4a39281706'),
      }),
    ).toEqual([]);
    expect(
      distributedSecretProblems('gateway', {
        ASSETOPS_ADMIN_TOKEN: strong,
        DATABASE_URL: 'postgres://assetops_gateway@db:5432/assetops_gateway',
      }),
    ).toEqual(['DATABASE_URL has no password: each service connects as its own role, with a password']);
    expect(
      distributedSecretProblems('gateway', {
        ASSETOPS_ADMIN_TOKEN: strong,
        DATABASE_URL: url('changeme'),
      })[0],
    ).toMatch(/^the DATABASE_URL password/);
  });
});
