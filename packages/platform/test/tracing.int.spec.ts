import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commandMeta,
  configureTracing,
  createHttpApp,
  createInProcessBus,
  createLogger,
  createOtlpHttpExporter,
  createTracer,
  formatTraceparent,
  type HttpApp,
  parseTraceparent,
} from '../src/index.js';
import { assetUpdated, startBackbone } from './messaging/backbone.harness.js';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
  status: { code: number };
}

/** A stand-in OpenTelemetry collector: records what arrives at POST /v1/traces. */
async function startCollector(): Promise<{ url: string; spans: () => ExportedSpan[]; server: Server }> {
  const bodies: { resourceSpans: { scopeSpans: { spans: ExportedSpan[] }[] }[] }[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => {
      if (req.url === '/v1/traces') bodies.push(JSON.parse(text));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    spans: () => bodies.flatMap((b) => b.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))),
  };
}

describe('trace context and span export', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let app: HttpApp;
  const exporter = () => createOtlpHttpExporter({ endpoint: `${collector.url}/v1/traces`, intervalMs: 50 });
  let httpExporter: ReturnType<typeof exporter>;

  beforeAll(async () => {
    collector = await startCollector();
    httpExporter = exporter();
    app = await createHttpApp({
      service: 'asset',
      logger: createLogger({ service: 'asset', level: 'silent' }),
      tracer: createTracer('asset', httpExporter),
    });
    app.post('/api/v1/things', async (request) => ({ traceparent: commandMeta(request).traceparent }));
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await httpExporter?.shutdown();
    collector?.server.close();
  });

  it('parses and formats traceparent, ignoring malformed and all-zero ones', () => {
    const header = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(parseTraceparent(header)).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      sampled: true,
    });
    expect(formatTraceparent(parseTraceparent(header)!)).toBe(header);
    expect(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeUndefined();
    expect(parseTraceparent('zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBeUndefined();
    expect(parseTraceparent(undefined)).toBeUndefined();
  });

  it('gives every span a distinct random id, and every root span a distinct trace id', () => {
    const tracer = createTracer('ids', { export: () => {}, flush: async () => {}, shutdown: async () => {} });
    // More than one refill of the pool of random bytes the ids are cut from.
    const spans = Array.from({ length: 2000 }, () => tracer.startSpan('s'));
    for (const span of spans) {
      expect(span.context.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(span.context.spanId).toMatch(/^[0-9a-f]{16}$/);
    }
    expect(new Set(spans.map((s) => s.context.spanId)).size).toBe(spans.length);
    expect(new Set(spans.map((s) => s.context.traceId)).size).toBe(spans.length);
    const child = tracer.startSpan('child', { parent: spans[0]!.context });
    expect(child.context.traceId).toBe(spans[0]!.context.traceId);
  });

  it('continues the caller’s trace in a server span whose traceparent the request’s commands carry', async () => {
    const caller = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await app.inject({ method: 'POST', url: '/api/v1/things', headers: { traceparent: caller } });
    const carried = parseTraceparent(res.json().traceparent);
    expect(carried?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(carried?.spanId).not.toBe('00f067aa0ba902b7');

    const fresh = parseTraceparent(
      (
        await app.inject({ method: 'POST', url: '/api/v1/things', headers: { traceparent: 'garbage' } })
      ).json().traceparent,
    );
    expect(fresh?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(fresh?.traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');

    await httpExporter.flush();
    const server = collector.spans().find((s) => s.spanId === carried?.spanId);
    expect(server).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentSpanId: '00f067aa0ba902b7',
      name: 'POST /api/v1/things',
      kind: 2,
      status: { code: 1 },
    });
    expect(server?.attributes).toContainEqual({
      key: 'http.response.status_code',
      value: { intValue: '200' },
    });
    const root = collector.spans().find((s) => s.spanId === fresh?.spanId);
    expect(root).toBeDefined();
    expect(root?.parentSpanId).toBeUndefined();
  });

  it('handles an event in a consumer span that is a child of the span that produced it', async () => {
    const processExporter = configureTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url });
    const bus = createInProcessBus();
    const backbone = await startBackbone({
      name: 'in-process',
      open: async () => ({
        producerBus: bus,
        consumerBus: bus,
        redeliver: (event) => bus.publish([event]),
        close: () => bus.close(),
      }),
    });
    try {
      const producerSpan = createTracer('asset').startSpan('PATCH /api/v1/assets/:id', { kind: 'server' });
      const event = { ...assetUpdated(randomUUID(), 1), traceparent: producerSpan.traceparent };
      await backbone.append([event]);
      await backbone.waitProcessed([event.id]);
      await processExporter.flush();
      const consumer = collector
        .spans()
        .find((s) => s.kind === 5 && s.parentSpanId === producerSpan.context.spanId);
      expect(consumer).toMatchObject({ traceId: producerSpan.context.traceId, status: { code: 1 } });
      expect(consumer?.attributes).toContainEqual({
        key: 'messaging.message.id',
        value: { stringValue: event.id },
      });
    } finally {
      await backbone.stop();
      await processExporter.shutdown();
      configureTracing({});
    }
  });
});
