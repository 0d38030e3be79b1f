import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Asset, SagaDetail } from '@assetops/contracts';
import { createLogger, dropServiceDatabase } from '@assetops/platform';
import { testEnv } from '@assetops/platform/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AllInOne, databaseServices, startAllInOne } from '../src/index.js';

// The decommissioning saga end to end in the all-in-one runtime, through the gateway: Maintenance
// refuses while work is in progress (the asset goes back to active, nothing else changed); with
// force, every participant takes its part and the asset is decommissioned.
describe('decommissioning saga (all-in-one runtime)', () => {
  let platform: AllInOne;
  let dataDir: string;
  const prefix = `dec_${randomBytes(3).toString('hex')}`;
  const token = 'test-admin-token-0123456789';

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'assetops-decommission-'));
    platform = await startAllInOne({
      dataDir,
      port: 0,
      host: '127.0.0.1',
      adminToken: token,
      postgres: { adminUrl: testEnv.databaseUrl, databasePrefix: prefix },
      logger: createLogger({ service: 'runtime', level: 'silent' }),
    });
  }, 120_000);
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
    // biome-ignore lint/suspicious/noExplicitAny: test reads loosely typed JSON
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as any };
  }

  async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000) {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const sagaOver = (url: string) =>
    eventually(async () => {
      const saga = (await api('GET', url)).body as SagaDetail;
      return saga.status === 'completed' || saga.status === 'failed' ? saga : undefined;
    }, `saga ${url} to end`);

  it('is refused while work is in progress, then decommissions with force', async () => {
    const created = await api('POST', '/api/v1/assets', { name: 'Retired pump', type: 'pump' });
    const assetId = created.body.id as string;
    await eventually(async () => {
      const asset = (await api('GET', `/api/v1/assets/${assetId}`)).body as Asset;
      return asset.status === 'active' ? asset : undefined;
    }, 'the asset to become active');
    const technician = await api('POST', '/api/v1/technicians', { name: 'Ann' });
    expect(technician.status).toBe(201);
    const workOrder = await eventually(async () => {
      const res = await api('POST', '/api/v1/work-orders', {
        assetId,
        title: 'Realign shaft',
        priority: 'high',
        assigneeId: technician.body.id,
      });
      return res.status === 201 ? res.body : undefined;
    }, 'maintenance to know the asset');
    expect((await api('POST', `/api/v1/work-orders/${workOrder.id}/start`)).status).toBe(200);
    const plan = await api('POST', '/api/v1/maintenance-plans', {
      assetId,
      title: 'Monthly service',
      priority: 'medium',
      interval: { every: 1, unit: 'month' },
    });
    expect(plan.status).toBe(201);

    const refused = await api('POST', `/api/v1/assets/${assetId}/decommission`);
    expect(refused.status).toBe(202);
    const refusedSaga = await sagaOver(refused.headers.get('location')!);
    expect(refusedSaga).toMatchObject({
      type: 'decommissioning',
      status: 'failed',
      steps: [{ name: 'maintenance', status: 'refused' }, { status: 'pending' }, { status: 'pending' }],
    });
    expect(refusedSaga.reason).toContain(workOrder.id);
    const back = (await api('GET', `/api/v1/assets/${assetId}`)).body as Asset;
    expect(back.status).toBe('active');
    expect(back.statusReason).toContain('decommissioning called off: maintenance refused');
    expect((await api('GET', `/api/v1/work-orders/${workOrder.id}`)).body.status).toBe('in_progress');

    const forced = await api('POST', `/api/v1/assets/${assetId}/decommission`, {
      force: true,
      reason: 'replaced by pump 7',
    });
    expect(forced.status).toBe(202);
    const done = await sagaOver(forced.headers.get('location')!);
    expect(done.status).toBe('completed');
    expect(done.history.map((e) => `${e.step} ${e.action} ${e.outcome}`)).toEqual(
      expect.arrayContaining([
        'maintenance execute confirmed',
        'alert execute confirmed',
        'telemetry execute confirmed',
        'asset decommission done',
      ]),
    );
    expect((await api('GET', `/api/v1/assets/${assetId}`)).body).toMatchObject({
      status: 'decommissioned',
      statusReason: 'replaced by pump 7',
    });
    expect((await api('GET', `/api/v1/work-orders/${workOrder.id}`)).body.status).toBe('cancelled');
    expect((await api('GET', `/api/v1/maintenance-plans/${plan.body.id}`)).body.active).toBe(false);
    const rules = (await api('GET', `/api/v1/alert-rules?assetId=${assetId}`)).body.items as {
      enabled: boolean;
    }[];
    expect(rules.length).toBeGreaterThan(0);
    expect(rules.every((r) => !r.enabled)).toBe(true);
    const readings = await api('POST', '/api/v1/telemetry', {
      readings: [{ assetId, metric: 'temperature', value: 61.5 }],
    });
    expect(readings.body.rejected[0].code).toMatch(/^ASSET_DECOMMISSION(ED|ING)$/);

    const again = await api('POST', `/api/v1/assets/${assetId}/decommission`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('ASSET_DECOMMISSIONED');
  }, 120_000);
});
