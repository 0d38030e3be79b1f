import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
  type RawServerDefault,
} from 'fastify';
import type { Logger } from '../logger.js';
import { createOtlpMetricsExporter, otlpMetricsSettings } from '../otel-metrics.js';
import { withTimeout } from '../timeout.js';
import { createTracer, parseTraceparent, type Span, type Tracer } from '../tracing.js';
import { finiteNumbersOnly } from './finite-numbers.js';
import { createMetricsRegistry, type MetricsRegistry, prometheus } from './metrics.js';
import { problem, sendProblem, toProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's server span: its `traceparent` goes on the events the request causes. */
    span: Span | undefined;
  }
}

/** A Fastify instance typed for TypeBox route schemas, as every service builds its routes on. */
export type HttpApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  Logger,
  TypeBoxTypeProvider
>;

/** A readiness check: resolves when the dependency is usable, rejects (with a reason) when not. */
export type ReadinessCheck = () => Promise<void>;

export interface HttpAppOptions {
  service: string;
  logger: Logger;
  version?: string;
  description?: string;
  /** Named checks run by `/ready` (database, bus, upstream services…). */
  readiness?: Record<string, ReadinessCheck>;
  metrics?: MetricsRegistry;
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Records the requests' server spans (default: one exporting where the process's tracing goes). */
  tracer?: Tracer;
  /** Extra Fastify server options (trustProxy…). */
  server?: Partial<FastifyServerOptions>;
  /**
   * Where the OpenTelemetry settings are read (default: the process environment): with
   * `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` set, the registry is
   * pushed to the collector periodically, and once more when the app closes.
   */
  env?: Record<string, string | undefined>;
}

/**
 * Builds (does not start) a service's Fastify app with what every service has: JSON logging,
 * request ids, `/health`, `/ready`, `/metrics`, `/openapi.json`, HTTP latency histograms and one
 * error handler that answers `application/problem+json` with a stable `code` — a bad request
 * never becomes a 500, and a 500 never leaks internals.
 *
 * @example
 * const app = await createHttpApp({ service: 'asset', logger, readiness: { database: () => pool.query('select 1').then(() => {}) } });
 * app.get('/api/v1/assets/:id', { schema }, handler);
 * await app.listen({ port: 0, host: '127.0.0.1' });
 */
export async function createHttpApp(opts: HttpAppOptions): Promise<HttpApp> {
  const metrics = opts.metrics ?? createMetricsRegistry(opts.service);
  // Read first: a malformed OTEL_* value stops the start before anything is built.
  const otlp = otlpMetricsSettings(opts.env ?? process.env);
  const app = Fastify({
    loggerInstance: opts.logger,
    // Per-request log lines would dominate the log at ingest rates; errors are logged by the
    // error handler and latency is in the metrics.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    ajv: {
      customOptions: {
        // Unknown fields are refused (400), not silently dropped; every problem is reported at once.
        removeAdditional: false,
        allErrors: true,
        coerceTypes: 'array',
        useDefaults: true,
      },
      plugins: [finiteNumbersOnly],
    },
    // Errors Fastify raises before routing (a malformed URL, a path parameter over maxParamLength)
    // are problems like every other refusal, not Fastify's own JSON.
    frameworkErrors: (err, _request, reply) => {
      if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        return sendProblem(
          reply,
          problem(414, 'URI_TOO_LONG', 'a path parameter is longer than this API accepts'),
        );
      }
      return sendProblem(reply, problem(400, 'BAD_URL', 'the URL is malformed'));
    },
    ...opts.server,
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as HttpApp;

  const duration = new prometheus.Histogram({
    name: 'assetops_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [metrics],
  });
  // Every request is a server span: a child of the caller's traceparent, else a new trace's root.
  const tracer = opts.tracer ?? createTracer(opts.service);
  app.decorateRequest('span', undefined);
  app.addHook('onRequest', async (request) => {
    const header = request.headers.traceparent;
    request.span = tracer.startSpan(`${request.method} ${request.routeOptions.url ?? 'unmatched'}`, {
      kind: 'server',
      parent: parseTraceparent(typeof header === 'string' ? header : undefined),
      attributes: { 'http.request.method': request.method, 'url.path': request.url.split('?')[0] ?? '' },
    });
  });
  app.addHook('onResponse', async (request, reply) => {
    request.span?.setAttribute('http.response.status_code', reply.statusCode);
    request.span?.end(reply.statusCode >= 500 ? new Error(`HTTP ${reply.statusCode}`) : undefined);
    duration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler(async (err, request, reply) => {
    const body = toProblem(err, request);
    if (body.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.debug({ code: body.code, detail: body.detail }, 'request refused');
    return sendProblem(reply, body);
  });
  app.setNotFoundHandler(async (request, reply) =>
    sendProblem(reply, problem(404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${request.url}`)),
  );

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: `AssetOps ${opts.service} service`,
        version: opts.version ?? '0.1.0',
        ...(opts.description ? { description: opts.description } : {}),
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    hideUntagged: false,
  });

  const internal = { schema: { hide: true } } as const;
  app.get('/health', internal, async () => ({ status: 'ok', service: opts.service }));
  app.get('/ready', internal, async (_request, reply) => {
    const checks: Record<string, string> = {};
    let ready = true;
    await Promise.all(
      Object.entries(opts.readiness ?? {}).map(async ([name, check]) => {
        try {
          await withTimeout(check(), 2_000);
          checks[name] = 'ok';
        } catch (err) {
          ready = false;
          checks[name] = (err as Error).message || 'failed';
        }
      }),
    );
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not ready', service: opts.service, checks });
  });
  app.get('/metrics', internal, async (_request, reply) =>
    reply.type(metrics.contentType).send(await metrics.metrics()),
  );
  app.get('/openapi.json', internal, async () => app.swagger());
  app.decorate('metrics', metrics);

  // Pushed where the registry is served: every service builds its app here, in both runtimes. The
  // last push runs at close (bounded: a push is given at most 10 s), after the server stopped
  // taking requests, so the final counts include every request served.
  if (otlp) {
    const exporter = createOtlpMetricsExporter({
      registry: metrics,
      service: opts.service,
      logger: opts.logger,
      ...otlp,
    });
    app.addHook('onClose', () => exporter.shutdown());
  }
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The service's Prometheus registry (also served at `/metrics`). */
    metrics: MetricsRegistry;
  }
}
