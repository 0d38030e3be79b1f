import { type ConfigOf, duration, optional, port, string, url } from '@assetops/platform';

const upstreamUrl = (service: string) =>
  optional(
    url({
      protocols: ['http:', 'https:'],
      description: `base URL of the ${service} service (its /api/v1 routes answer 503 while unset)`,
    }),
  );

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
  ASSETOPS_ASSET_URL: upstreamUrl('asset'),
  ASSETOPS_TELEMETRY_URL: upstreamUrl('telemetry'),
  ASSETOPS_ALERT_URL: upstreamUrl('alert'),
  ASSETOPS_MAINTENANCE_URL: upstreamUrl('maintenance'),
  ASSETOPS_DASHBOARD_URL: upstreamUrl('dashboard'),
  GATEWAY_UPSTREAM_TIMEOUT: duration({
    default: 10_000,
    description: 'how long an upstream service may take to answer (e.g. 10s)',
  }),
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
