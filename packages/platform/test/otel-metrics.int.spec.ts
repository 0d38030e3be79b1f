import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  createHttpApp,
  createLogger,
  createMetricsRegistry,
  createOtlpMetricsExporter,
  otlpMetricsSettings,
  prometheus,
} from '../src/index.js';

interface Attribute {
  key: string;
  value: { stringValue: string };
}
interface ExportedMetric {
  name: string;
  description: string;
  sum?: {
    aggregationTemporality: number;
    isMonotonic: boolean;
    dataPoints: {
      attributes: Attribute[];
      asDouble: number;
      startTimeUnixNano: string;
      timeUnixNano: string;
    }[];
  };
  gauge?: { dataPoints: { attributes: Attribute[]; asDouble: number; timeUnixNano: string }[] };
  histogram?: {
    aggregationTemporality: number;
    dataPoints: {
      attributes: Attribute[];
      count: string;
      sum: number;
      explicitBounds: number[];
      bucketCounts: string[];
    }[];
  };
  summary?: {
    dataPoints: {
      attributes: Attribute[];
      count: string;
      sum: number;
      quantileValues: { quantile: number; value: number }[];
    }[];
  };
}
interface MetricsRequest {
  resourceMetrics: {
    resource: { attributes: Attribute[] };
    scopeMetrics: { scope: { name: string }; metrics: ExportedMetric[] }[];
  }[];
}

