import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger, dropServiceDatabase } from '@assetops/platform';
import { testEnv } from '@assetops/platform/testkit';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AllInOne, databaseServices, startAllInOne } from '../src/index.js';

// Users, roles and device tokens end to end on the all-in-one runtime: the gateway's own database,
// the policy in front of the real services, the device scope enforced by the real telemetry
// service, and device logins on the embedded MQTT broker.
describe('access control (all-in-one runtime)', () => {
  let platform: AllInOne;
  let dataDir: string;
  const prefix = `acc_${randomBytes(3).toString('hex')}`;
  const adminToken = 'test-admin-token-0123456789';

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'assetops-access-'));
    platform = await startAllInOne({
      dataDir,
      port: 0,
      host: '127.0.0.1',
      adminToken,
      postgres: { adminUrl: testEnv.databaseUrl, databasePrefix: prefix },
      env: { ...process.env, GATEWAY_TOKEN_CACHE_TTL: '0' },
      logger: createLogger({ service: 'runtime', level: 'silent' }),
    });
  });
  afterAll(async () => {
    await platform?.stop();
    for (const name of databaseServices) {
      await dropServiceDatabase(testEnv.databaseUrl, {
        database: `${prefix}_${name}`,
        role: `${prefix}_${name}`,
      });
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  async function api(method: string, url: string, token: string, body?: unknown) {
    const res = await fetch(`${platform.gatewayUrl}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  async function eventually<T>(
    probe: () => Promise<T | undefined>,
    what: string,
    timeoutMs = 10_000,
  ): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > until) throw new Error(`${what}: not in time`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Registers a pump and waits until the telemetry service knows it. */
  async function pump(token: string) {
    const created = await api('POST', '/api/v1/assets', token, {
      name: `Pump ${randomBytes(3).toString('hex')}`,
      type: 'pump',
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await eventually(
      async () =>
        (await api('GET', `/api/v1/assets/${id}/telemetry/latest`, adminToken)).status === 200
          ? true
          : undefined,
      'telemetry knows the asset',
    );
    return id;
  }

  async function userToken(role: string): Promise<string> {
    const user = await api('POST', '/api/v1/users', adminToken, {
      name: `${role}-${randomBytes(3).toString('hex')}`,
      role,
    });
    expect(user.status).toBe(201);
    const token = await api('POST', '/api/v1/tokens', adminToken, { name: 'e2e', userId: user.body.id });
    expect(token.status).toBe(201);
    return token.body.token;
  }

  async function latestMetrics(assetId: string): Promise<string[]> {
    const latest = await api('GET', `/api/v1/assets/${assetId}/telemetry/latest`, adminToken);
    return ((latest.body.values ?? []) as { metric: string }[]).map((v) => v.metric).sort();
  }

  it('gives an operator token operator rights, and refuses a viewer’s POST (403)', async () => {
    const operator = await userToken('operator');
    const viewer = await userToken('viewer');
    const asset = await pump(operator);
    expect((await api('GET', `/api/v1/assets/${asset}`, viewer)).status).toBe(200);
    const refused = await api('POST', '/api/v1/assets', viewer, { name: 'Not mine', type: 'pump' });
    expect(refused).toMatchObject({ status: 403, body: { code: 'INSUFFICIENT_ROLE' } });
    expect((await api('GET', '/api/v1/users', operator)).status).toBe(403);
  });

  it('lets a device token ingest for its asset only (OUT_OF_SCOPE for another), over HTTP', async () => {
    const mine = await pump(adminToken);
    const other = await pump(adminToken);
    const device = await api('POST', '/api/v1/tokens', adminToken, {
      name: 'sensor',
      role: 'device',
      assetId: mine,
    });
    const ingest = await api('POST', '/api/v1/telemetry', device.body.token, {
      readings: [
        { assetId: mine, metric: 'rpm', value: 1480 },
        { assetId: other, metric: 'rpm', value: 1490 },
      ],
    });
    expect(ingest.status).toBe(200);
    expect(ingest.body).toMatchObject({ accepted: 1, rejected: [{ index: 1, code: 'OUT_OF_SCOPE' }] });
    expect(await latestMetrics(mine)).toEqual(['rpm']);
    expect(await latestMetrics(other)).toEqual([]);
    expect((await api('GET', '/api/v1/assets', device.body.token)).status).toBe(403);
  });

  it('lets a device log in to the embedded broker with its token and publish for its asset only', async () => {
    const mine = await pump(adminToken);
    const other = await pump(adminToken);
    const device = await api('POST', '/api/v1/tokens', adminToken, {
      name: 'sensor',
      role: 'device',
      assetId: mine,
    });
    const options = { username: 'pump-sensor', password: device.body.token as string, reconnectPeriod: 0 };

    await expect(
      mqtt.connectAsync(platform.mqttUrl, { ...options, password: 'aot_wrong', clientId: 'd-wrong' }),
    ).rejects.toThrow();

    // Another asset's topic: the broker refuses the publish and drops the connection; nothing is stored.
    const intruder = await mqtt.connectAsync(platform.mqttUrl, {
      ...options,
      clientId: `d-${randomBytes(3).toString('hex')}`,
    });
    const closed = new Promise<void>((resolve) => intruder.once('close', () => resolve()));
    intruder.publish(`assetops/${other}/telemetry`, JSON.stringify({ metric: 'rpm', value: 1 }), { qos: 1 });
    await closed;
    intruder.end(true);

    const sensor = await mqtt.connectAsync(platform.mqttUrl, {
      ...options,
      clientId: `d-${randomBytes(3).toString('hex')}`,
    });
    await sensor.publishAsync(`assetops/${mine}/telemetry`, JSON.stringify({ metric: 'flow', value: 31 }), {
      qos: 1,
    });
    // Devices may not read anyone's telemetry: the subscription is refused (SUBACK 0x80).
    await expect(sensor.subscribeAsync(`assetops/${other}/telemetry`)).rejects.toThrow(/Subscribe error/);
    await sensor.endAsync();

    await eventually(
      async () => ((await latestMetrics(mine)).includes('flow') ? true : undefined),
      'the reading',
    );
    expect(await latestMetrics(other)).toEqual([]);

    // A revoked token can no longer log in.
    expect((await api('DELETE', `/api/v1/tokens/${device.body.id}`, adminToken)).status).toBe(204);
    await expect(
      mqtt.connectAsync(platform.mqttUrl, { ...options, clientId: `d-${randomBytes(3).toString('hex')}` }),
    ).rejects.toThrow();
  });
});
