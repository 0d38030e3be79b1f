import { fileURLToPath } from 'node:url';
import {
  createHttpApp,
  type ServiceContext,
  type ServiceDefinition,
  type ServiceInstance,
} from '@assetops/platform';
import { registerAssetRoutes } from './assets/asset.routes.js';

/**
 * The Asset service's composition root: its HTTP app on its own database. It consumes no events
 * yet; it produces AssetRegistered, AssetUpdated and AssetStatusChanged through its outbox.
 *
 * @example
 * const { app } = await createAssetService(ctx); await app.listen({ port: 0 });
 */
export async function createAssetService(ctx: ServiceContext): Promise<ServiceInstance> {
  const app = await createHttpApp({
    service: 'asset',
    logger: ctx.logger,
    metrics: ctx.metrics,
    description: 'Asset identity, metadata and lifecycle.',
    readiness: { database: async () => void (await ctx.pool.query('SELECT 1')) },
  });
  registerAssetRoutes(app, { pool: ctx.pool, clock: ctx.clock, ids: ctx.ids });
  return { app };
}

export const assetService: ServiceDefinition = {
  name: 'asset',
  migrations: { module: 'asset', dir: fileURLToPath(new URL('../migrations', import.meta.url)) },
  create: createAssetService,
};
