/**
 * @assetops/gateway — the single entry point of AssetOps: authenticates `/api/v1/*`, routes each
 * call to the service that owns its path, and serves the merged API documentation at `/docs`.
 * It owns no data.
 */
export {
  type AccessControl,
  type AccessControlOptions,
  createAccessControl,
  DEVICE_TOKEN_HEADER,
  InsufficientRoleError,
} from './access/access.control.js';
export { gatewayMigrations } from './access/access.migrations.js';
export { accessPolicy, compilePolicy, type PolicyRule } from './access/access.policy.js';
export {
  DEVICE_SCOPE_HEADER,
  type DeviceScope,
  deviceScopeHeader,
  type Role,
  type UserRole,
} from './access/access.roles.js';
export {
  type MqttDeviceSession,
  type MqttLogin,
  mayPublishTopic,
  mqttLogin,
  mqttMayPublish,
} from './access/mqtt-auth.js';
export { parseRateLimit, type RateLimit, TokenBuckets } from './access/rate-limit.js';
export {
  type Authenticate,
  BEARER_CHALLENGE,
  bearerToken,
  createTokenAuthenticator,
  type Principal,
  principalOf,
} from './auth/auth.js';
export { mergeOpenApi } from './docs/openapi.merge.js';
export {
  type GatewayConfig,
  gatewayAccessConfigSpec,
  gatewayConfigSpec,
  upstreamsFromConfig,
} from './gateway.config.js';
export { createGateway, type GatewayOptions } from './gateway.js';
export { FORWARDED_REQUEST_HEADERS } from './proxy/proxy.headers.js';
export {
  compileRouteTable,
  defaultRoutes,
  type RouteMatch,
  type RouteMatcher,
  type RouteTable,
} from './proxy/route-table.js';
