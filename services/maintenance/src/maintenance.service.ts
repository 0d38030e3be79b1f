import { fileURLToPath } from 'node:url';
import {
  createHttpApp,
  loadConfig,
  type ServiceContext,
  type ServiceDefinition,
  type ServiceInstance,
} from '@assetops/platform';
import { alertHandlers } from './alerts/alert-handlers.js';
import { decommissioningHandlers } from './assets/decommissioning-handlers.js';
import { knownAssetHandlers } from './assets/known-assets.js';
import { maintenanceConfigSpec, slaPolicy } from './maintenance.config.js';
import { planUsageHandlers } from './plans/plan.handlers.js';
import { UsageMetricIndex } from './plans/plan.relevance.js';
import { registerPlanRoutes } from './plans/plan.routes.js';
import { createPlanLoop } from './plans/plan.runner.js';
import { registerTechnicianRoutes } from './technicians/technician.routes.js';
import { registerWorkOrderRoutes } from './work-orders/work-order.routes.js';

/**
 * The Maintenance service's composition root: technicians and work orders on its own database, its
 * own list of assets from the asset events, and work orders opened, re-prioritised and annotated
 * from the alert events (choreography), and preventive plans that open work orders by time (its own
 * timer) or by usage (the telemetry feed), whichever comes first. It produces WorkOrderCreated,
 * WorkOrderAssigned, WorkOrderStatusChanged and WorkOrderPriorityChanged through its outbox.
 *
 * @example
 * const { app, consumer } = await createMaintenanceService(ctx); await app.listen({ port: 0 });
 */
export async function createMaintenanceService(ctx: ServiceContext): Promise<ServiceInstance> {
  const config = loadConfig(maintenanceConfigSpec, ctx.env);
  const workOrders = { clock: ctx.clock, ids: ctx.ids, sla: slaPolicy(config) };
  const app = await createHttpApp({
    service: 'maintenance',
    logger: ctx.logger,
    metrics: ctx.metrics,
    description:
      'Work orders, technicians and their assignment; work orders from alerts and preventive plans.',
    readiness: { database: async () => void (await ctx.pool.query('SELECT 1')) },
  });
  registerTechnicianRoutes(app, { pool: ctx.pool, clock: ctx.clock, ids: ctx.ids });
  registerWorkOrderRoutes(app, { ...workOrders, pool: ctx.pool });
  registerPlanRoutes(app, { ...workOrders, pool: ctx.pool });
  // Only the telemetry windows some active usage plan counts are stored in the inbox; a plan
  // changed here counts from the next window (the index reloads before the answer is sent).
  const usage = new UsageMetricIndex(ctx.pool, ctx.logger);
  await usage.refresh();
  app.addHook('onSend', async (request, reply, payload) => {
    if (
      request.method !== 'GET' &&
      request.url.startsWith('/api/v1/maintenance-plans') &&
      reply.statusCode < 300
    ) {
      await usage.refresh().catch((err) => ctx.logger.warn({ err }, 'usage plan index refresh failed'));
    }
    return payload;
  });
  const planTimer = createPlanLoop({
    ...workOrders,
    pool: ctx.pool,
    logger: ctx.logger,
    intervalMs: config.MAINTENANCE_PLAN_INTERVAL,
  });
  return {
    app,
    consumer: {
      sources: ['asset', 'alert', 'telemetry'],
      handlers: {
        ...knownAssetHandlers(),
        ...alertHandlers({ ...workOrders, skills: config.MAINTENANCE_SKILL_MAP }),
        ...planUsageHandlers(workOrders),
        ...decommissioningHandlers(workOrders),
      },
      accept: usage.accepts,
    },
    async start() {
      planTimer.start();
      usage.start();
    },
    async stop() {
      usage.stop();
      await planTimer.stop();
    },
  };
}

export const maintenanceService: ServiceDefinition = {
  name: 'maintenance',
  migrations: { module: 'maintenance', dir: fileURLToPath(new URL('../migrations', import.meta.url)) },
  create: createMaintenanceService,
};
