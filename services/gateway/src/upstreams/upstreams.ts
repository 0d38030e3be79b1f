import { ConfigError } from '@assetops/platform';

/** A service the gateway forwards to, parsed once at start-up. */
export interface Upstream {
  name: string;
  /** `http://host:port`, what connections are made to. */
  origin: string;
  /** A path the service is mounted under behind its own proxy (`''` almost always). */
  basePath: string;
}

/**
 * Parses the configured upstream base URLs, refusing (with every problem at once) what cannot be
 * forwarded to: no http(s), a query string or a fragment.
 *
 * @example
 * const upstreams = parseUpstreams({ asset: 'http://127.0.0.1:8081' });
 * upstreamUrl(upstreams.get('asset')!, '/health'); // 'http://127.0.0.1:8081/health'
 */
export function parseUpstreams(configured: Record<string, string>): ReadonlyMap<string, Upstream> {
  const problems: string[] = [];
  const upstreams = new Map<string, Upstream>();
  for (const [name, raw] of Object.entries(configured)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      problems.push(`upstream ${name}: '${raw}' is not a URL`);
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      problems.push(`upstream ${name}: must use http: or https:, not ${url.protocol}`);
    } else if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
      problems.push(`upstream ${name}: must be a base URL without credentials, query or fragment`);
    } else {
      upstreams.set(name, { name, origin: url.origin, basePath: url.pathname.replace(/\/+$/, '') });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return upstreams;
}

/** The absolute URL of a path (starting with `/`) on an upstream. */
export function upstreamUrl(upstream: Upstream, path: string): string {
  return `${upstream.origin}${upstream.basePath}${path}`;
}

/**
 * A short, log-safe reason for a failed call to an upstream: a timeout, the socket error's code
 * (`ECONNREFUSED`: `node:http` puts it on the error; `fetch` hides it in `cause`, behind a generic
 * "fetch failed"), else the message.
 */
export function describeUpstreamError(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'timed out';
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Resolves when the upstream answers `GET /health` with a 2xx within `timeoutMs`, rejects with the
 * reason otherwise. The body is drained either way so the connection goes back to the pool.
 */
export async function checkUpstreamHealth(upstream: Upstream, timeoutMs: number): Promise<void> {
  let response: Response;
  try {
    response = await fetch(upstreamUrl(upstream, '/health'), { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new Error(describeUpstreamError(err));
  }
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new Error(`health answered ${response.status}`);
}
