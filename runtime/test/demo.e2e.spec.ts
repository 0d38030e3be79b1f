import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Alert, Asset, LatestValues, Technician, WorkOrder } from '@assetops/contracts';
import { createLogger, dropServiceDatabase } from '@assetops/platform';
import { testEnv } from '@assetops/platform/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoAssets } from '../src/demo/index.js';
import { type AllInOne, databaseServices, startAllInOne } from '../src/index.js';

// The demo of `npm start`: an empty platform gets a simulated fleet whose scheduled fault raises an
// alert and opens a work order; a second start on the same data resumes it without registering again.
describe('demo on the all-in-one runtime', () => {
  const prefix = `demo_${randomBytes(3).toString('hex')}`;
  const token = 'test-admin-token-0123456789';
  let dataDir: string;
  let platform: AllInOne | undefined;
  const announced: string[] = [];

  const start = (firstFaultAfterMs: number) =>
    startAllInOne({
      dataDir,
      port: 0,
      host: '127.0.0.1',
      adminToken: token,
      postgres: { adminUrl: testEnv.databaseUrl, databasePrefix: prefix },
      logger: createLogger({ service: 'runtime', level: 'silent' }),
      demo: { firstFaultAfterMs, faultsPerHour: 0, announce: (line) => announced.push(line) },
    });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'assetops-demo-'));
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

  async function get<T>(url: string): Promise<T> {
    const res = await fetch(`${platform!.gatewayUrl}${url}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status, url).toBe(200);
    return (await res.json()) as T;
  }

  /** Polls until `probe` returns something (the machine may be loaded: generous timeout, no sleeps to wait out). */
  async function eventually<T>(
    what: string,
    probe: () => Promise<T | undefined>,
    timeoutMs = 45_000,
  ): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > until) throw new Error(`${what}: not in time`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('seeds a fleet on an empty platform; its fault raises an alert that opens an assigned work order', async () => {
    platform = await start(0);
    const state = await platform.demo!.ready;
    expect(state.seeded).toBe(true);
    expect(state.assets).toHaveLength(demoAssets.length);
    expect(state.assets.every((a) => a.status === 'active')).toBe(true);
    expect(state.scheduledFault).toMatchObject({ assetName: 'Feed pump 1', kind: 'bearing-overheat' });
    expect(announced.at(-1)).toContain(`${platform.gatewayUrl}/`);
    expect(announced.at(-1)).toContain(token);

    const assets = await get<{ items: Asset[] }>('/api/v1/assets?limit=100');
    expect(assets.items).toHaveLength(demoAssets.length);
    expect(new Set(assets.items.map((a) => a.type))).toEqual(
      new Set(['pump', 'compressor', 'motor', 'chiller']),
    );
    for (const asset of assets.items) {
      expect(asset.metadata.demo).toBe(true);
      expect(asset.location).toBeTruthy();
    }
    const technicians = await get<{ items: Technician[] }>('/api/v1/technicians');
    expect(technicians.items.length).toBeGreaterThanOrEqual(2);

    const pumpId = state.scheduledFault!.assetId;
    const latest = await eventually('latest values', async () => {
      const values = await get<LatestValues>(`/api/v1/assets/${pumpId}/telemetry/latest`);
      const metrics = values.values.map((v) => v.metric);
      return ['temperature', 'vibration', 'pressure', 'flow', 'rpm', 'run_hours'].every((m) =>
        metrics.includes(m),
      )
        ? values
        : undefined;
    });
    expect(latest.values.find((v) => v.metric === 'run_hours')!.value).toBeGreaterThan(1_000);

    const alert = await eventually('alert raised', async () => {
      const page = await get<{ items: Alert[] }>(`/api/v1/alerts?assetId=${pumpId}`);
      return page.items.find((a) => a.ruleName === 'Bearing temperature high' && a.raisedAt !== null);
    });
    expect(alert.severity).toBe('major');
    expect(alert.value).toBeGreaterThan(85);

    const workOrder = await eventually('work order from the alert', async () => {
      const page = await get<{ items: WorkOrder[] }>(`/api/v1/work-orders?source=alert&assetId=${pumpId}`);
      return page.items.find((w) => w.sourceRef === alert.id);
    });
    expect(workOrder).toMatchObject({ source: 'alert', priority: 'high' });
    await eventually('work order assigned', async () => {
      const current = await get<WorkOrder>(`/api/v1/work-orders/${workOrder.id}`);
      return current.assigneeId ?? undefined;
    });

    // Every demo asset sends readings, not only the one with the fault.
    const chiller = assets.items.find((a) => a.type === 'chiller')!;
    await eventually('chiller readings', async () => {
      const values = await get<LatestValues>(`/api/v1/assets/${chiller.id}/telemetry/latest`);
      return values.values.some((v) => v.metric === 'return_temperature') ? true : undefined;
    });
  }, 150_000);

  it('resumes the demo assets on a later start without registering them again', async () => {
    await platform!.stop();
    platform = undefined;
    const restartedAt = Date.now();
    platform = await start(3_600_000);
    const state = await platform.demo!.ready;
    expect(state.seeded).toBe(false);
    expect(state.assets).toHaveLength(demoAssets.length);
    expect(announced.at(-1)).toMatch(/resumed/);
    const assets = await get<{ items: Asset[] }>('/api/v1/assets?limit=100');
    expect(assets.items).toHaveLength(demoAssets.length);
    const technicians = await get<{ items: Technician[] }>('/api/v1/technicians');
    expect(technicians.items).toHaveLength(3);

    const pumpId = state.scheduledFault!.assetId;
    await eventually('readings after the restart', async () => {
      const values = await get<LatestValues>(`/api/v1/assets/${pumpId}/telemetry/latest`);
      const temperature = values.values.find((v) => v.metric === 'temperature');
      return temperature && Date.parse(temperature.ts) > restartedAt ? true : undefined;
    });
  }, 90_000);
});
