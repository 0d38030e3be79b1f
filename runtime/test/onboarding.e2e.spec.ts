import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Asset, EventEnvelope, SagaDetail, SagaPage } from '@assetops/contracts';
import { createLogger, dropServiceDatabase } from '@assetops/platform';
import { testEnv } from '@assetops/platform/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AllInOne, databaseServices, startAllInOne } from '../src/index.js';

// The onboarding saga end to end in the all-in-one runtime: a registered asset becomes active by
// itself once Telemetry and Alert have set it up, and the saga is visible through the gateway.
describe('onboarding saga (all-in-one runtime)', () => {
  let platform: AllInOne;
  let dataDir: string;
  const prefix = `onb_${randomBytes(3).toString('hex')}`;
  const token = 'test-admin-token-0123456789';
  const received: EventEnvelope[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'assetops-onboarding-'));
    platform = await startAllInOne({
      dataDir,
      port: 0,
      host: '127.0.0.1',
      adminToken: token,
      postgres: { adminUrl: testEnv.databaseUrl, databasePrefix: prefix },
      logger: createLogger({ service: 'runtime', level: 'silent' }),
    });
    await platform.bus.subscribe({
      consumer: 'e2e-onboarding-observer',
      sources: ['asset', 'telemetry', 'alert'],
      types: [
        'assetops.asset.registered.v1',
        'assetops.asset.status-changed.v1',
        'assetops.telemetry.stream-initialized.v1',
        'assetops.alert.thresholds-initialized.v1',
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

  async function api(method: string, url: string, body?: unknown) {
    const res = await fetch(`${platform.gatewayUrl}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }

  async function eventually<T>(
    probe: () => Promise<T | undefined>,
    what: string,
    timeoutMs = 5_000,
  ): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('makes a registered asset active by itself, through telemetry and alert', async () => {
    const created = await api('POST', '/api/v1/assets', { name: 'Onboarded pump', type: 'pump' });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('commissioning');
    const sagaUrl = /<(\/api\/v1\/sagas\/[0-9a-f-]+)>; rel="onboarding-saga"/.exec(
      created.headers.get('link') ?? '',
    )?.[1];
    expect(sagaUrl).toBeDefined();

    const active = await eventually(async () => {
      const asset = (await api('GET', `/api/v1/assets/${created.body.id}`)).body as Asset;
      return asset.status === 'active' ? asset : undefined;
    }, 'the asset to become active');
    expect(active).toMatchObject({ statusReason: 'onboarding completed', version: 2 });

    const saga = (await api('GET', sagaUrl!)).body as SagaDetail;
    expect(saga).toMatchObject({
      type: 'onboarding',
      assetId: created.body.id,
      status: 'completed',
      steps: [
        { name: 'telemetry', status: 'done' },
        { name: 'alert', status: 'done' },
      ],
    });
    expect(saga.history.map((e) => `${e.step} ${e.action} ${e.outcome}`)).toEqual(
      expect.arrayContaining([
        'telemetry initialize confirmed',
        'alert initialize confirmed',
        'asset activate done',
      ]),
    );

    // One trace: every message of the onboarding carries the registration's correlation id.
    const ofAsset = await eventually(async () => {
      const found = received.filter((e) => e.subject === created.body.id);
      return found.length === 4 ? found : undefined;
    }, 'the onboarding events');
    expect(new Set(ofAsset.map((e) => e.correlationid)).size).toBe(1);
    expect(ofAsset.find((e) => e.type === 'assetops.asset.status-changed.v1')?.data).toMatchObject({
      from: 'commissioning',
      to: 'active',
      reason: 'onboarding completed',
    });

    // What the participants set up: readings are accepted, the pump profile's rules exist.
    const readings = await api('POST', '/api/v1/telemetry', {
      readings: [{ assetId: created.body.id, metric: 'temperature', value: 61.5 }],
    });
    expect(readings.body).toMatchObject({ accepted: 1, rejected: [] });
    const rules = await api('GET', `/api/v1/alert-rules?assetId=${created.body.id}`);
    expect(rules.body.items.length).toBeGreaterThan(0);
  });

  it('serves the saga API through the gateway', async () => {
    const created = await api('POST', '/api/v1/assets', { name: 'Listed chiller', type: 'chiller' });
    const page = await eventually(async () => {
      const res = (await api('GET', `/api/v1/sagas?assetId=${created.body.id}&status=completed`))
        .body as SagaPage;
      return res.items.length === 1 ? res : undefined;
    }, 'the saga to complete');
    expect(page.items[0]).toMatchObject({ assetId: created.body.id, type: 'onboarding', actions: [] });

    const retry = await api('POST', `/api/v1/sagas/${page.items[0]!.id}/retry`);
    expect(retry.status).toBe(409);
    expect(retry.body.code).toBe('SAGA_NOT_NEEDING_ATTENTION');
    const missing = await api('GET', '/api/v1/sagas/01900000-0000-7000-8000-00000000dead');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    const docs = (await (await fetch(`${platform.gatewayUrl}/docs/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(docs.paths)).toEqual(
      expect.arrayContaining(['/api/v1/sagas', '/api/v1/sagas/{id}', '/api/v1/sagas/{id}/retry']),
    );
  });
});
