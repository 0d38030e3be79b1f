import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, createMetricsRegistry, type HttpApp } from '@assetops/platform';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGateway } from '../src/index.js';
import { ADMIN_TOKEN, AUTH, unusedUrl } from './support/echo-upstream.js';
import { type FakeService, startFakeService } from './support/fake-services.js';

const logger = createLogger({ service: 'gateway', level: 'silent' });
const ASSET_ID = '0190a000-0000-7000-8000-000000000001';
const MISSING_ID = '0190a000-0000-7000-8000-0000000000ff';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const asset = {
  id: ASSET_ID,
  name: 'Feed pump 1',
  type: 'pump',
  location: 'Plant A',
  metadata: {},
  status: 'active',
  statusReason: null,
  version: 2,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:01.000Z',
};
const latest = {
  assetId: ASSET_ID,
  values: [{ metric: 'temperature', ts: '2026-01-01T00:01:00.000Z', value: 91.5 }],
};
const alert = { id: 'a1', assetId: ASSET_ID, status: 'firing', severity: 'major', ruleName: 'Hot' };
const workOrder = (status: string, createdAt: string) => ({
  id: `wo-${status}`,
  assetId: ASSET_ID,
  status,
  createdAt,
});
/** The asset's work orders, newest first, closed ones among them. */
const assetWorkOrders = [
  workOrder('completed', '2026-01-01T00:00:10.000Z'),
  workOrder('in_progress', '2026-01-01T00:00:09.000Z'),
  workOrder('cancelled', '2026-01-01T00:00:07.000Z'),
  workOrder('open', '2026-01-01T00:00:05.000Z'),
];

