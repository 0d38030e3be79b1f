import {
  AssetPageSchema,
  AssetSchema,
  ChangeAssetStatusBody,
  ListAssetsQuery,
  ProblemSchema,
  RegisterAssetBody,
  UpdateAssetBody,
} from '@assetops/contracts';
import { commandMeta, type HttpApp, NotFoundError } from '@assetops/platform';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { type AssetCommandDeps, executeAssetCommand } from './asset.commands.js';
import type { AssetState } from './asset.decide.js';
import { findAsset, listAssets } from './asset.store.js';

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const errors = { 400: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 412: ProblemSchema };
const tags = ['assets'];

/** The Asset API: register, read, list, update and move assets through their lifecycle. */
export function registerAssetRoutes(app: HttpApp, deps: AssetCommandDeps): void {
  app.post(
    '/api/v1/assets',
    {
      schema: {
        tags,
        summary:
          'Register an asset: it starts in commissioning, and its onboarding saga (Link header) makes it active',
        body: RegisterAssetBody,
        response: { 201: AssetSchema, 400: ProblemSchema },
      },
    },
    async (request, reply) => {
      const assetId = deps.ids.next();
      const { asset, sagaId } = await executeAssetCommand(
        deps,
        assetId,
        {
          kind: 'RegisterAsset',
          assetId,
          name: request.body.name,
          type: request.body.type,
          location: request.body.location ?? null,
          metadata: request.body.metadata ?? {},
        },
        commandMeta(request),
      );
      withEtag(reply, asset).code(201).header('location', `/api/v1/assets/${asset.id}`);
      // The onboarding saga that will make the asset active (or say why it could not).
      if (sagaId) reply.header('link', `</api/v1/sagas/${sagaId}>; rel="onboarding-saga"`);
      return reply.send(asset);
    },
  );

  app.get(
    '/api/v1/assets',
    {
      schema: {
        tags,
        summary: 'List assets (filter by status, type, text; cursor pagination)',
        querystring: ListAssetsQuery,
        response: { 200: AssetPageSchema, 400: ProblemSchema },
      },
    },
    async (request) => listAssets(deps.pool, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.get(
    '/api/v1/assets/:id',
    {
      schema: { tags, summary: 'Get an asset', params: IdParams, response: { 200: AssetSchema, ...errors } },
    },
    async (request, reply) => {
      const asset = await findAsset(deps.pool, request.params.id);
      if (!asset) throw new NotFoundError('ASSET_NOT_FOUND', `asset ${request.params.id} does not exist`);
      return withEtag(reply, asset).send(asset);
    },
  );

  app.patch(
    '/api/v1/assets/:id',
    {
      schema: {
        tags,
        summary: 'Change an asset’s name, location or metadata (If-Match: "<version>" optional)',
        params: IdParams,
        body: UpdateAssetBody,
        response: { 200: AssetSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { asset } = await executeAssetCommand(
        deps,
        request.params.id,
        { kind: 'UpdateAsset', changes: request.body },
        commandMeta(request),
      );
      return withEtag(reply, asset).send(asset);
    },
  );

  app.post(
    '/api/v1/assets/:id/status',
    {
      schema: {
        tags,
        summary: 'Move an asset through its lifecycle; an illegal transition is a 409',
        params: IdParams,
        body: ChangeAssetStatusBody,
        response: { 200: AssetSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { asset } = await executeAssetCommand(
        deps,
        request.params.id,
        { kind: 'ChangeAssetStatus', status: request.body.status, reason: request.body.reason ?? null },
        commandMeta(request),
      );
      return withEtag(reply, asset).send(asset);
    },
  );
}

function withEtag(reply: FastifyReply, asset: AssetState): FastifyReply {
  return reply.header('etag', `"${asset.version}"`);
}
