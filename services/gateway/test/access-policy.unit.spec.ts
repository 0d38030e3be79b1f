import { describe, expect, it } from 'vitest';
import { accessPolicy, compilePolicy } from '../src/access/access.policy.js';
import { lowerRole, type Role, roleAtLeast } from '../src/access/access.roles.js';
import { mayPublishTopic, mosquittoAclAllows, telemetryTopicAsset } from '../src/access/mqtt-auth.js';
import { parseRateLimit, TokenBuckets } from '../src/access/rate-limit.js';

const ID = '0190a000-0000-7000-8000-000000000001';
const OTHER = '0190a000-0000-7000-8000-000000000002';
const check = compilePolicy(accessPolicy);
const ROLES: Role[] = ['viewer', 'technician', 'operator', 'admin', 'device'];

/** Representative calls, and the roles that may make each. */
const EXPECTED: [method: string, path: string, allowed: Role[]][] = [
  ['GET', '/api/v1/assets', ['viewer', 'technician', 'operator', 'admin']],
  ['GET', `/api/v1/assets/${ID}/telemetry/latest`, ['viewer', 'technician', 'operator', 'admin']],
  ['GET', `/api/v1/assets/${ID}/overview`, ['viewer', 'technician', 'operator', 'admin']],
  ['HEAD', '/api/v1/alerts', ['viewer', 'technician', 'operator', 'admin']],
  ['GET', '/api/v1/dashboard/fleet', ['viewer', 'technician', 'operator', 'admin']],
  ['GET', '/api/v1/me', ['viewer', 'technician', 'operator', 'admin', 'device']],
  ['POST', `/api/v1/work-orders/${ID}/start`, ['technician', 'operator', 'admin']],
  ['POST', `/api/v1/work-orders/${ID}/complete`, ['technician', 'operator', 'admin']],
  ['POST', `/api/v1/work-orders/${ID}/notes`, ['technician', 'operator', 'admin']],
  ['POST', '/api/v1/work-orders', ['operator', 'admin']],
  ['POST', `/api/v1/work-orders/${ID}/assign`, ['operator', 'admin']],
  ['POST', `/api/v1/work-orders/${ID}/cancel`, ['operator', 'admin']],
  ['POST', '/api/v1/assets', ['operator', 'admin']],
  ['PATCH', `/api/v1/assets/${ID}`, ['operator', 'admin']],
  ['POST', `/api/v1/assets/${ID}/status`, ['operator', 'admin']],
  ['POST', `/api/v1/alerts/${ID}/acknowledge`, ['operator', 'admin']],
  ['POST', '/api/v1/alert-rules', ['operator', 'admin']],
  ['DELETE', `/api/v1/alert-rules/${ID}`, ['operator', 'admin']],
  ['POST', '/api/v1/maintenance-plans', ['operator', 'admin']],
  ['PATCH', `/api/v1/technicians/${ID}`, ['operator', 'admin']],
  ['POST', '/api/v1/telemetry', ['device', 'operator', 'admin']],
  ['POST', `/api/v1/assets/${ID}/decommission`, ['admin']],
  ['POST', '/api/v1/dashboard/rebuild', ['admin']],
  ['GET', '/api/v1/users', ['admin']],
  ['POST', '/api/v1/users', ['admin']],
  ['PATCH', `/api/v1/users/${ID}`, ['admin']],
  ['GET', `/api/v1/tokens/${ID}`, ['admin']],
  ['DELETE', `/api/v1/tokens/${ID}`, ['admin']],
  ['GET', '/api/v1/ops/telemetry/dead-letters', ['admin']],
  ['POST', '/api/v1/ops/alert/dead-letters/42/redrive', ['admin']],
  // Unknown routes and unsafe paths: admins only (deny by default).
  ['POST', '/api/v1/something-new', ['admin']],
  ['DELETE', `/api/v1/assets/${ID}/telemetry/../../users`, ['admin']],
];

