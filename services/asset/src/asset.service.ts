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
import { OnboardingSagas } from './sagas/onboarding.runner.js';
import { registerSagaRoutes } from './sagas/saga.routes.js';

/**
 * The Asset service's composition root: its HTTP app on its own database, and the onboarding saga
 * it orchestrates. It produces AssetRegistered, AssetUpdated, AssetStatusChanged and the saga's
 * requests through its outbox, and consumes the participants' replies (from telemetry and alert).
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
  const sagas = new OnboardingSagas({
    pool: ctx.pool,
    clock: ctx.clock,
    ids: ctx.ids,
    policy,
    logger: ctx.logger,
  });
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
    work: () => sagas.checkDeadlines(),
  });

  const app = await createHttpApp({
    service: 'asset',
    logger: ctx.logger,
    metrics: ctx.metrics,
    description: 'Asset identity, metadata and lifecycle; the onboarding saga of new assets.',
    readiness: { database: async () => void (await ctx.pool.query('SELECT 1')) },
  });
  registerAssetRoutes(app, { pool: ctx.pool, clock: ctx.clock, ids: ctx.ids, onChange: sagas.onAssetChange });
  registerSagaRoutes(app, { pool: ctx.pool, sagas });
  return {
    app,
    consumer: { sources: ['telemetry', 'alert'], handlers: sagas.handlers() },
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
