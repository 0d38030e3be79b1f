import { DashboardRebuildSchema, ProblemSchema } from '@assetops/contracts';
import { type HttpApp, NotFoundError, type Pool } from '@assetops/platform';
import { Type } from '@sinclair/typebox';
import { findRebuild, type RebuildRunner } from './rebuild.runner.js';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const tags = ['dashboard'];

export function registerRebuildRoutes(app: HttpApp, deps: { pool: Pool; rebuilds: RebuildRunner }): void {
  app.post(
    '/api/v1/dashboard/rebuild',
    {
      schema: {
        tags,
        summary:
          'Rebuild the read model from the event journal into fresh tables and switch over when caught up (reads keep working)',
        response: { 202: DashboardRebuildSchema, 409: ProblemSchema },
      },
    },
    async (_request, reply) => {
      const rebuild = await deps.rebuilds.start();
      return reply.code(202).header('location', `/api/v1/dashboard/rebuild/${rebuild.id}`).send(rebuild);
    },
  );

  app.get(
    '/api/v1/dashboard/rebuild/:id',
    {
      schema: {
        tags,
        summary: 'Progress of a rebuild: events replayed of the total, state',
        params: IdParams,
        response: { 200: DashboardRebuildSchema, 404: ProblemSchema },
      },
    },
    async (request) => {
      const rebuild = await findRebuild(deps.pool, request.params.id);
      if (!rebuild) throw new NotFoundError('DASHBOARD_REBUILD_NOT_FOUND', `no rebuild ${request.params.id}`);
      return rebuild;
    },
  );
}