/** A stand-in OpenTelemetry collector: records what arrives at POST /v1/metrics, answering `status`. */
async function startCollector(status = 200) {
  const requests: { path: string; contentType: string | undefined; body: MetricsRequest }[] = [];
  const waiting: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => {
      requests.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        body: JSON.parse(text),
      });
      for (const wake of waiting.splice(0)) wake();
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Resolves once a request has arrived (no time limit of its own: the test's applies). */
    next: () => new Promise<void>((resolve) => waiting.push(resolve)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const metricsOf = (request: MetricsRequest) =>
  request.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
const byName = (request: MetricsRequest, name: string) => metricsOf(request).find((m) => m.name === name);
const attrs = (attributes: Attribute[]) =>
  Object.fromEntries(attributes.map((a) => [a.key, a.value.stringValue]));
const logger = createLogger({ service: 'test', level: 'silent' });

describe('OpenTelemetry metrics export (OTLP/HTTP JSON)', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  beforeAll(async () => {
    collector = await startCollector();
  });
  afterAll(() => collector?.close());

  it('reads the standard variables: the metrics endpoint as it is, the generic one plus /v1/metrics', () => {
    expect(otlpMetricsSettings({})).toBeUndefined();
    expect(otlpMetricsSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toEqual({
      endpoint: 'http://collector:4318/v1/metrics',
      intervalMs: 60_000,
      serviceName: undefined,
    });
    expect(
      otlpMetricsSettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://metrics.example/otlp/push',
        OTEL_METRIC_EXPORT_INTERVAL: '15000',
        OTEL_SERVICE_NAME: 'plant-7-asset',
      }),
    ).toEqual({
      endpoint: 'https://metrics.example/otlp/push',
      intervalMs: 15_000,
      serviceName: 'plant-7-asset',
    });
    expect(
      otlpMetricsSettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_METRICS_EXPORTER: 'none',
      }),
    ).toBeUndefined();
    expect(() =>
      otlpMetricsSettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
        OTEL_METRIC_EXPORT_INTERVAL: '1m',
      }),
    ).toThrow(ConfigError);
  });

  it('pushes a counter, a gauge and a histogram with per-bucket counts, labels as attributes', async () => {
    const registry = createMetricsRegistry('asset', { processMetrics: false });
    const counter = new prometheus.Counter({
      name: 'assetops_test_readings_total',
      help: 'readings accepted',
      labelNames: ['source'],
      registers: [registry],
    });
    counter.inc({ source: 'mqtt' }, 3);
    counter.inc({ source: 'http' }, 2);
    new prometheus.Gauge({ name: 'assetops_test_pending', help: 'rows pending', registers: [registry] }).set(
      7,
    );
    const histogram = new prometheus.Histogram({
      name: 'assetops_test_batch_seconds',
      help: 'batch time',
      labelNames: ['route'],
      buckets: [0.1, 1, 5],
      registers: [registry],
    });
    for (const seconds of [0.05, 0.1, 0.5, 3, 10, 12]) histogram.observe({ route: '/x' }, seconds);
    const summary = new prometheus.Summary({
      name: 'assetops_test_payload_bytes',
      help: 'payload size',
      percentiles: [0.5, 0.9],
      registers: [registry],
    });
    for (let bytes = 1; bytes <= 10; bytes++) summary.observe(bytes);

    const exporter = createOtlpMetricsExporter({
      registry,
      service: 'asset',
      endpoint: `${collector.url}/v1/metrics`,
      intervalMs: 3_600_000,
      logger,
    });
    const before = collector.requests.length;
    await exporter.flush();
    await exporter.shutdown();
    expect(exporter.failures()).toBe(0);
    // flush, then the last push of shutdown
    const [request, last] = collector.requests.slice(before);
    expect(last).toBeDefined();
    expect(request).toMatchObject({ path: '/v1/metrics', contentType: 'application/json' });
    const body = request!.body;
    expect(body.resourceMetrics).toHaveLength(1);
    const resource = attrs(body.resourceMetrics[0]!.resource.attributes);
    expect(resource['service.name']).toBe('assetops-asset');
    expect(resource['service.instance.id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.resourceMetrics[0]!.scopeMetrics[0]!.scope.name).toBe('@assetops/platform');

    const sum = byName(body, 'assetops_test_readings_total')!.sum!;
    expect(sum).toMatchObject({ aggregationTemporality: 2, isMonotonic: true });
    expect(
      sum.dataPoints
        .map((p) => [attrs(p.attributes), p.asDouble])
        .sort((a, b) => Number(a[1]) - Number(b[1])),
    ).toEqual([
      [{ source: 'http', service: 'asset' }, 2],
      [{ source: 'mqtt', service: 'asset' }, 3],
    ]);
    expect(BigInt(sum.dataPoints[0]!.timeUnixNano)).toBeGreaterThanOrEqual(
      BigInt(sum.dataPoints[0]!.startTimeUnixNano),
    );

    const gauge = byName(body, 'assetops_test_pending')!;
    expect(gauge.description).toBe('rows pending');
    expect(gauge.gauge!.dataPoints).toMatchObject([{ asDouble: 7, attributes: [{ key: 'service' }] }]);

    const points = byName(body, 'assetops_test_batch_seconds')!.histogram!;
    expect(points.aggregationTemporality).toBe(2);
    expect(points.dataPoints).toHaveLength(1);
    expect(points.dataPoints[0]).toMatchObject({
      count: '6',
      explicitBounds: [0.1, 1, 5],
      // ≤0.1: 0.05 and 0.1; (0.1, 1]: 0.5; (1, 5]: 3; above 5: 10 and 12
      bucketCounts: ['2', '1', '1', '2'],
    });
    expect(points.dataPoints[0]!.sum).toBeCloseTo(25.65);
    expect(attrs(points.dataPoints[0]!.attributes)).toEqual({ route: '/x', service: 'asset' });

    const quantiles = byName(body, 'assetops_test_payload_bytes')!.summary!;
    expect(quantiles.dataPoints).toHaveLength(1);
    expect(quantiles.dataPoints[0]).toMatchObject({ count: '10', sum: 55 });
    expect(quantiles.dataPoints[0]!.quantileValues.map((q) => q.quantile)).toEqual([0.5, 0.9]);
    expect(attrs(quantiles.dataPoints[0]!.attributes)).toEqual({ service: 'asset' });
  });

  it('pushes every interval on its own', async () => {
    const registry = createMetricsRegistry('alert', { processMetrics: false });
    new prometheus.Gauge({ name: 'assetops_test_level', help: 'a level', registers: [registry] }).set(1);
    const arrived = collector.next();
    const exporter = createOtlpMetricsExporter({
      registry,
      service: 'alert',
      endpoint: `${collector.url}/v1/metrics`,
      intervalMs: 100,
      logger,
    });
    await arrived;
    await exporter.shutdown();
    const pushed = collector.requests.filter(
      (r) => byName(r.body, 'assetops_test_level') && !byName(r.body, 'assetops_test_pending'),
    );
    expect(pushed.length).toBeGreaterThanOrEqual(2); // at least one on the timer, and the last one
  });

  it('is wired into every service app by the environment, with a last push when the app closes', async () => {
    const app = await createHttpApp({
      service: 'maintenance',
      logger,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${collector.url}/`, OTEL_SERVICE_NAME: 'maintenance-eu' },
    });
    app.get('/api/v1/things', async () => ({ ok: true }));
    expect((await app.inject({ url: '/api/v1/things' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/v1/things?x=1' })).statusCode).toBe(200);
    const before = collector.requests.length;
    await app.close();
    const [last] = collector.requests.slice(before);
    expect(last?.path).toBe('/v1/metrics');
    expect(attrs(last!.body.resourceMetrics[0]!.resource.attributes)['service.name']).toBe('maintenance-eu');
    const latency = byName(last!.body, 'assetops_http_request_duration_seconds')!.histogram!;
    const things = latency.dataPoints.find((p) => attrs(p.attributes).route === '/api/v1/things');
    expect(things).toMatchObject({ count: '2' });
    expect(things!.bucketCounts.reduce((total, n) => total + Number(n), 0)).toBe(2);
    expect(things!.bucketCounts).toHaveLength(things!.explicitBounds.length + 1);
    // The Node process metrics go along (gauges and counters of the default collection).
    expect(byName(last!.body, 'assetops_process_cpu_user_seconds_total')?.sum?.isMonotonic).toBe(true);
  });

  it('logs and counts a failed push (unreachable or refused), never throws, and closes the app', async () => {
    const gone = await startCollector();
    await gone.close();
    const registry = createMetricsRegistry('telemetry', { processMetrics: false });
    new prometheus.Counter({ name: 'assetops_test_sent_total', help: 'sent', registers: [registry] }).inc();
    const unreachable = createOtlpMetricsExporter({
      registry,
      service: 'telemetry',
      endpoint: `${gone.url}/v1/metrics`,
      intervalMs: 3_600_000,
      logger,
    });
    await expect(unreachable.flush()).resolves.toBeUndefined();
    await expect(unreachable.shutdown()).resolves.toBeUndefined();
    expect(unreachable.failures()).toBe(2);

    const refusing = await startCollector(503);
    try {
      const refused = createOtlpMetricsExporter({
        registry,
        service: 'telemetry',
        endpoint: `${refusing.url}/v1/metrics`,
        intervalMs: 3_600_000,
        logger,
      });
      await refused.shutdown();
      expect(refused.failures()).toBe(1);
      expect(refusing.requests).toHaveLength(1);
    } finally {
      await refusing.close();
    }

    const app = await createHttpApp({
      service: 'telemetry',
      logger,
      env: { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${gone.url}/v1/metrics` },
    });
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
    await expect(app.close()).resolves.toBeUndefined();
  });
});
