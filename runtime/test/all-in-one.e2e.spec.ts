import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { EventEnvelope } from '@assetops/contracts';
import { createLogger, createPool, dropServiceDatabase, withDatabase } from '@assetops/platform';
import { testEnv } from '@assetops/platform/testkit';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AllInOne, databaseServices, startAllInOne } from '../src/index.js';

// The asset API end to end through the gateway of the all-in-one runtime (on the test PostgreSQL
// server instead of the embedded one, for speed), including its events on the in-process bus.
describe('asset API through the gateway (all-in-one runtime)', () => {
  let platform: AllInOne;
  let dataDir: string;
  const prefix = `aio_${randomBytes(3).toString('hex')}`;
  const received: EventEnvelope[] = [];
  const token = 'test-admin-token-0123456789';

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'assetops-aio-'));
    platform = await startAllInOne({
      dataDir,
      port: 0,
      host: '127.0.0.1',
      adminToken: token,
      postgres: { adminUrl: testEnv.databaseUrl, databasePrefix: prefix },
      logger: createLogger({ service: 'runtime', level: 'silent' }),
    });
    await platform.bus.subscribe({
      consumer: 'e2e-observer',
      sources: ['asset'],
      types: [
        'assetops.asset.registered.v1',
        'assetops.asset.updated.v1',
        'assetops.asset.status-changed.v1',
      ],
      deliver: async (batch) => {
        received.push(...batch);
      },
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

  async function api(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${platform.gatewayUrl}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }

  async function eventually<T>(probe: () => T | undefined, timeoutMs = 5_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      if (Date.now() > until) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Registers an asset and waits until its onboarding saga made it active (version 2). */
  async function onboarded(body: Record<string, unknown>) {
    const created = await api('POST', '/api/v1/assets', body);
    expect(created.status).toBe(201);
    const until = Date.now() + 5_000;
    for (;;) {
      const got = await api('GET', `/api/v1/assets/${created.body.id}`);
      if (got.body.status === 'active') return got.body;
      if (Date.now() > until) throw new Error(`asset ${created.body.id} did not become active`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('refuses requests without a valid token (401 problem+json)', async () => {
    const missing = await fetch(`${platform.gatewayUrl}/api/v1/assets`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    const wrong = await api('GET', '/api/v1/assets', undefined, { authorization: 'Bearer not-the-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('INVALID_TOKEN');
  });

  it('registers an asset (201) and emits AssetRegistered through the outbox', async () => {
    const res = await api('POST', '/api/v1/assets', {
      name: 'Feed pump 1',
      type: 'pump',
      location: 'Plant A',
      metadata: { serial: 'P-100' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'Feed pump 1',
      type: 'pump',
      location: 'Plant A',
      metadata: { serial: 'P-100' },
      status: 'commissioning',
      version: 1,
    });
    expect(res.headers.get('location')).toBe(`/api/v1/assets/${res.body.id}`);
    expect(res.headers.get('etag')).toBe('"1"');

    const event = await eventually(() =>
      received.find((e) => e.type === 'assetops.asset.registered.v1' && e.subject === res.body.id),
    );
    expect(event).toMatchObject({
      specversion: '1.0',
      source: '/assetops/asset',
      datacontenttype: 'application/json',
      data: { assetId: res.body.id, name: 'Feed pump 1', type: 'pump', status: 'commissioning' },
    });
    const got = await api('GET', `/api/v1/assets/${res.body.id}`);
    expect(got.status).toBe(200);
    // Its onboarding saga may have made it active by now: the identity is what must be the same.
    const { status, statusReason, version, updatedAt, ...identity } = res.body;
    expect(got.body).toMatchObject(identity);
  });

  it('answers bad input with 400 problem+json naming each field', async () => {
    const res = await api('POST', '/api/v1/assets', { type: 'Pump!', colour: 'red' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.code).toBe('VALIDATION_FAILED');
    const paths = res.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['/body/name', '/body/type', '/body/colour']));
    expect((await api('GET', '/api/v1/assets/not-a-uuid')).status).toBe(400);
    expect((await api('GET', '/api/v1/assets?limit=0')).status).toBe(400);
    expect((await api('GET', '/api/v1/assets?cursor=garbage')).body.code).toBe('INVALID_CURSOR');
    expect(
      (await api('PATCH', `/api/v1/assets/${'0'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}`, {})).status,
    ).toBe(400);
  });

  it('answers an unknown asset with 404 ASSET_NOT_FOUND', async () => {
    const id = '01900000-0000-7000-8000-00000000dead';
    for (const res of [
      await api('GET', `/api/v1/assets/${id}`),
      await api('PATCH', `/api/v1/assets/${id}`, { name: 'x' }),
      await api('POST', `/api/v1/assets/${id}/status`, { status: 'active' }),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('ASSET_NOT_FOUND');
    }
  });

  it('updates metadata with optimistic concurrency (If-Match → 412 when stale)', async () => {
    // Onboarded first: its activation is a change (version 2) that would race with the If-Match.
    const created = await onboarded({ name: 'Compressor 7', type: 'compressor' });
    expect(created.version).toBe(2);
    const patched = await api(
      'PATCH',
      `/api/v1/assets/${created.id}`,
      { location: 'Hall 3', metadata: { kw: 90 } },
      { 'if-match': '"2"' },
    );
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ location: 'Hall 3', metadata: { kw: 90 }, version: 3 });
    const stale = await api('PATCH', `/api/v1/assets/${created.id}`, { name: 'x' }, { 'if-match': '"2"' });
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ code: 'ASSET_VERSION_MISMATCH', currentVersion: 3 });
    const typeChange = await api('PATCH', `/api/v1/assets/${created.id}`, { type: 'pump' });
    expect(typeChange.status).toBe(400);
    const event = await eventually(() =>
      received.find((e) => e.type === 'assetops.asset.updated.v1' && e.subject === created.id),
    );
    expect(event.data).toMatchObject({ changes: { location: 'Hall 3', metadata: { kw: 90 } }, version: 3 });
  });

  it('moves an asset through its lifecycle and refuses illegal transitions with 409', async () => {
    // Onboarding makes it active by itself (the onboarding e2e test looks at that); from there on
    // it is moved by hand.
    const created = await onboarded({ name: 'Turbine 2', type: 'gas-turbine' });
    expect(created).toMatchObject({ status: 'active', statusReason: 'onboarding completed' });
    const illegal = await api('POST', `/api/v1/assets/${created.id}/status`, { status: 'commissioning' });
    expect(illegal.status).toBe(409);
    expect(illegal.body).toMatchObject({
      code: 'ASSET_ILLEGAL_TRANSITION',
      from: 'active',
      to: 'commissioning',
    });
    for (const status of ['maintenance', 'active', 'decommissioning', 'decommissioned']) {
      const res = await api('POST', `/api/v1/assets/${created.id}/status`, {
        status,
        reason: `now ${status}`,
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status, statusReason: `now ${status}` });
    }
    const after = await api('POST', `/api/v1/assets/${created.id}/status`, { status: 'active' });
    expect(after.status).toBe(409);
    const changes = await eventually(() => {
      const found = received.filter(
        (e) => e.type === 'assetops.asset.status-changed.v1' && e.subject === created.id,
      );
      return found.length === 5 ? found : undefined;
    });
    expect(changes.map((e) => (e.data as { to: string }).to)).toEqual([
      'active',
      'maintenance',
      'active',
      'decommissioning',
      'decommissioned',
    ]);
  });

  it('lists with filters, text search and cursor pagination', async () => {
    const tag = randomBytes(3).toString('hex');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await onboarded({ name: `Chiller ${tag} ${i}`, type: 'chiller', location: `Roof ${i}` })).id);
    }
    await api('POST', `/api/v1/assets/${ids[0]}/status`, { status: 'maintenance' });
    const pages: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: { items: { id: string }[]; nextCursor: string | null } } = await api(
        'GET',
        `/api/v1/assets?q=${tag}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      pages.push(...res.body.items.map((a) => a.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(pages).toEqual(ids);
    const inMaintenance = await api('GET', `/api/v1/assets?q=${tag}&status=maintenance`);
    expect(inMaintenance.body.items.map((a: { id: string }) => a.id)).toEqual([ids[0]]);
    const byType = await api('GET', `/api/v1/assets?type=chiller&q=${encodeURIComponent('roof 3')}`);
    expect(byType.body.items.map((a: { id: string }) => a.id)).toContain(ids[3]);
    const none = await api('GET', `/api/v1/assets?q=${encodeURIComponent('%_')}`);
    expect(none.body.items).toEqual([]);
  });

  it('serves merged API docs and reports readiness', async () => {
    const docs = await fetch(`${platform.gatewayUrl}/docs/openapi.json`);
    expect(docs.status).toBe(200);
    const spec = (await docs.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/api/v1/assets', '/api/v1/assets/{id}']),
    );
    const ready = await fetch(`${platform.gatewayUrl}/ready`);
    expect(ready.status).toBe(200);
  });

  it('does not write an admin-token file when the token is given', async () => {
    await expect(readFile(path.join(dataDir, 'admin-token'), 'utf8')).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('lets telemetry know a registered asset from its event: readings stored, queried and announced', async () => {
    const feed: EventEnvelope[] = [];
    await platform.bus.subscribe({
      consumer: 'e2e-feed-observer',
      sources: ['telemetry'],
      types: ['assetops.telemetry.aggregated.v2'],
      deliver: async (batch) => {
        feed.push(...batch);
      },
    });
    const asset = (await api('POST', '/api/v1/assets', { name: 'Compressor 7', type: 'compressor' })).body;
    const ts = new Date(Date.now() - 5_000).toISOString();
    const readings = [{ assetId: asset.id, metric: 'pressure', value: 7.25, ts }];
    // Accepted once the AssetRegistered event reached the telemetry service's own list.
    const until = Date.now() + 5_000;
    let result = await api('POST', '/api/v1/telemetry', { readings });
    while (result.body.accepted === 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      result = await api('POST', '/api/v1/telemetry', { readings });
    }
    expect(result.body).toMatchObject({ accepted: 1, rejected: [] });

    const latest = await api('GET', `/api/v1/assets/${asset.id}/telemetry/latest`);
    expect(latest.body.values).toEqual([{ metric: 'pressure', ts, value: 7.25 }]);
    const series = await api('GET', `/api/v1/assets/${asset.id}/telemetry?metric=pressure&bucket=1m&agg=max`);
    expect(series.status).toBe(200);
    expect(series.body.series[0].points.map((p: { value: number }) => p.value)).toEqual([7.25]);
    const event = await eventually(() => feed.find((e) => e.subject === asset.id));
    expect(event.data).toMatchObject({
      assetId: asset.id,
      metrics: [{ metric: 'pressure', count: 1, max: 7.25, last: 7.25 }],
    });

    await api('POST', `/api/v1/assets/${asset.id}/status`, { status: 'decommissioning' });
    await api('POST', `/api/v1/assets/${asset.id}/status`, { status: 'decommissioned' });
    const refused = Date.now() + 5_000;
    let code: string | undefined;
    while (code !== 'ASSET_DECOMMISSIONED' && Date.now() < refused) {
      await new Promise((r) => setTimeout(r, 50));
      const res = await api('POST', '/api/v1/telemetry', {
        readings: [{ assetId: asset.id, metric: 'pressure', value: 1 }],
      });
      code = res.body.rejected[0]?.code;
    }
    expect(code).toBe('ASSET_DECOMMISSIONED');
  });

  it('shows a registered asset and its readings on the dashboard, and streams its changes (SSE through the gateway)', async () => {
    // A plain request, so that the test can close the connection itself at the end (an aborted
    // fetch leaves its socket to the keep-alive timeout, which would hold up the gateway's close).
    let received = '';
    const stream = http.get(`${platform.gatewayUrl}/api/v1/dashboard/stream`, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    });
    const response = await new Promise<http.IncomingMessage>((resolve) => stream.on('response', resolve));
    expect(response.headers['content-type']).toContain('text/event-stream');
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      received += chunk;
    });
    response.on('error', () => {});
    try {
      const name = `Dashboard pump ${randomBytes(3).toString('hex')}`;
      const asset = (await api('POST', '/api/v1/assets', { name, type: 'pump' })).body;
      const ts = new Date(Date.now() - 2_000).toISOString();
      const readings = [{ assetId: asset.id, metric: 'temperature', value: 64.5, ts }];
      const until = Date.now() + 20_000;
      let shown: { latest?: Record<string, { value: number }> } | undefined;
      while (shown?.latest?.temperature?.value !== 64.5 && Date.now() < until) {
        await api('POST', '/api/v1/telemetry', { readings });
        await new Promise((r) => setTimeout(r, 200));
        const page = await api('GET', `/api/v1/dashboard/assets?q=${encodeURIComponent(name)}`);
        shown = page.body.items.find((item: { assetId: string }) => item.assetId === asset.id);
      }
      expect(shown).toMatchObject({ name, type: 'pump', latest: { temperature: { value: 64.5, ts } } });
      await eventually(() => (received.includes(`"assetId":"${asset.id}"`) ? true : undefined), 20_000);
      expect(received).toContain('event: fleet');
    } finally {
      stream.destroy();
    }
  });

  it('stores readings that devices publish to the embedded MQTT broker', async () => {
    const asset = (await api('POST', '/api/v1/assets', { name: 'Chiller 2', type: 'chiller' })).body;
    // Wait until telemetry knows the asset (its registration event arrived).
    const known = Date.now() + 5_000;
    while (
      (await api('GET', `/api/v1/assets/${asset.id}/telemetry/latest`)).status === 404 &&
      Date.now() < known
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const device = await mqtt.connectAsync(platform.mqttUrl, { clientId: `device-${asset.id.slice(0, 8)}` });
    const ts = new Date(Date.now() - 1_000).toISOString();
    await device.publishAsync(
      `assetops/${asset.id}/telemetry`,
      JSON.stringify({ ts, values: { temperature: 6.5, flow: 31 } }),
      {
        qos: 1,
      },
    );
    await device.endAsync();
    const until = Date.now() + 5_000;
    let values: { metric: string; value: number }[] = [];
    while (values.length < 2 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      values = (await api('GET', `/api/v1/assets/${asset.id}/telemetry/latest`)).body.values ?? [];
    }
    expect(values.map((v) => [v.metric, v.value])).toEqual([
      ['flow', 31],
      ['temperature', 6.5],
    ]);
  });

  it("acknowledges a device's MQTT message (PUBACK) only once its readings are committed", async () => {
    const asset = (await api('POST', '/api/v1/assets', { name: 'Chiller 3', type: 'chiller' })).body;
    const known = Date.now() + 5_000;
    while (
      (await api('GET', `/api/v1/assets/${asset.id}/telemetry/latest`)).status === 404 &&
      Date.now() < known
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const telemetryDb = createPool({
      connectionString: withDatabase(testEnv.databaseUrl, `${prefix}_telemetry`),
      applicationName: 'e2e-puback',
      max: 2,
    });
    const stored = async () =>
      Number(
        (
          await telemetryDb.query<{ n: string }>(
            'SELECT count(*) AS n FROM readings JOIN series USING (series_id) WHERE series.asset_id = $1',
            [asset.id],
          )
        ).rows[0]!.n,
      );
    const device = await mqtt.connectAsync(platform.mqttUrl, { clientId: `device-${asset.id.slice(0, 8)}` });
    const holder = await telemetryDb.connect();
    try {
      // The readings table locked: the message's batch cannot commit yet.
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE readings IN ACCESS EXCLUSIVE MODE');
      let acknowledged = false;
      const published = device
        .publishAsync(
          `assetops/${asset.id}/telemetry`,
          JSON.stringify({
            ts: new Date(Date.now() - 1_000).toISOString(),
            values: { temperature: 7, flow: 30 },
          }),
          { qos: 1 },
        )
        .then(() => {
          acknowledged = true;
        });
      await new Promise((r) => setTimeout(r, 750));
      expect(acknowledged).toBe(false);
      await holder.query('ROLLBACK');
      await published;
      // Acknowledged: its readings are in the database already.
      expect(await stored()).toBe(2);
    } finally {
      holder.release();
      await device.endAsync();
      await telemetryDb.end();
    }
  });
});
