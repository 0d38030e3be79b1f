import { ListSagasQuery, ProblemSchema, SagaDetailSchema, SagaPageSchema } from '@assetops/contracts';
import { commandMeta, type HttpApp, NotFoundError, type Pool } from '@assetops/platform';
import { Type } from '@sinclair/typebox';
import type { DecommissioningSagas } from './decommissioning.runner.js';
import type { OnboardingSagas } from './onboarding.runner.js';
import { findSagaDetail, listSagas, sagaIdentity } from './saga.store.js';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const tags = ['sagas'];
const errors = { 400: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema };

/**
 * The saga API: each saga's state and step history, a filtered list, and what a person can do
 * about a saga in needs_attention (retry the step it is stuck on, or skip it).
 */
export function registerSagaRoutes(
  app: HttpApp,
  deps: { pool: Pool; onboarding: OnboardingSagas; decommissioning: DecommissioningSagas },
): void {
  const detail = async (id: string) => {
    const saga = await findSagaDetail(deps.pool, id);
    if (!saga) throw new NotFoundError('SAGA_NOT_FOUND', `saga ${id} does not exist`);
    return saga;
  };

  app.get(
    '/api/v1/sagas',
    {
      schema: {
        tags,
        summary: 'List sagas, newest first (filter by asset, status, type; cursor pagination)',
        querystring: ListSagasQuery,
        response: { 200: SagaPageSchema, 400: ProblemSchema },
      },
    },
    async (request) => listSagas(deps.pool, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.get(
    '/api/v1/sagas/:id',
    {
      schema: {
        tags,
        summary: 'Get a saga: its state, its steps and their history',
        params: IdParams,
        response: { 200: SagaDetailSchema, ...errors },
      },
    },
    async (request) => detail(request.params.id),
  );

  for (const [path, action, summary] of [
    ['retry', 'Retry', 'Send the request a saga in needs_attention is stuck on again, with fresh attempts'],
    ['skip', 'Skip', 'Skip the step a saga in needs_attention is stuck on (done by hand) and go on'],
  ] as const) {
    app.post(
      `/api/v1/sagas/:id/${path}`,
      {
        schema: { tags, summary, params: IdParams, response: { 200: SagaDetailSchema, ...errors } },
      },
      async (request) => {
        const identity = await sagaIdentity(deps.pool, request.params.id);
        const runner = identity?.type === 'decommissioning' ? deps.decommissioning : deps.onboarding;
        const saga = identity ? await runner.act(request.params.id, action, commandMeta(request)) : null;
        if (!saga) throw new NotFoundError('SAGA_NOT_FOUND', `saga ${request.params.id} does not exist`);
        return detail(saga.id);
      },
    );
  }
}
