import { DecommissionAssetBody, ProblemSchema, SagaSchema } from '@assetops/contracts';
import { commandMeta, type HttpApp } from '@assetops/platform';
import { Type } from '@sinclair/typebox';
import type { DecommissioningSagas } from './decommissioning.runner.js';
import { toApiSaga } from './saga.store.js';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

/**
 * `POST /api/v1/assets/:id/decommission`: starts the decommissioning saga and answers 202 with it
 * (Location and Link to `/api/v1/sagas/:id`, where its progress shows). The body is optional.
 */
export function registerDecommissionRoutes(app: HttpApp, deps: { sagas: DecommissioningSagas }): void {
  app.post(
    '/api/v1/assets/:id/decommission',
    {
      schema: {
        tags: ['assets'],
        summary:
          'Decommission an asset: 202 with the saga that takes it out of service (maintenance, alerts, telemetry), or calls it off and says why',
        params: IdParams,
        body: DecommissionAssetBody,
        response: { 202: SagaSchema, 400: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema },
      },
      // The body is optional: none at all means `{}` (Fastify would validate `undefined` against the
      // object schema and refuse it).
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      const saga = await deps.sagas.start(request.params.id, request.body, commandMeta(request));
      const url = `/api/v1/sagas/${saga.id}`;
      return reply
        .code(202)
        .header('location', url)
        .header('link', `<${url}>; rel="decommissioning-saga"`)
        .send(toApiSaga(saga));
    },
  );
}
