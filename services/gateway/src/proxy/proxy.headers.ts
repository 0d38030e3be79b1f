import type { IncomingHttpHeaders } from 'node:http';
import { DEVICE_SCOPE_HEADER } from '../access/access.roles.js';

/**
 * Request headers passed to an upstream. An allow-list, not a deny-list: the gateway is a trust
 * boundary, so a header reaches a service only when a service has a use for it. `authorization`
 * is deliberately absent — the gateway has checked it and services never see client credentials.
 *
 * @example
 * FORWARDED_REQUEST_HEADERS.includes('if-match'); // true
 */
export const FORWARDED_REQUEST_HEADERS: readonly string[] = [
  'accept',
  'accept-encoding',
  'accept-language',
  'content-encoding',
  'content-type',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'idempotency-key',
  // Server-Sent Events: where a reconnecting client resumes.
  'last-event-id',
  'prefer',
  'traceparent',
  'tracestate',
  'user-agent',
];

/**
 * Response headers that describe one connection rather than the resource (RFC 9110 §7.6.1); they
 * are not copied from the upstream's response to the client's.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export interface UpstreamRequestContext {
  requestId: string;
  /** The client's address as the gateway saw it. */
  clientIp: string;
  /** `http` or `https`, as the client reached the gateway. */
  protocol: string;
  /** Whether the request body is forwarded: only then do its framing headers travel with it. */
  hasBody: boolean;
  /**
   * A device caller's scope (`asset:<uuid>` or `fleet`), sent as `x-assetops-device-scope`. Only
   * the gateway sets that header: a client's own is never forwarded (it is not allow-listed).
   */
  deviceScope?: string | undefined;
}

/**
 * The headers of the request sent upstream: the allow-listed ones, the body's length when a body
 * is forwarded, the request id (the client's `x-request-id` or the one the gateway made up, so logs
 * of both sides correlate) and the `x-forwarded-*` trio.
 *
 * @example
 * upstreamRequestHeaders(request.headers, { requestId: request.id, clientIp: request.ip, protocol: 'http', hasBody: true });
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  context: UpstreamRequestContext,
): Record<string, string | string[]> {
  const outgoing: Record<string, string | string[]> = {};
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = incoming[name];
    if (value !== undefined) outgoing[name] = value;
  }
  const contentLength = incoming['content-length'];
  if (context.hasBody && contentLength !== undefined) outgoing['content-length'] = contentLength;
  if (context.deviceScope !== undefined) outgoing[DEVICE_SCOPE_HEADER] = context.deviceScope;
  outgoing['x-request-id'] = context.requestId;
  const forwardedFor = incoming['x-forwarded-for'];
  outgoing['x-forwarded-for'] = forwardedFor ? `${forwardedFor}, ${context.clientIp}` : context.clientIp;
  outgoing['x-forwarded-proto'] = context.protocol;
  if (incoming.host !== undefined) outgoing['x-forwarded-host'] = incoming.host;
  return outgoing;
}

/**
 * The upstream's response headers minus the hop-by-hop ones (and any header its `Connection`
 * header names); everything else — `etag`, `location`, `retry-after`, `content-type`,
 * `content-length`, `set-cookie` — reaches the client unchanged.
 */
export function clientResponseHeaders(upstream: IncomingHttpHeaders): IncomingHttpHeaders {
  const named = String(upstream.connection ?? '')
    .toLowerCase()
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token.length > 0);
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstream)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower) || named.includes(lower)) continue;
    out[lower] = value;
  }
  return out;
}
