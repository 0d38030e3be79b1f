import { createHash } from 'node:crypto';
import net from 'node:net';
import { createHttpApp, createLogger, type HttpApp } from '@assetops/platform';
import { Type } from '@sinclair/typebox';

/** What the echo upstream answers for any `/api/v1/*` request it has no special route for. */
export interface Echo {
  service: string;
  method: string;
  /** The request target exactly as it arrived (path and query string). */
  url: string;
  query: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  /** The body bytes as received, base64. */
  body: string;
  bodyLength: number;
  bodySha256: string;
}

export interface EchoUpstream {
  app: HttpApp;
  url: string;
  /** How many times `/openapi.json` was served. */
  openApiHits(): number;
  close(): Promise<void>;
}

export const NDJSON_RESPONSE = '{"t":"2024-01-01T00:00:00Z","v":1.5}\n{"t":"2024-01-01T00:00:01Z","v": 2}\n';

/**
 * A real HTTP service built like every AssetOps service (platform's `createHttpApp`), listening on
 * a free port. It echoes what it received, has a few routes that answer in particular ways, and
 * documents one route per service in its `/openapi.json` (with a shared schema, which
 * `@fastify/swagger` names `def-0` in every service — the collision the gateway must resolve).
 */
export async function startEchoUpstream(
  service: string,
  opts: { documentedPath: string },
): Promise<EchoUpstream> {
  const app = await createHttpApp({
    service,
    logger: createLogger({ service, level: 'silent' }),
    bodyLimit: 64 * 1024 * 1024,
  });
  let openApiHits = 0;
  app.addHook('onRequest', async (request) => {
    if (request.url === '/openapi.json') openApiHits++;
  });

  app.addSchema(
    Type.Object({ id: Type.String(), [`${service}Field`]: Type.Number() }, { $id: `${service}-thing` }),
  );
  app.get(
    opts.documentedPath,
    {
      schema: {
        operationId: 'getThing',
        response: { 200: Type.Ref(`${service}-thing`) },
      },
    },
    async () => ({ id: 'x', [`${service}Field`]: 1 }),
  );

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    const hidden = { schema: { hide: true } } as const;

    scope.get('/api/v1/assets/special/created', hidden, async (_request, reply) =>
      reply
        .code(201)
        .header('etag', '"7"')
        .header('location', '/api/v1/assets/0190a000-0000-7000-8000-000000000001')
        .header('retry-after', '30')
        .header('x-custom', 'kept')
        .send({ created: true }),
    );
    scope.get('/api/v1/assets/special/not-modified', hidden, async (_request, reply) =>
      reply.code(304).header('etag', '"9"').send(),
    );
    scope.delete('/api/v1/assets/special/no-content', hidden, async (_request, reply) =>
      reply.code(204).send(),
    );
    scope.get('/api/v1/assets/special/ndjson', hidden, async (_request, reply) =>
      reply.type('application/x-ndjson').send(NDJSON_RESPONSE),
    );
    scope.get('/api/v1/assets/special/unavailable', hidden, async (_request, reply) =>
      reply.code(503).header('retry-after', '5').type('application/problem+json').send({ code: 'BUSY' }),
    );
    scope.get<{ Querystring: { ms?: string } }>(
      '/api/v1/assets/special/slow',
      hidden,
      async (request, reply) => {
        // Ends early when the gateway gives up, so closing the upstream does not wait for the timer.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Number(request.query.ms ?? 5_000));
          reply.raw.on('close', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        return { slow: true };
      },
    );
    scope.all('/api/v1/*', hidden, async (request): Promise<Echo> => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      return {
        service,
        method: request.method,
        url: request.raw.url ?? '',
        query: request.query as Record<string, unknown>,
        headers: request.headers,
        body: body.toString('base64'),
        bodyLength: body.length,
        bodySha256: createHash('sha256').update(body).digest('hex'),
      };
    });
  });

  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url, openApiHits: () => openApiHits, close: () => app.close() };
}

/** A URL on which nothing listens (a port that was free a moment ago), for "upstream down". */
export async function unusedUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** A token long enough for the config spec. */
export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };
