import {
  DashboardAssetPageSchema,
  DashboardAssetSchema,
  DashboardFleetSchema,
  ListDashboardAssetsQuery,
  ProblemSchema,
} from '@assetops/contracts';
import { type Clock, type HttpApp, NotFoundError, type Pool } from '@assetops/platform';
import { Type } from '@sinclair/typebox';
import { findAsset, fleet, listAssets } from './view.store.js';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const tags = ['dashboard'];

/** The read model's queries: asset views (list, one) and the fleet overview. */
export function registerViewRoutes(app: HttpApp, deps: { pool: Pool; clock: Clock }): void {
  app.get(
    '/api/v1/dashboard/assets',
    {
      schema: {
        tags,
        summary:
          'List asset views: status, last seen, latest values, active alerts, open work orders (search, filter, sort, cursor)',
        querystring: ListDashboardAssetsQuery,
        response: { 200: DashboardAssetPageSchema, 400: ProblemSchema },
      },
    },
    async (request) => listAssets(deps.pool, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.get(
    '/api/v1/dashboard/assets/:id',
    {
      schema: {
        tags,
        summary: 'Get one asset view',
        params: IdParams,
        response: { 200: DashboardAssetSchema, 404: ProblemSchema },
      },
    },
    async (request) => {
      const asset = await findAsset(deps.pool, request.params.id);
      if (!asset) {
        throw new NotFoundError(
          'DASHBOARD_ASSET_NOT_FOUND',
          `the dashboard knows no asset ${request.params.id}`,
        );
      }
      return asset;
    },
  );

  app.get(
    '/api/v1/dashboard/fleet',
    {
      schema: {
        tags,
        summary:
          'Fleet totals (assets by status, active alerts by severity, open work orders by status) and the assets that need attention',
        response: { 200: DashboardFleetSchema },
      },
    },
    async () => fleet(deps.pool, deps.clock.now()),
  );
}
