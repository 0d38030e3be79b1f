import {
  type Clock,
  ConfigError,
  createHttpApp,
  createMetricsRegistry,
  type HttpApp,
  type Logger,
  type MetricsRegistry,
  type ReadinessCheck,
  systemClock,
} from '@assetops/platform';
import { type Authenticate, createTokenAuthenticator } from './auth/auth.js';
import { docsRoutes } from './docs/docs.routes.js';
import { createOpenApiSource } from './docs/openapi.source.js';
import { createProxyMetrics } from './proxy/proxy.metrics.js';
import { proxyRoutes } from './proxy/proxy.routes.js';
import { compileRouteTable, defaultRoutes, type RouteTable } from './proxy/route-table.js';
import { checkUpstreamHealth, parseUpstreams } from './upstreams/upstreams.js';

export interface GatewayOptions {
  logger: Logger;
  /** The gateway's Prometheus registry (one is created when absent). */
  metrics?: MetricsRegistry;
  /** Bearer token that grants full access to `/api/v1/*`. */
  adminToken: string;
  /** Service name → base URL, e.g. `{ asset: 'http://127.0.0.1:8081' }`. */
  upstreams: Record<string, string>;
  /** Path pattern → service name; {@link defaultRoutes} when absent. */
  routes?: RouteTable;
  /**
   * How long an upstream may take to start answering, and between two chunks of its body; default
   * 10 s. Checked on undici's coarse clock: precise to about a second.
   */
  upstreamTimeoutMs?: number;
  /** Largest request body forwarded to a service, in bytes; default 16 MiB. */
  maxBodyBytes?: number;
  /** How long the merged OpenAPI document is cached; default 10 s. */
  docsCacheTtlMs?: number;
  /** How long each service may take to serve its `/openapi.json` for the docs; default 2 s. */
  docsFetchTimeoutMs?: number;
  /** Replaces the admin-token check (the roles issue plugs users and devices in here). */
  authenticate?: Authenticate;
  clock?: Clock;
}

/** `/ready` asks each upstream's `/health` with this budget. */
const UPSTREAM_HEALTH_TIMEOUT_MS = 1_000;

/**
 * Builds (does not start) the gateway: the single entry point for users and devices. It
 * authenticates `/api/v1/*`, forwards each call to the service that owns its path, and publishes
 * one API documentation merged from every service's. It owns no data.
 *
 * Public: `/health`, `/ready` (every configured upstream's `/health`), `/metrics`, `/openapi.json`
 * (the gateway's own, nearly empty document), `/docs` and `/docs/openapi.json` (the merged one).
 *
 * @example
 * const app = await createGateway({
 *   logger, adminToken: 'a-long-random-admin-token', upstreams: { asset: 'http://127.0.0.1:8081' },
 * });
 * await app.listen({ port: 8080, host: '0.0.0.0' });
 */
export async function createGateway(opts: GatewayOptions): Promise<HttpApp> {
  if (opts.adminToken.length === 0 && opts.authenticate === undefined) {
    throw new ConfigError(['the gateway needs an admin token']);
  }
  const upstreams = parseUpstreams(opts.upstreams);
  const routes = opts.routes ?? defaultRoutes;
  const clock = opts.clock ?? systemClock;
  const metrics = opts.metrics ?? createMetricsRegistry('gateway');

  const readiness: Record<string, ReadinessCheck> = {};
  for (const upstream of upstreams.values()) {
    readiness[upstream.name] = () => checkUpstreamHealth(upstream, UPSTREAM_HEALTH_TIMEOUT_MS);
  }

  const app = await createHttpApp({
    service: 'gateway',
    logger: opts.logger,
    metrics,
    readiness,
    description: 'AssetOps gateway: authentication and routing. The API itself is documented at /docs.',
  });

  await app.register(proxyRoutes, {
    upstreams,
    routes,
    authenticate: opts.authenticate ?? createTokenAuthenticator({ adminToken: opts.adminToken }),
    timeoutMs: opts.upstreamTimeoutMs ?? 10_000,
    maxBodyBytes: opts.maxBodyBytes ?? 16 * 1024 * 1024,
    metrics: createProxyMetrics(metrics),
  });
  await app.register(docsRoutes, {
    source: createOpenApiSource({
      upstreams,
      matchRoute: compileRouteTable(routes),
      cacheTtlMs: opts.docsCacheTtlMs ?? 10_000,
      fetchTimeoutMs: opts.docsFetchTimeoutMs ?? 2_000,
      now: () => clock.now().getTime(),
    }),
  });
  return app;
}
