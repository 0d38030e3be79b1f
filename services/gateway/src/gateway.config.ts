import { type ConfigOf, type ConfigVar, duration, optional, port, string, url } from '@assetops/platform';
import { parseRateLimit, type RateLimit } from './access/rate-limit.js';

const upstreamUrl = (service: string) =>
  optional(
    url({
      protocols: ['http:', 'https:'],
      description: `base URL of the ${service} service (its /api/v1 routes answer 503 while unset)`,
    }),
  );

const rateLimit = (opts: { default: string; description: string }): ConfigVar<RateLimit | undefined> => ({
  parse: parseRateLimit,
  default: parseRateLimit(opts.default),
  required: false,
  description: opts.description,
});

/**
 * The access-control settings, read by both runtimes (the all-in-one one reads only these).
 *
 * @example
 * const settings = loadConfig(gatewayAccessConfigSpec, process.env);
 * createAccessControl({ pool, adminToken, cacheTtlMs: settings.GATEWAY_TOKEN_CACHE_TTL, … });
 */
export const gatewayAccessConfigSpec = {
  GATEWAY_TOKEN_CACHE_TTL: duration({
    default: 5_000,
    description:
      'how long a token verification is cached per gateway instance: a revoked token is refused within this time (e.g. 5s; 0 for none)',
  }),
  GATEWAY_RATE_LIMIT_API: rateLimit({
    default: '50/s,burst=100',
    description:
      'per-token limit of API calls other than ingest, per gateway instance (e.g. 50/s,burst=100; off)',
  }),
  GATEWAY_RATE_LIMIT_INGEST: rateLimit({
    default: '100/s,burst=200',
    description: 'per-token limit of POST /api/v1/telemetry requests, per gateway instance (e.g. 100/s; off)',
  }),
};

/**
 * The gateway's environment variables, for platform's `loadConfig`. The admin token is optional
 * here because the all-in-one runtime generates one when it is absent; `createGateway` itself
 * always needs one.
 *
 * @example
 * const config = loadConfig(gatewayConfigSpec, process.env);
 * const app = await createGateway({ logger, adminToken: config.ASSETOPS_ADMIN_TOKEN ?? generated,
 *   upstreams: upstreamsFromConfig(config), upstreamTimeoutMs: config.GATEWAY_UPSTREAM_TIMEOUT });
 */
export const gatewayConfigSpec = {
  PORT: port({ default: 8080, description: 'HTTP port of the gateway' }),
  HOST: string({ default: '0.0.0.0', description: 'interface the gateway listens on' }),
  ASSETOPS_ADMIN_TOKEN: optional(
    string({ minLength: 16, secret: true, description: 'bearer token that grants full access to /api/v1' }),
  ),
  DATABASE_URL: optional(
    url({
      protocols: ['postgres:', 'postgresql:'],
      secret: true,
      description:
        "the gateway's own database (users and tokens), as its own role; required by `npm run service -- gateway`",
    }),
  ),
  ASSETOPS_ASSET_URL: upstreamUrl('asset'),
  ASSETOPS_TELEMETRY_URL: upstreamUrl('telemetry'),
  ASSETOPS_ALERT_URL: upstreamUrl('alert'),
  ASSETOPS_MAINTENANCE_URL: upstreamUrl('maintenance'),
  ASSETOPS_DASHBOARD_URL: upstreamUrl('dashboard'),
  GATEWAY_UPSTREAM_TIMEOUT: duration({
    default: 10_000,
    description: 'how long an upstream service may take to answer (e.g. 10s)',
  }),
  GATEWAY_COMPOSITION_TIMEOUT: duration({
    default: 1_000,
    description: 'how long each service may take within a composed call such as the asset overview (e.g. 1s)',
  }),
  ...gatewayAccessConfigSpec,
};

/** The parsed gateway configuration. */
export type GatewayConfig = ConfigOf<typeof gatewayConfigSpec>;

/**
 * The `upstreams` option from the configuration: the services whose URL is set, by the names the
 * route table uses.
 *
 * @example
 * upstreamsFromConfig({ ...config, ASSETOPS_ASSET_URL: 'http://127.0.0.1:8081' }); // { asset: 'http://127.0.0.1:8081' }
 */
export function upstreamsFromConfig(config: GatewayConfig): Record<string, string> {
  const configured: Record<string, string | undefined> = {
    asset: config.ASSETOPS_ASSET_URL,
    telemetry: config.ASSETOPS_TELEMETRY_URL,
    alert: config.ASSETOPS_ALERT_URL,
    maintenance: config.ASSETOPS_MAINTENANCE_URL,
    dashboard: config.ASSETOPS_DASHBOARD_URL,
  };
  return Object.fromEntries(
    Object.entries(configured).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
