import {
  CreateMaintenancePlanBody,
  ListMaintenancePlansQuery,
  type MaintenancePlan,
  MaintenancePlanPageSchema,
  MaintenancePlanSchema,
  ProblemSchema,
  UpdateMaintenancePlanBody,
} from '@assetops/contracts';
import { commandMeta, type HttpApp, NotFoundError } from '@assetops/platform';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { changePlanActive, changePlanDefinition, createPlan, type PlanDeps } from './plan.commands.js';
import { findPlan, listPlans } from './plan.store.js';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const errors = { 400: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 412: ProblemSchema };
const tags = ['maintenance-plans'];

/**
 * The preventive maintenance plans API: create (for a known, not decommissioned asset), list, read
 * with the recent occurrences, change, and deactivate or reactivate. Plans are never deleted: their
 * occurrences keep pointing at the work orders they opened. `If-Match` is honoured on changes.
 */
export function registerPlanRoutes(app: HttpApp, deps: PlanDeps): void {
  app.post(
    '/api/v1/maintenance-plans',
    {
      schema: {
        tags,
        summary:
          'Create a preventive plan: every N days/weeks/months, every N units of a counter metric, or both (whichever comes first)',
        body: CreateMaintenancePlanBody,
        response: { 201: MaintenancePlanSchema, 400: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema },
      },
    },
    async (request, reply) => {
      const plan = await createPlan(deps, request.body);
      return withEtag(reply, plan)
        .code(201)
        .header('location', `/api/v1/maintenance-plans/${plan.id}`)
        .send(plan);
    },
  );

  app.get(
    '/api/v1/maintenance-plans',
    {
      schema: {
        tags,
        summary: 'List plans, newest first (filter by asset, active)',
        querystring: ListMaintenancePlansQuery,
        response: { 200: MaintenancePlanPageSchema, 400: ProblemSchema },
      },
    },
    async (request) => listPlans(deps.pool, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.get(
    '/api/v1/maintenance-plans/:id',
    {
      schema: {
        tags,
        summary: 'Get a plan with its most recent occurrences and the work orders they opened',
        params: IdParams,
        response: { 200: MaintenancePlanSchema, 404: ProblemSchema },
      },
    },
    async (request, reply) => {
      const plan = await findPlan(deps.pool, request.params.id);
      if (!plan)
        throw new NotFoundError('PLAN_NOT_FOUND', `maintenance plan ${request.params.id} does not exist`);
      return withEtag(reply, plan).send(plan);
    },
  );

  app.patch(
    '/api/v1/maintenance-plans/:id',
    {
      schema: {
        tags,
        summary:
          'Change a plan (a new interval continues from the last due date; a new metric restarts the usage count)',
        params: IdParams,
        body: UpdateMaintenancePlanBody,
        response: { 200: MaintenancePlanSchema, ...errors },
      },
    },
    async (request, reply) => {
      const plan = await changePlanDefinition(deps, request.params.id, request.body, commandMeta(request));
      return withEtag(reply, plan).send(plan);
    },
  );

  for (const [action, active] of [
    ['deactivate', false],
    ['activate', true],
  ] as const) {
    app.post(
      `/api/v1/maintenance-plans/:id/${action}`,
      {
        schema: {
          tags,
          summary: active
            ? 'Reactivate a plan: it starts afresh now (409 ASSET_DECOMMISSIONED for a decommissioned asset)'
            : 'Deactivate a plan: it opens no more work orders (those it opened stay)',
          params: IdParams,
          response: { 200: MaintenancePlanSchema, ...errors },
        },
      },
      async (request, reply) => {
        const plan = await changePlanActive(deps, request.params.id, active, commandMeta(request));
        return withEtag(reply, plan).send(plan);
      },
    );
  }
}

function withEtag(reply: FastifyReply, plan: MaintenancePlan): FastifyReply {
  return reply.header('etag', `"${plan.version}"`);
}
