import { describe, expect, it } from 'vitest';
import { distributedSecretProblems, weakSecretReason } from '../src/secret-policy.js';

const strong = 'b1f3c9e27a4d8f60c2e5a7b9d1f3e5c7';
const db = (password: string) => `postgres://assetops_asset:${password}@db:5432/assetops_asset`;

describe('distributed runtime secret policy', () => {
  it('accepts generated secrets', () => {
    expect(weakSecretReason(strong)).toBeUndefined();
    expect(distributedSecretProblems('gateway', { ASSETOPS_ADMIN_TOKEN: strong })).toEqual([]);
    expect(
      distributedSecretProblems('telemetry', {
        DATABASE_URL: db('9f8e7d6c5b4a39281706'),
        NATS_TOKEN: strong,
        MQTT_URL: 'mqtt://mosquitto:1883',
        MQTT_USERNAME: 'telemetry',
        MQTT_PASSWORD: '0a1b2c3d4e5f6a7b8c9d',
      }),
    ).toEqual([]);
  });

  it('refuses missing, short, placeholder and low-variety secrets', () => {
    expect(distributedSecretProblems('gateway', {})).toEqual([
      'ASSETOPS_ADMIN_TOKEN is required in the distributed runtime',
    ]);
    expect(weakSecretReason('changeme')).toBe('is shorter than 16 characters');
    expect(weakSecretReason('replace-with-openssl-rand-hex-24')).toContain("contains 'replace'");
    expect(weakSecretReason('my-default-admin-token-value')).toContain("contains 'default'");
    expect(weakSecretReason('abababababababababab')).toBe('has fewer than 8 different characters');
    expect(
      distributedSecretProblems('gateway', { ASSETOPS_ADMIN_TOKEN: 'assetops-admin-token-1' })[0],
    ).toMatch(/^ASSETOPS_ADMIN_TOKEN looks like a default/);
  });

  it('refuses a database URL without a password or with a default one', () => {
    expect(
      distributedSecretProblems('asset', {
        DATABASE_URL: 'postgres://assetops_asset@db:5432/assetops_asset',
      }),
    ).toEqual(['DATABASE_URL has no password: each service connects as its own role, with a password']);
    expect(distributedSecretProblems('asset', { DATABASE_URL: db('postgres') })[0]).toMatch(
      /^the DATABASE_URL password is shorter than 12/,
    );
  });

  it('requires MQTT credentials when the telemetry service subscribes to a broker', () => {
    expect(
      distributedSecretProblems('telemetry', {
        DATABASE_URL: db('9f8e7d6c5b4a39281706'),
        MQTT_URL: 'mqtt://m:1883',
      }),
    ).toEqual([
      'MQTT_USERNAME is required with MQTT_URL in the distributed runtime',
      'MQTT_PASSWORD is required in the distributed runtime',
    ]);
    expect(
      distributedSecretProblems('asset', { DATABASE_URL: db('9f8e7d6c5b4a39281706'), NATS_TOKEN: 'token' }),
    ).toHaveLength(1);
  });
});
