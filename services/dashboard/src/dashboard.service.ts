import { fileURLToPath } from 'node:url';
import {
  createHttpApp,
  loadConfig,
  prometheus,
  type ServiceContext,
  type ServiceDefinition,
  type ServiceInstance,
} from '@assetops/platform';
import { dashboardConfigSpec } from './dashboard.config.js';
import { JournalTrimmer } from './journal/journal.trim.js';
import { projectionHandlers } from './projection/projection.handlers.js';
import { registerRebuildRoutes } from './rebuild/rebuild.routes.js';
import { RebuildRunner } from './rebuild/rebuild.runner.js';
import { registerReconciliationRoutes } from './reconciliation/reconciliation.routes.js';
import { ChangeStream } from './stream/stream.hub.js';
import { registerStreamRoutes } from './stream/stream.routes.js';
import { registerViewRoutes } from './views/view.routes.js';

/**
 * The Dashboard service's composition root: a read-only projection (CQRS read model) of every
 * service's events in its own database — asset views and fleet totals — with a live SSE stream,
 * rebuilds from its event journal (trimmed of superseded telemetry windows), and a reconciliation
 * check against the source services' APIs.
 * It reads no other database and produces no events.
 *
 * @example
 * const { app, consumer } = await createDashboardService(ctx); await app.listen({ port: 0 });
 */
export async function createDashboardService(ctx: ServiceContext): Promise<ServiceInstance> {
  const config = loadConfig(dashboardConfigSpec, ctx.env);
  const lag = new prometheus.Histogram({
    name: 'assetops_dashboard_projection_lag_seconds',
    help: 'From an event’s time to its application to the dashboard read model',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [ctx.metrics],
  });
  const lastLag = new prometheus.Gauge({
    name: 'assetops_dashboard_projection_last_lag_seconds',
    help: 'Projection lag of the last event applied (now − its event time)',
    registers: [ctx.metrics],
  });
  const app = await createHttpApp({
    service: 'dashboard',
    logger: ctx.logger,
    metrics: ctx.metrics,
    description:
      'The dashboard read model: asset views, fleet totals, a live stream of changes, rebuilds and reconciliation.',
    readiness: { database: async () => void (await ctx.pool.query('SELECT 1')) },
  });
  const stream = new ChangeStream({
    pool: ctx.pool,
    logger: ctx.logger,
    clock: ctx.clock,
    keepaliveMs: config.DASHBOARD_STREAM_KEEPALIVE,
    fleetIntervalMs: config.DASHBOARD_FLEET_INTERVAL,
  });
  const rebuilds = new RebuildRunner({ pool: ctx.pool, clock: ctx.clock, ids: ctx.ids, logger: ctx.logger });
  const trimmer =
    config.DASHBOARD_JOURNAL_TRIM_INTERVAL > 0
      ? new JournalTrimmer({
          pool: ctx.pool,
          logger: ctx.logger,
          clock: ctx.clock,
          metrics: ctx.metrics,
          intervalMs: config.DASHBOARD_JOURNAL_TRIM_INTERVAL,
          batchSize: config.DASHBOARD_JOURNAL_TRIM_BATCH,
        })
      : undefined;
  registerViewRoutes(app, { pool: ctx.pool, clock: ctx.clock });
  registerStreamRoutes(app, { stream });
  registerRebuildRoutes(app, { pool: ctx.pool, rebuilds });
  registerReconciliationRoutes(app, {
    pool: ctx.pool,
    clock: ctx.clock,
    timeoutMs: config.DASHBOARD_RECONCILIATION_TIMEOUT,
    sources: {
      asset: config.DASHBOARD_ASSET_URL,
      alert: config.DASHBOARD_ALERT_URL,
      maintenance: config.DASHBOARD_MAINTENANCE_URL,
    },
  });
  // Open streams would keep the server from closing: end them first.
  app.addHook('preClose', async () => {
    await stream.stop();
  });
  return {
    app,
    consumer: {
      sources: ['asset', 'telemetry', 'alert', 'maintenance'],
      handlers: projectionHandlers({
        onApplied(event) {
          const seconds = Math.max(0, Date.now() - Date.parse(event.time)) / 1000;
          if (!Number.isFinite(seconds)) return;
          lag.observe(seconds);
          lastLag.set(seconds);
        },
      }),
    },
    async start() {
      await stream.start();
      trimmer?.start();
    },
    async stop() {
      await stream.stop();
      await trimmer?.stop();
      await rebuilds.stop();
    },
  };
}

export const dashboardService: ServiceDefinition = {
  name: 'dashboard',
  migrations: { module: 'dashboard', dir: fileURLToPath(new URL('../migrations', import.meta.url)) },
  create: createDashboardService,
};