describe('access policy', () => {
  it.each(EXPECTED)('%s %s is for %j', (method, path, allowed) => {
    for (const role of ROLES) {
      expect({ role, allowed: check(role, method, path).allowed }).toEqual({
        role,
        allowed: allowed.includes(role),
      });
    }
  });

  it('names the roles that would be allowed when it refuses', () => {
    expect(check('viewer', 'POST', '/api/v1/assets')).toMatchObject({
      allowed: false,
      allow: ['operator', 'admin'],
    });
  });

  it('ignores the query string shape: a trailing slash routes like the path without it', () => {
    expect(check('viewer', 'GET', '/api/v1/users/').allowed).toBe(false);
    expect(check('operator', 'POST', '/api/v1/telemetry/').allowed).toBe(true);
  });

  it('refuses malformed patterns at start-up', () => {
    expect(() => compilePolicy([{ methods: '*', pattern: '/api/**/x', allow: ['admin'] }])).toThrow(/last/);
    expect(() => compilePolicy([{ methods: '*', pattern: 'api', allow: ['admin'] }])).toThrow(/start/);
  });
});

describe('roles', () => {
  it('orders the user roles and keeps device off the ladder', () => {
    expect(roleAtLeast('operator', 'technician')).toBe(true);
    expect(roleAtLeast('technician', 'operator')).toBe(false);
    expect(roleAtLeast('device', 'viewer')).toBe(false);
    expect(lowerRole('admin', 'viewer')).toBe('viewer');
  });
});

describe('token buckets', () => {
  it('parses rates, bursts and off', () => {
    expect(parseRateLimit('50/s')).toMatchObject({ ratePerSecond: 50, burst: 50 });
    expect(parseRateLimit('600/m,burst=20')).toMatchObject({ ratePerSecond: 10, burst: 20 });
    expect(parseRateLimit('off')).toBeUndefined();
    expect(() => parseRateLimit('fast')).toThrow(/rate such as/);
    expect(() => parseRateLimit('0/s')).toThrow(/positive/);
  });

  it('allows the burst at once, then the rate, per key', () => {
    const buckets = new TokenBuckets(parseRateLimit('2/s,burst=3')!);
    const at = (ms: number, key = 'a') => buckets.take(key, ms);
    expect([at(0), at(0), at(0)].map((d) => d.allowed)).toEqual([true, true, true]);
    const refused = at(0);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 1, resetSeconds: 2 });
    expect(at(0, 'b').allowed).toBe(true); // another token has its own bucket
    expect(at(400).allowed).toBe(false); // 0.8 of a request refilled
    expect(at(500).allowed).toBe(true); // 1.0
    expect(at(500).allowed).toBe(false);
    expect(at(10_000)).toMatchObject({ allowed: true, remaining: 2 }); // refilled to the burst, not beyond
  });

  it('forgets idle keys beyond its capacity', () => {
    const buckets = new TokenBuckets(parseRateLimit('1/s,burst=1')!, 2);
    buckets.take('a', 0);
    buckets.take('b', 0);
    buckets.take('c', 5_000); // a and b have refilled: forgetting them changes nothing
    expect(buckets.take('c', 5_000).allowed).toBe(false);
    expect(buckets.take('a', 5_000).allowed).toBe(true);
  });
});

describe('MQTT topics of devices', () => {
  it('allows a device only its own telemetry topic', () => {
    expect(telemetryTopicAsset(`assetops/${ID}/telemetry`)).toBe(ID);
    expect(telemetryTopicAsset(`assetops/${ID}/commands`)).toBeUndefined();
    expect(telemetryTopicAsset('assetops/not-a-uuid/telemetry')).toBeUndefined();
    expect(mayPublishTopic({ kind: 'asset', assetId: ID }, `assetops/${ID}/telemetry`)).toBe(true);
    expect(mayPublishTopic({ kind: 'asset', assetId: ID }, `assetops/${OTHER}/telemetry`)).toBe(false);
    expect(mayPublishTopic({ kind: 'fleet' }, `assetops/${OTHER}/telemetry`)).toBe(true);
    expect(mayPublishTopic({ kind: 'fleet' }, 'assetops/+/telemetry')).toBe(false);
  });

  it('gives Mosquitto write access to the user name asset topic only', () => {
    expect(mosquittoAclAllows(ID, `assetops/${ID}/telemetry`, 2)).toBe(true);
    expect(mosquittoAclAllows(ID, `assetops/${ID}/telemetry`, 1)).toBe(false);
    expect(mosquittoAclAllows(ID, `assetops/${ID}/telemetry`, 4)).toBe(false);
    expect(mosquittoAclAllows(ID, `assetops/${OTHER}/telemetry`, 2)).toBe(false);
    expect(mosquittoAclAllows('device-7', 'assetops/device-7/telemetry', 2)).toBe(false);
  });
});