// The four upstreams are real HTTP servers that answer like the services do, with a switch to make
// each one slow or failing: the gateway's composition is the unit under test, not the services.
describe('GET /api/v1/assets/:id/overview (API composition)', () => {
  let services: Record<'asset' | 'telemetry' | 'alert' | 'maintenance', FakeService>;
  let gateway: HttpApp;
  let metrics: ReturnType<typeof createMetricsRegistry>;

  beforeAll(async () => {
    services = {
      asset: await startFakeService('asset', {
        [`/api/v1/assets/${ASSET_ID}`]: () => ({ status: 200, body: asset }),
      }),
      telemetry: await startFakeService('telemetry', {
        [`/api/v1/assets/${ASSET_ID}/telemetry/latest`]: () => ({ status: 200, body: latest }),
      }),
      alert: await startFakeService('alert', {
        '/api/v1/alerts': (query) =>
          query.assetId === ASSET_ID && query.status === 'active'
            ? { status: 200, body: { items: [alert], nextCursor: null } }
            : { status: 200, body: { items: [], nextCursor: null } },
      }),
      // Filters like the service: any of the statuses asked for (comma-separated), newest first.
      maintenance: await startFakeService('maintenance', {
        '/api/v1/work-orders': (query) => {
          const statuses = String(query.status ?? '').split(',');
          return {
            status: 200,
            body: {
              items: assetWorkOrders.filter(
                (wo) => query.assetId === ASSET_ID && statuses.includes(wo.status),
              ),
              nextCursor: null,
            },
          };
        },
      }),
    };
    metrics = createMetricsRegistry('gateway');
    gateway = await createGateway({
      logger,
      metrics,
      adminToken: ADMIN_TOKEN,
      upstreams: Object.fromEntries(Object.entries(services).map(([name, s]) => [name, s.url])),
      compositionTimeoutMs: 2_000,
    });
    // A first request pays for connections and the services' first-call compilation; on a busy
    // test machine that alone can approach the budget, so it is made before the tests measure.
    await gateway.inject({ url: `/api/v1/assets/${ASSET_ID}/overview`, headers: AUTH });
  });
  afterAll(async () => {
    await gateway?.close();
    await Promise.all(Object.values(services ?? {}).map((s) => s.close()));
  });
  beforeEach(() => {
    for (const service of Object.values(services)) service.setMode('normal');
  });

  const overview = (id = ASSET_ID, headers: Record<string, string> = AUTH) =>
    gateway.inject({ url: `/api/v1/assets/${id}/overview`, headers });

  it('composes the four services into one document when all are up', async () => {
    const res = await overview(ASSET_ID, { ...AUTH, traceparent: TRACEPARENT, 'x-request-id': 'req-42' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({
      asset,
      latest,
      alerts: [alert],
      // Only open statuses are asked for, newest first.
      workOrders: [
        workOrder('in_progress', '2026-01-01T00:00:09.000Z'),
        workOrder('open', '2026-01-01T00:00:05.000Z'),
      ],
      degraded: [],
    });

    // Each service was asked once (maintenance for every open status in one list call), with the
    // trace context and request id forwarded as the proxy forwards them, and never the client's token.
    expect(services.asset.requests).toHaveLength(1);
    expect(services.telemetry.requests).toHaveLength(1);
    expect(services.alert.requests.map((r) => r.url)).toEqual([
      `/api/v1/alerts?assetId=${ASSET_ID}&status=active&limit=100`,
    ]);
    expect(services.maintenance.requests.map((r) => r.url)).toEqual([
      `/api/v1/work-orders?assetId=${ASSET_ID}&status=open,assigned,in_progress,on_hold&limit=100`,
    ]);
    for (const service of Object.values(services)) {
      for (const request of service.requests) {
        expect(request.headers.traceparent).toBe(TRACEPARENT);
        expect(request.headers['x-request-id']).toBe('req-42');
        expect(request.headers.authorization).toBeUndefined();
      }
    }
  });

  it('returns the rest and marks the part degraded when a service is too slow', async () => {
    services.alert.setMode('slow');
    const started = Date.now();
    const res = await overview();
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.degraded).toEqual(['alert']);
    expect(body.alerts).toBeNull();
    expect(body.asset).toEqual(asset);
    expect(body.latest).toEqual(latest);
    expect(body.workOrders).toHaveLength(2);
    // The per-call budget (2 s here), not the slow service's 5 s, bounds the answer.
    expect(Date.now() - started).toBeLessThan(4_500);
    const exported = await metrics.metrics();
    expect(exported).toMatch(/assetops_gateway_overview_degraded_total\{service="alert"\} [1-9]/);
  });

  it('returns the rest when a service is down', async () => {
    const down = await createGateway({
      logger,
      adminToken: ADMIN_TOKEN,
      upstreams: {
        asset: services.asset.url,
        telemetry: services.telemetry.url,
        alert: services.alert.url,
        maintenance: await unusedUrl(),
      },
      compositionTimeoutMs: 2_000,
    });
    try {
      const res = await down.inject({ url: `/api/v1/assets/${ASSET_ID}/overview`, headers: AUTH });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        asset,
        latest,
        alerts: [alert],
        workOrders: null,
        degraded: ['maintenance'],
      });
    } finally {
      await down.close();
    }
  });

  it('treats a service error, an unconfigured service and a degraded asset service alike', async () => {
    services.telemetry.setMode('error');
    services.asset.setMode('error');
    const partial = await createGateway({
      logger,
      adminToken: ADMIN_TOKEN,
      upstreams: { asset: services.asset.url, telemetry: services.telemetry.url, alert: services.alert.url },
      compositionTimeoutMs: 2_000,
    });
    try {
      const res = await partial.inject({ url: `/api/v1/assets/${ASSET_ID}/overview`, headers: AUTH });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        asset: null,
        latest: null,
        alerts: [alert],
        workOrders: null,
        degraded: ['asset', 'telemetry', 'maintenance'],
      });
    } finally {
      await partial.close();
    }
  });

  it('shows no latest values (not a degradation) while telemetry does not know the asset yet', async () => {
    services.telemetry.setMode('notFound');
    const res = await overview();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ latest: { assetId: ASSET_ID, values: [] }, degraded: [] });
  });

  it('answers 404 problem+json for an asset that does not exist', async () => {
    const res = await overview(MISSING_ID);
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 404, code: 'ASSET_NOT_FOUND' });
  });

  it('refuses a malformed id (400) and a missing token (401) before calling anyone', async () => {
    const bad = await overview('not-a-uuid');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('VALIDATION_FAILED');
    const anonymous = await overview(ASSET_ID, {});
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="assetops"');
    for (const service of Object.values(services)) expect(service.requests).toHaveLength(0);
  });

  it('leaves the other asset routes to the proxy', async () => {
    const res = await gateway.inject({ url: `/api/v1/assets/${ASSET_ID}`, headers: AUTH });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(asset);
  });
});

