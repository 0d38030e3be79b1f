import {
  AlertSchema,
  AssetSchema,
  LatestValuesSchema,
  ProblemSchema,
  WorkOrderSchema,
} from '@assetops/contracts';
import { type HttpApp, type MetricsRegistry, problem, prometheus, sendProblem } from '@assetops/platform';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { type Authenticate, requireAuthentication } from '../auth/auth.js';
import { upstreamRequestHeaders } from '../proxy/proxy.headers.js';
import type { Upstream } from '../upstreams/upstreams.js';
import { createOverviewClient } from './overview.client.js';
import { composeOverview, type FetchJson, OVERVIEW_PARTS } from './overview.compose.js';

export interface OverviewRoutesOptions {
  upstreams: ReadonlyMap<string, Upstream>;
  authenticate: Authenticate;
  /** Budget of each upstream call of a composition. */
  timeoutMs: number;
  metrics: MetricsRegistry;
}

/** A contract schema without its `$id`, so it can be nested in this document's response schema. */
function inline<T extends TSchema>(schema: T): T {
  const { $id: _id, ...rest } = schema;
  return rest as T;
}
const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const AssetOverviewSchema = Type.Object({
  asset: nullable(inline(AssetSchema)),
  latest: nullable(inline(LatestValuesSchema)),
  alerts: nullable(Type.Array(inline(AlertSchema), { description: 'active alerts, newest first' })),
  workOrders: nullable(
    Type.Array(inline(WorkOrderSchema), { description: 'open work orders (not completed or cancelled)' }),
  ),
  degraded: Type.Array(Type.Union(OVERVIEW_PARTS.map((part) => Type.Literal(part))), {
    description: 'the services that did not answer in time or failed; their part is null',
  }),
});

/** Conditional request headers make no sense for a composed document: an upstream 304 has no body. */
const NOT_FORWARDED = [
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'accept-encoding',
];

/**
 * Registers `GET /api/v1/assets/:id/overview` (API composition): the asset, its latest values,
 * active alerts and open work orders in one document, the four services called in parallel. Being a
 * parametric route it wins over the proxy's `/api/v1/*` catch-all in Fastify's router.
 *
 * @example
 * await app.register(overviewRoutes, { upstreams, authenticate, timeoutMs: 1_000, metrics });
 */
export async function overviewRoutes(scope: HttpApp, opts: OverviewRoutesOptions): Promise<void> {
  const degradedParts = new prometheus.Counter({
    name: 'assetops_gateway_overview_degraded_total',
    help: 'Parts of asset overviews returned as unavailable, by the service that did not answer',
    labelNames: ['service'],
    registers: [opts.metrics],
  });

  // One pool of keep-alive connections per upstream for every composition, closed with the app.
  const client = createOverviewClient();
  scope.addHook('onClose', async () => client.close());

  scope.addHook('onRequest', requireAuthentication(opts.authenticate));
  scope.get(
    '/api/v1/assets/:id/overview',
    {
      schema: {
        tags: ['overview'],
        operationId: 'getAssetOverview',
        summary: 'Asset overview: details, latest values, active alerts and open work orders in one call',
        description:
          'Composed by the gateway from the Asset, Telemetry, Alert and Maintenance APIs, called in parallel ' +
          'with a time limit each (GATEWAY_COMPOSITION_TIMEOUT). A service that is slow, down or fails leaves ' +
          'its part null and is named in `degraded`; the rest is returned all the same. Only an asset that ' +
          'does not exist is an error (404).',
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        response: { 200: AssetOverviewSchema, 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (request, reply) => {
      const headers = upstreamRequestHeaders(request.headers, {
        requestId: String(request.id),
        clientIp: request.ip,
        protocol: request.protocol,
        hasBody: false,
      });
      for (const name of NOT_FORWARDED) delete headers[name];
      headers.accept = 'application/json';
      const fetchJson: FetchJson = (upstream, path, signal) =>
        client.getJson(upstream, path, headers, signal);
      const overview = await composeOverview({
        assetId: request.params.id,
        upstreams: opts.upstreams,
        timeoutMs: opts.timeoutMs,
        fetchJson,
        onDegraded: (part, reason) => {
          degradedParts.inc({ service: part });
          request.log.warn({ service: part, reason }, 'overview part unavailable');
        },
      });
      if ('notFound' in overview) {
        const code = typeof overview.problem?.code === 'string' ? overview.problem.code : 'ASSET_NOT_FOUND';
        return sendProblem(
          reply,
          problem(404, code, `asset ${request.params.id} does not exist`, { instance: request.url }),
        );
      }
      // The parts are the services' own documents, passed on as they came: plain JSON, not the
      // schema-compiled serializer (the schema above documents them; it must not filter them).
      return reply
        .header('cache-control', 'no-store')
        .type('application/json; charset=utf-8')
        .serializer(JSON.stringify)
        .send(overview as unknown as Static<typeof AssetOverviewSchema>);
    },
  );
}
