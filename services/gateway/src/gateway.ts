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
import type { AccessControl } from './access/access.control.js';
import { accessRoutes } from './access/access.routes.js';
import { decommissionGuard } from './access/decommission.guard.js';
import { mqttAuthRoutes } from './access/mqtt-auth.routes.js';
import { type Authenticate, createTokenAuthenticator } from './auth/auth.js';
import { docsRoutes } from './docs/docs.routes.js';
import { createOpenApiSource } from './docs/openapi.source.js';
import { overviewRoutes } from './overview/overview.routes.js';
import { createProxyMetrics } from './proxy/proxy.metrics.js';
import { proxyRoutes } from './proxy/proxy.routes.js';
import { compileRouteTable, defaultRoutes, type RouteTable } from './proxy/route-table.js';
import { checkUpstreamHealth, parseUpstreams } from './upstreams/upstreams.js';
import { webRoutes } from './web/web.routes.js';

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
  /**
   * How long each service may take within a composed call (`/api/v1/assets/:id/overview`) before
   * its part is returned as unavailable; default 1 s.
   */
  compositionTimeoutMs?: number;
  /** Largest request body forwarded to a service, in bytes; default 16 MiB. */
  maxBodyBytes?: number;
  /** How long the merged OpenAPI document is cached; default 10 s. */
  docsCacheTtlMs?: number;
  /** How long each service may take to serve its `/openapi.json` for the docs; default 2 s. */
  docsFetchTimeoutMs?: number;
  /** Replaces the admin-token check (the roles issue plugs users and devices in here). */
  authenticate?: Authenticate;
  /**
   * Users, roles, API and device tokens, the policy table and rate limits (`createAccessControl`
   * on the gateway's own database). Without it only the admin token is accepted, for everything.
   */
  access?: AccessControl;
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
 * (the gateway's own document: its composed routes), `/docs` and `/docs/openapi.json` (the merged
 * one), and the web UI at `/` (static files; the UI calls `/api/v1` with the user's token).
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
  const accessPool = opts.access?.pool;
  if (accessPool) readiness.database = () => accessPool.query('SELECT 1').then(() => undefined);

  const app = await createHttpApp({
    service: 'gateway',
    logger: opts.logger,
    metrics,
    readiness,
    description: 'AssetOps gateway: authentication and routing. The API itself is documented at /docs.',
  });

  const access = opts.access;
  const authenticate =
    access?.authenticate ?? opts.authenticate ?? createTokenAuthenticator({ adminToken: opts.adminToken });
  if (access) {
    // Added on the root before the proxy is registered, so the proxy's scope inherits it.
    app.addHook('preParsing', decommissionGuard);
    await app.register(accessRoutes, { access });
    await app.register(mqttAuthRoutes, { access });
  }
  // Composed routes are registered beside the proxy: the router prefers their parametric paths to
  // the proxy's `/api/v1/*` catch-all, whatever the registration order.
  await app.register(overviewRoutes, {
    upstreams,
    authenticate,
    timeoutMs: opts.compositionTimeoutMs ?? 1_000,
    metrics,
  });
  await app.register(proxyRoutes, {
    upstreams,
    routes,
    authenticate,
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
      ownDocument: () => app.swagger() as unknown as Record<string, unknown>,
    }),
  });
  await app.register(webRoutes);
  return app;
}