/** How a raw upstream answers one request: what it writes, and whether it then ends the answer. */
type RawAnswer = (path: string, res: http.ServerResponse) => void;

/**
 * One plain `node:http` server standing in for all four services, for what the Fastify-based fakes
 * cannot do: count the TCP connections it accepted, and stall in the middle of a body.
 */
async function startRawUpstream(answer: RawAnswer) {
  let connections = 0;
  const server = http.createServer((req, res) => answer(req.url ?? '', res));
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const json = (res: http.ServerResponse, body: unknown) => {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

/** A well-behaved answer for each part of an overview of ASSET_ID. */
const answerAll: RawAnswer = (path, res) => {
  if (path.startsWith(`/api/v1/assets/${ASSET_ID}/telemetry/latest`)) return json(res, latest);
  if (path.startsWith(`/api/v1/assets/${ASSET_ID}`)) return json(res, asset);
  return json(res, { items: [], nextCursor: null });
};

describe('GET /api/v1/assets/:id/overview: the calls to the services', () => {
  const gatewayOn = (url: string) =>
    createGateway({
      logger,
      adminToken: ADMIN_TOKEN,
      upstreams: { asset: url, telemetry: url, alert: url, maintenance: url },
      compositionTimeoutMs: 500,
    });

  it('reuses kept-alive connections from one overview to the next', async () => {
    const upstream = await startRawUpstream(answerAll);
    const gateway = await gatewayOn(upstream.url);
    try {
      for (let i = 0; i < 5; i++) {
        const res = await gateway.inject({ url: `/api/v1/assets/${ASSET_ID}/overview`, headers: AUTH });
        expect(res.json()).toMatchObject({ asset, latest, alerts: [], workOrders: [], degraded: [] });
      }
      // Four calls in parallel per overview: at most four connections, whatever the number of
      // overviews (a connection per call would be twenty).
      expect(upstream.connections()).toBeGreaterThan(0);
      expect(upstream.connections()).toBeLessThanOrEqual(4);
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });

  it('degrades a part whose service stalls in the middle of its answer, or answers what is not JSON', async () => {
    const upstream = await startRawUpstream((path, res) => {
      if (path.startsWith('/api/v1/alerts')) {
        // Headers and half a body, then nothing: only the budget can end this call.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"items":[');
        return;
      }
      if (path.startsWith('/api/v1/work-orders')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('<html>not json</html>');
        return;
      }
      answerAll(path, res);
    });
    const metrics = createMetricsRegistry('gateway');
    const gateway = await createGateway({
      logger,
      metrics,
      adminToken: ADMIN_TOKEN,
      upstreams: {
        asset: upstream.url,
        telemetry: upstream.url,
        alert: upstream.url,
        maintenance: upstream.url,
      },
      compositionTimeoutMs: 500,
    });
    try {
      const res = await gateway.inject({ url: `/api/v1/assets/${ASSET_ID}/overview`, headers: AUTH });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        asset,
        latest,
        alerts: null,
        workOrders: null,
        degraded: ['alert', 'maintenance'],
      });
      const exported = await metrics.metrics();
      expect(exported).toMatch(/assetops_gateway_overview_degraded_total\{service="alert"\} 1/);
      expect(exported).toMatch(/assetops_gateway_overview_degraded_total\{service="maintenance"\} 1/);
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});
