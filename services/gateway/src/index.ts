/**
 * @assetops/gateway — the single entry point of AssetOps: authenticates `/api/v1/*`, routes each
 * call to the service that owns its path, and serves the merged API documentation at `/docs`.
 * It owns no data.
 */
export {
  type Authenticate,
  BEARER_CHALLENGE,
  bearerToken,
  createTokenAuthenticator,
  type Principal,
  principalOf,
} from './auth/auth.js';
export { mergeOpenApi } from './docs/openapi.merge.js';
export { type GatewayConfig, gatewayConfigSpec, upstreamsFromConfig } from './gateway.config.js';
export { createGateway, type GatewayOptions } from './gateway.js';
export { FORWARDED_REQUEST_HEADERS } from './proxy/proxy.headers.js';
export {
  compileRouteTable,
  defaultRoutes,
  type RouteMatch,
  type RouteMatcher,
  type RouteTable,
} from './proxy/route-table.js';
