import type { RouteMatcher } from '../proxy/route-table.js';
import { describeUpstreamError, type Upstream, upstreamUrl } from '../upstreams/upstreams.js';
import { type JsonObject, type MissingSpec, mergeOpenApi, type ServiceSpec } from './openapi.merge.js';

export interface OpenApiSourceOptions {
  upstreams: ReadonlyMap<string, Upstream>;
  matchRoute: RouteMatcher;
  /** How long a merged document is served before the services are asked again. */
  cacheTtlMs: number;
  /** How long one service may take to serve its document before it is listed as unavailable. */
  fetchTimeoutMs: number;
  /** Milliseconds since the epoch; injected so tests can expire the cache without waiting. */
  now: () => number;
  /** The gateway's own document, whose `/api/v1` routes (API composition) are published too. */
  ownDocument?: () => JsonObject;
}

/** The merged document, fetched lazily and cached. */
export interface OpenApiSource {
  get(): Promise<JsonObject>;
}

/**
 * Fetches every configured service's `/openapi.json` in parallel and merges them (see
 * {@link mergeOpenApi}). A service that is down, slow or serves garbage is listed as unavailable
 * instead of failing the page. Concurrent callers share one round of fetches, and the result is kept
 * for `cacheTtlMs`, so a busy docs page does not fan out to every service on each hit.
 *
 * @example
 * const source = createOpenApiSource({ upstreams, matchRoute, cacheTtlMs: 10_000, fetchTimeoutMs: 2_000, now: Date.now });
 * const document = await source.get();
 */
export function createOpenApiSource(opts: OpenApiSourceOptions): OpenApiSource {
  let cached: { document: JsonObject; expiresAt: number } | undefined;
  let inFlight: Promise<JsonObject> | undefined;

  async function build(): Promise<JsonObject> {
    const specs: ServiceSpec[] = [];
    const unavailable: MissingSpec[] = [];
    await Promise.all(
      [...opts.upstreams.values()].map(async (upstream) => {
        try {
          specs.push({
            service: upstream.name,
            document: await fetchDocument(upstream, opts.fetchTimeoutMs),
          });
        } catch (err) {
          unavailable.push({ service: upstream.name, reason: (err as Error).message });
        }
      }),
    );
    const own = opts.ownDocument?.();
    return mergeOpenApi({ specs, unavailable, matchRoute: opts.matchRoute, ...(own ? { own } : {}) });
  }

  return {
    get() {
      if (cached && cached.expiresAt > opts.now()) return Promise.resolve(cached.document);
      inFlight ??= build()
        .then((document) => {
          cached = { document, expiresAt: opts.now() + opts.cacheTtlMs };
          return document;
        })
        .finally(() => {
          inFlight = undefined;
        });
      return inFlight;
    },
  };
}

async function fetchDocument(upstream: Upstream, timeoutMs: number): Promise<JsonObject> {
  let response: Response;
  let body: unknown;
  try {
    // One signal for headers and body: a service that stalls mid-document times out too.
    const signal = AbortSignal.timeout(timeoutMs);
    response = await fetch(upstreamUrl(upstream, '/openapi.json'), {
      signal,
      headers: { accept: 'application/json' },
    });
    body = response.ok ? await response.json() : await response.arrayBuffer();
  } catch (err) {
    throw new Error(err instanceof SyntaxError ? 'invalid JSON' : describeUpstreamError(err));
  }
  if (!response.ok) throw new Error(`openapi.json answered ${response.status}`);
  if (body === null || typeof body !== 'object' || typeof (body as JsonObject).paths !== 'object') {
    throw new Error('not an OpenAPI document');
  }
  return body as JsonObject;
}
