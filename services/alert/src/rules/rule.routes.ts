import {
  AlertRuleSchema,
  AssetTypeSchema,
  CreateRuleBody,
  MetricNameSchema,
  ProblemSchema,
  UpdateRuleBody,
} from '@assetops/contracts';
import { commandMeta, type HttpApp, NotFoundError } from '@assetops/platform';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { createRule, deleteRule, type RuleCommandDeps, updateRule } from './rule.commands.js';
import { findRule, listRules } from './rule.queries.js';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const RuleSchema = AlertRuleSchema;
const errors = { 400: ProblemSchema, 404: ProblemSchema, 412: ProblemSchema };
const tags = ['alert-rules'];

/** `GET /api/v1/alert-rules` */
export const ListRulesQuery = Type.Object(
  {
    assetId: Type.Optional(
      Type.String({ format: 'uuid', description: 'rules of this asset itself (not its type-wide rules)' }),
    ),
    assetType: Type.Optional(AssetTypeSchema),
    metric: Type.Optional(MetricNameSchema),
    enabled: Type.Optional(Type.Boolean()),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  },
  { additionalProperties: false },
);

/** A page of rules; `nextCursor` is null on the last page. */
export const RulePageSchema = Type.Object({
  items: Type.Array(RuleSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

/** The rules API: create, read, list, change and delete alert rules. */
export function registerRuleRoutes(app: HttpApp, deps: RuleCommandDeps): void {
  app.post(
    '/api/v1/alert-rules',
    {
      schema: {
        tags,
        summary: 'Create a rule for one asset (assetId) or every asset of a type (assetType)',
        description:
          'Besides the schema, the rule must make sense: exactly one target, low < high, the clear ' +
          'threshold on the clear side, an escalation to a higher severity (else 400 INVALID_RULE).',
        body: CreateRuleBody,
        response: { 201: RuleSchema, 400: ProblemSchema },
      },
    },
    async (request, reply) => {
      const rule = await createRule(deps, request.body);
      return withEtag(reply, rule).code(201).header('location', `/api/v1/alert-rules/${rule.id}`).send(rule);
    },
  );

  app.get(
    '/api/v1/alert-rules',
    {
      schema: {
        tags,
        summary: 'List rules (filter by asset, asset type, metric, enabled; cursor pagination)',
        querystring: ListRulesQuery,
        response: { 200: RulePageSchema, 400: ProblemSchema },
      },
    },
    async (request) => listRules(deps.pool, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.get(
    '/api/v1/alert-rules/:id',
    {
      schema: {
        tags,
        summary: 'Get a rule',
        params: IdParams,
        response: { 200: RuleSchema, 404: ProblemSchema },
      },
    },
    async (request, reply) => {
      const rule = await findRule(deps.pool, request.params.id);
      if (!rule) throw new NotFoundError('RULE_NOT_FOUND', `rule ${request.params.id} does not exist`);
      return withEtag(reply, rule).send(rule);
    },
  );

  app.patch(
    '/api/v1/alert-rules/:id',
    {
      schema: {
        tags,
        summary: 'Change a rule (If-Match: "<version>" optional)',
        description:
          'Disabling a rule clears its open alerts; a new condition clears them too and restarts ' +
          'its evaluation. Other changes apply from the next reading.',
        params: IdParams,
        body: UpdateRuleBody,
        response: { 200: RuleSchema, ...errors },
      },
    },
    async (request, reply) => {
      const rule = await updateRule(deps, request.params.id, request.body, commandMeta(request));
      return withEtag(reply, rule).send(rule);
    },
  );

  app.delete(
    '/api/v1/alert-rules/:id',
    {
      schema: {
        tags,
        summary: 'Delete a rule; its open alerts are cleared (If-Match: "<version>" optional)',
        params: IdParams,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      await deleteRule(deps, request.params.id, commandMeta(request));
      return reply.code(204).send(null);
    },
  );
}

function withEtag(reply: FastifyReply, rule: { version: number }): FastifyReply {
  return reply.header('etag', `"${rule.version}"`);
}
