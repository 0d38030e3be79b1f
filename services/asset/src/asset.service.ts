import { fileURLToPath } from 'node:url';
import {
  createHttpApp,
  LeaderLoop,
  loadConfig,
  type ServiceContext,
  type ServiceDefinition,
  type ServiceInstance,
} from '@assetops/platform';
import { assetConfigSpec } from './asset.config.js';
import { registerAssetRoutes } from './assets/asset.routes.js';
import { registerDecommissionRoutes } from './sagas/decommissioning.routes.js';
import { DecommissioningSagas } from './sagas/decommissioning.runner.js';
import { OnboardingSagas } from './sagas/onboarding.runner.js';
import { registerSagaMetrics } from './sagas/saga.metrics.js';
import { registerSagaRoutes } from './sagas/saga.routes.js';

/**
 * The Asset service's composition root: its HTTP app on its own database, and the onboarding and
 * decommissioning sagas it orchestrates. It produces AssetRegistered, AssetUpdated,
 * AssetStatusChanged and the sagas' requests through its outbox, and consumes the participants'
 * replies (from telemetry, alert and maintenance).
 *
 * @example
 * const { app } = await createAssetService(ctx); await app.listen({ port: 0 });
 */
export async function createAssetService(ctx: ServiceContext): Promise<ServiceInstance> {
  const config = loadConfig(assetConfigSpec, ctx.env);
  const policy = {
    stepTimeoutMs: config.ASSET_SAGA_STEP_TIMEOUT,
    maxAttempts: config.ASSET_SAGA_MAX_ATTEMPTS,
  };
  const sagaDeps = { pool: ctx.pool, clock: ctx.clock, ids: ctx.ids, policy, logger: ctx.logger };
  const sagas = new OnboardingSagas(sagaDeps);
  const decommissioning = new DecommissioningSagas(sagaDeps);
  const deadlines = new LeaderLoop({
    name: 'asset-saga-deadlines',
    pool: ctx.pool,
    lockName: 'assetops.asset.saga-deadlines',
    channel: 'assetops_asset_saga_deadlines',
    // Deadlines set by other transactions (new sagas) are found by polling, at least every second.
    pollIntervalMs: Math.min(1000, policy.stepTimeoutMs),
    standbyRetryMs: 5000,
    errorBackoff: { baseMs: 500, maxMs: 30_000 },
    logger: ctx.logger,
    work: async () => {
      const onboarding = await sagas.checkDeadlines();
      const decommissions = await decommissioning.checkDeadlines();
      const nextInMs = [onboarding.nextInMs, decommissions.nextInMs].filter((ms) => ms !== undefined);
      return {
        processed: onboarding.processed + decommissions.processed,
        more: onboarding.more || decommissions.more,
        ...(nextInMs.length > 0 ? { nextInMs: Math.min(...nextInMs) } : {}),
      };
    },
  });

  const app = await createHttpApp({
    service: 'asset',
    logger: ctx.logger,
    metrics: ctx.metrics,
    description: 'Asset identity, metadata and lifecycle; the onboarding and decommissioning sagas.',
    readiness: { database: async () => void (await ctx.pool.query('SELECT 1')) },
    env: ctx.env,
  });
  registerSagaMetrics(ctx.metrics, { pool: ctx.pool, logger: ctx.logger });
  registerAssetRoutes(app, { pool: ctx.pool, clock: ctx.clock, ids: ctx.ids, onChange: sagas.onAssetChange });
  registerDecommissionRoutes(app, { sagas: decommissioning });
  registerSagaRoutes(app, { pool: ctx.pool, onboarding: sagas, decommissioning });
  return {
    app,
    consumer: {
      sources: ['telemetry', 'alert', 'maintenance'],
      handlers: { ...sagas.handlers(), ...decommissioning.handlers() },
    },
    async start() {
      deadlines.start();
    },
    async stop() {
      await deadlines.stop();
    },
  };
}

export const assetService: ServiceDefinition = {
  name: 'asset',
  migrations: { module: 'asset', dir: fileURLToPath(new URL('../migrations', import.meta.url)) },
  create: createAssetService,
};
