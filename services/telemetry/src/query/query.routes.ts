import {
  LatestValuesSchema,
  ProblemSchema,
  TelemetryQueryResultSchema,
  TelemetryQuerySchema,
} from '@assetops/contracts';
import type { Clock, HttpApp, Pool } from '@assetops/platform';
import { Type } from '@sinclair/typebox';
import { planQuery } from './plan.js';
import { latestValues, runQuery } from './query.js';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const tags = ['telemetry'];

/** The read side: time series of one asset (any bucket, any aggregation) and its latest values. */
export function registerQueryRoutes(
  app: HttpApp,
  deps: { pool: Pool; clock: Clock; maxPoints: number },
): void {
  app.get(
    '/api/v1/assets/:id/telemetry',
    {
      schema: {
        tags,
        summary: 'Time series of one or more metrics of an asset, bucketed and aggregated',
        description:
          'Answered from the coarsest stored tier that is exact for the bucket (1d, 1h, 1m roll-ups, else raw). ' +
          'A query that would return more points than the limit is refused with 400 TOO_MANY_POINTS.',
        params: IdParams,
        querystring: TelemetryQuerySchema,
        response: { 200: TelemetryQueryResultSchema, 400: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (request) => {
      const plan = planQuery(request.query, deps.clock.now().getTime(), deps.maxPoints);
      return runQuery(deps.pool, request.params.id.toLowerCase(), plan);
    },
  );

  app.get(
    '/api/v1/assets/:id/telemetry/latest',
    {
      schema: {
        tags,
        summary: 'The latest value of every metric of an asset',
        params: IdParams,
        response: { 200: LatestValuesSchema, 404: ProblemSchema },
      },
    },
    async (request) => latestValues(deps.pool, request.params.id.toLowerCase()),
  );
}
