import {
  createAccessControl,
  createGateway,
  gatewayConfigSpec,
  gatewayMigrations,
  upstreamsFromConfig,
} from '@assetops/gateway';
import {
  ConfigError,
  configureTracing,
  createLogger,
  createNatsBus,
  createPool,
  loadConfig,
  runMigrations,
  type ServiceDefinition,
} from '@assetops/platform';
import { serviceConfigSpec } from './config.js';
import { runService } from './run-service.js';
import { distributedSecretProblems } from './secret-policy.js';
import { defaultPorts, serviceDefinitions } from './services.js';

// `npm run service -- <name>`: one service in this process (the distributed runtime), on its own
// database (DATABASE_URL) and NATS JetStream (NATS_URL). The gateway needs the services' URLs.
const name = process.argv[2];
const known = [...Object.keys(serviceDefinitions), 'gateway'];

// Spans go to an OpenTelemetry collector when OTEL_EXPORTER_OTLP_ENDPOINT is set.
const tracing = configureTracing(process.env);

async function main(): Promise<void> {
  if (!name || !known.includes(name)) {
    throw new ConfigError([
      `usage: npm run service -- <${known.join('|')}>${name ? ` (unknown service '${name}')` : ''}`,
    ]);
  }
  if (name === 'gateway') return startGateway();
  const def = serviceDefinitions[name as keyof typeof serviceDefinitions] as ServiceDefinition;
  const config = loadConfig(serviceConfigSpec, process.env);
  refuseWeakSecrets(name);
  const logger = createLogger({ service: name, level: config.LOG_LEVEL });
  const pool = createPool({
    connectionString: config.DATABASE_URL,
    applicationName: name,
    max: config.DATABASE_POOL_SIZE,
  });
  const bus = await createNatsBus({
    servers: config.NATS_URL,
    name: `assetops-${name}`,
    logger,
    streamPrefix: config.NATS_STREAM_PREFIX,
    token: config.NATS_TOKEN,
    replicas: config.NATS_REPLICAS,
    ackWaitMs: config.NATS_ACK_WAIT,
  });
  const running = await runService(def, {
    pool,
    bus,
    env: process.env,
    host: config.HOST,
    port: config.PORT ?? defaultPorts[name as keyof typeof defaultPorts],
    logger,
  });
  onShutdown(async () => {
    await running.stop();
    await bus.close();
    await pool.end();
  });
}

async function startGateway(): Promise<void> {
  const config = loadConfig(gatewayConfigSpec, process.env);
  refuseWeakSecrets('gateway');
  if (!config.ASSETOPS_ADMIN_TOKEN) throw new ConfigError(['ASSETOPS_ADMIN_TOKEN is required']);
  // Users and tokens live in the gateway's own database (`npm run provision` creates it).
  if (!config.DATABASE_URL) {
    throw new ConfigError(["DATABASE_URL is required: the gateway's own database (users and tokens)"]);
  }
  const logger = createLogger({ service: 'gateway', level: process.env.LOG_LEVEL ?? 'info' });
  const pool = createPool({ connectionString: config.DATABASE_URL, applicationName: 'gateway' });
  const { applied } = await runMigrations(pool, [gatewayMigrations]);
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  const access = createAccessControl({
    pool,
    adminToken: config.ASSETOPS_ADMIN_TOKEN,
    cacheTtlMs: config.GATEWAY_TOKEN_CACHE_TTL,
    rateLimits: { api: config.GATEWAY_RATE_LIMIT_API, ingest: config.GATEWAY_RATE_LIMIT_INGEST },
    logger,
  });
  const app = await createGateway({
    logger,
    adminToken: config.ASSETOPS_ADMIN_TOKEN,
    upstreams: upstreamsFromConfig(config),
    upstreamTimeoutMs: config.GATEWAY_UPSTREAM_TIMEOUT,
    compositionTimeoutMs: config.GATEWAY_COMPOSITION_TIMEOUT,
    access,
  });
  await app.listen({ host: config.HOST, port: config.PORT });
  onShutdown(async () => {
    await app.close();
    await pool.end();
  });
}

/** Default, placeholder and missing secrets are refused before connecting anywhere. */
function refuseWeakSecrets(service: string): void {
  const problems = distributedSecretProblems(service, process.env);
  if (problems.length > 0) throw new ConfigError(problems);
}

function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = async () => {
    if (stopping) return;
    stopping = true;
    await stop().catch(() => {});
    await tracing.shutdown();
    process.exit(0);
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `${err instanceof ConfigError ? err.message : ((err as Error).stack ?? String(err))}\n`,
  );
  process.exit(1);
});
