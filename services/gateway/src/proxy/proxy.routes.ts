import type { IncomingHttpHeaders } from 'node:http';
import { type HttpApp, type Problem, problem, sendProblem } from '@assetops/platform';
import replyFrom from '@fastify/reply-from';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { deviceScopeHeader } from '../access/access.roles.js';
import { type Authenticate, principalOf, requireAuthentication } from '../auth/auth.js';
import type { Upstream } from '../upstreams/upstreams.js';
import { BodyTooLargeError, ByteLimit } from './body-limit.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './proxy.headers.js';
import type { ProxyMetrics } from './proxy.metrics.js';
import { compileRouteTable, type RouteTable } from './route-table.js';

/** What the proxy needs; `createGateway` builds it from its own options. */
export interface ProxyRoutesOptions {
  upstreams: ReadonlyMap<string, Upstream>;
  routes: RouteTable;
  authenticate: Authenticate;
  /** How long an upstream may take to send its response headers, and between two body chunks. */
  timeoutMs: number;
  /** Largest request body forwarded, in bytes. */
  maxBodyBytes: number;
  metrics: ProxyMetrics;
}

/** Errors (by `code`, anywhere in the `cause` chain) that mean the upstream was too slow. */
const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'FST_REPLY_FROM_TIMEOUT',
  'FST_REPLY_FROM_GATEWAY_TIMEOUT',
  'FST_REPLY_FROM_HTTP_REQUEST_TIMEOUT',
  'ETIMEDOUT',
]);

/**
 * Registers `/api/v1/*`: authenticates, picks the upstream from the route table and streams the
 * request to it and its response back — method, path, query string and body bytes unchanged, headers
 * filtered both ways (see `proxy.headers.ts`). Failures of the upstream become 502 / 504 problems,
 * never a 500 and never a hang.
 *
 * @example
 * await app.register(proxyRoutes, { upstreams, routes: defaultRoutes, authenticate, timeoutMs: 10_000, maxBodyBytes: 16 * 1024 * 1024, metrics });
 */
export async function proxyRoutes(scope: HttpApp, opts: ProxyRoutesOptions): Promise<void> {
  const matchRoute = compileRouteTable(opts.routes);
  const routedTo = new WeakMap<FastifyRequest, string>();

  await scope.register(replyFrom, {
    // Close the connection pool with the app, so tests and shutdowns leave no sockets behind.
    destroyAgent: true,
    disableRequestLogging: true,
    undici: {
      connections: 128,
      pipelining: 1,
      // reply-from turns TLS verification off unless told otherwise; upstreams must present valid certificates.
      connect: { rejectUnauthorized: true, timeout: opts.timeoutMs },
      // The limits of a call that passes no `timeout` of its own: an event stream (see `forward`).
      // It must answer its headers in time, but may then be quiet for long — between two events
      // only the upstream's keep-alive comments flow — so its body has no time limit.
      headersTimeout: opts.timeoutMs,
      bodyTimeout: 0,
    },
  });

  // Bodies are forwarded as the bytes the client sent, never parsed and re-serialised: one parser
  // for every content type (and none) hands the handler a length-limited stream of the raw body.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (request, payload, done) => {
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > opts.maxBodyBytes) {
      done(new BodyTooLargeError(opts.maxBodyBytes), undefined);
      return;
    }
    const limited = new ByteLimit(opts.maxBodyBytes);
    // `pipe`, not `pipeline`: on overflow the client's socket must survive to receive the 413.
    payload.on('error', (err) => limited.destroy(err));
    payload.pipe(limited);
    done(null, limited);
  });

  scope.addHook('onRequest', requireAuthentication(opts.authenticate));
  scope.addHook('onResponse', async (request, reply) => {
    const upstream = routedTo.get(request);
    if (upstream !== undefined) {
      opts.metrics.observe(upstream, request.method, reply.statusCode, reply.elapsedTime / 1000);
    }
  });

  const hidden = { schema: { hide: true } } as const;
  const forward = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const rawUrl = request.raw.url ?? request.url;
    const queryStart = rawUrl.indexOf('?');
    const path = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart);
    const route = matchRoute(path);
    if (route === undefined) {
      return sendProblem(reply, problem(404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${path}`));
    }
    routedTo.set(request, route.upstream);
    const upstream = opts.upstreams.get(route.upstream);
    if (upstream === undefined) {
      return sendProblem(
        reply,
        problem(503, 'UPSTREAM_NOT_CONFIGURED', `the ${route.upstream} service is not configured`, {
          upstream: route.upstream,
        }),
      );
    }
    const hasBody = request.body instanceof ByteLimit;
    // Server-Sent Events (`Accept: text/event-stream`) are streamed as they come — the response is
    // piped, never buffered — and not cut by the body timeout of ordinary calls.
    const eventStream = String(request.headers.accept ?? '').includes('text/event-stream');
    return reply.from(upstream.basePath + path, {
      getUpstream: () => upstream.origin,
      ...(eventStream ? {} : { timeout: opts.timeoutMs }),
      // Not retried: a retried POST could apply twice, and a retried GET would hide an upstream's
      // own 503 (and its Retry-After) from the client.
      retryDelay: () => null,
      rewriteRequestHeaders: (original) => {
        const deviceScope = principalOf(request)?.deviceScope;
        return upstreamRequestHeaders(original.headers, {
          requestId: String(original.id),
          clientIp: original.ip,
          protocol: original.protocol,
          hasBody,
          deviceScope: deviceScope ? deviceScopeHeader(deviceScope) : undefined,
        });
      },
      rewriteHeaders: (headers) => clientResponseHeaders(headers as IncomingHttpHeaders),
      onError: (failed, { error }) => {
        const body = upstreamFailure(error, upstream);
        // The request body may be unread (overflow, upstream gone): close rather than reuse the connection.
        if (hasBody) failed.header('connection', 'close');
        sendProblem(failed as FastifyReply, body);
      },
    });
  };
  scope.all('/api/v1', hidden, forward);
  scope.all('/api/v1/*', hidden, forward);
}

/** Maps an error from forwarding to the problem the client gets. */
function upstreamFailure(error: Error, upstream: Upstream): Problem {
  const chain = causeChain(error);
  const tooLarge = chain.find((err) => err instanceof BodyTooLargeError);
  if (tooLarge) return problem(413, 'BODY_TOO_LARGE', tooLarge.message);
  const timedOut = chain.some((err) => TIMEOUT_CODES.has(String((err as { code?: unknown }).code)));
  if (timedOut) {
    return problem(504, 'UPSTREAM_TIMEOUT', `the ${upstream.name} service did not answer in time`, {
      upstream: upstream.name,
    });
  }
  // The innermost code is the informative one (ECONNREFUSED, not reply-from's wrapper).
  const reason = chain
    .map((err) => (err as { code?: unknown }).code)
    .findLast((code): code is string => typeof code === 'string');
  return problem(502, 'UPSTREAM_UNAVAILABLE', `the ${upstream.name} service could not be reached`, {
    upstream: upstream.name,
    // The upstream's address stays out of the response; the reason code helps whoever is on call.
    ...(reason === undefined ? {} : { reason }),
  });
}

function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && chain.length < 10) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}
