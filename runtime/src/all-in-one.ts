import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createGateway } from '@assetops/gateway';
import {
  ConfigError,
  createInProcessBus,
  createLogger,
  createPool,
  type EventBus,
  type HttpApp,
  type Logger,
  type Pool,
  provisionServiceDatabase,
  withDatabase,
} from '@assetops/platform';
import { type EmbeddedPostgresServer, startEmbeddedPostgres } from './embedded-postgres.js';
import { startMqttBroker } from './mqtt-broker.js';
import { type RunningService, runService } from './run-service.js';
import { loadLocalSecrets } from './secrets.js';
import { databaseServices, serviceDefinitions } from './services.js';

export interface AllInOneOptions {
  /** Data folder: embedded PostgreSQL, secrets, admin token. */
  dataDir: string;
  /** Gateway port (0: any free port). */
  port: number;
  host: string;
  /** When set, the admin bearer token; otherwise one is generated and kept in the data folder. */
  adminToken?: string | undefined;
  /**
   * Use an existing PostgreSQL server (a superuser URL) instead of the embedded one — tests do,
   * with a `databasePrefix` so that runs do not collide.
   */
  postgres?: { adminUrl: string; databasePrefix: string } | undefined;
  /** Port of the embedded PostgreSQL (0: any free port). */
  embeddedPostgresPort?: number;
  /** The embedded MQTT broker for devices (default: any free port on 127.0.0.1). */
  mqtt?: { port: number; host: string; fallbackToFreePort?: boolean } | undefined;
  env?: Record<string, string | undefined>;
  logger?: Logger;
}

export interface AllInOne {
  gatewayUrl: string;
  /** The in-process bus (tests subscribe to it to observe events). */
  bus: EventBus;
  adminToken: string;
  services: Record<string, RunningService>;
  gateway: HttpApp;
  /** The embedded PostgreSQL's port, when the runtime started one. */
  embeddedPostgresPort?: number;
  /** The embedded MQTT broker devices publish to (`mqtt://host:port`). */
  mqttUrl: string;
  stop(): Promise<void>;
}

/**
 * The embedded default: one process hosting every service, each on its own port with its own
 * database and role on one PostgreSQL server (embedded unless one is given), the in-process bus,
 * and the gateway in front.
 */
export async function startAllInOne(opts: AllInOneOptions): Promise<AllInOne> {
  const logger = opts.logger ?? createLogger({ service: 'runtime' });
  // Each service logs under its own name, at the runtime's level.
  const serviceLogger = (service: string) => createLogger({ service, level: logger.level });
  const env = opts.env ?? process.env;
  const prefix = opts.postgres?.databasePrefix ?? 'assetops';
  const roles = databaseServices.map((name) => `${prefix}_${name}`);
  const secrets = await loadLocalSecrets(opts.dataDir, roles);
  const stack: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stack.reverse()) await stop().catch((err) => logger.error({ err }, 'stop failed'));
    stack.length = 0;
  };

  try {
    // First: a taken port fails at once (not after PostgreSQL started), and the broker stops after
    // the services, so telemetry writes and acknowledges what it received before it goes away.
    // MQTT_USERNAME/MQTT_PASSWORD, when set, are required of every client, the telemetry service
    // included (it reads the same variables).
    const brokerOptions = {
      host: opts.mqtt?.host ?? '127.0.0.1',
      port: opts.mqtt?.port ?? 0,
      credentials:
        env.MQTT_USERNAME && env.MQTT_PASSWORD
          ? { username: env.MQTT_USERNAME, password: env.MQTT_PASSWORD }
          : undefined,
      logger: logger.child({ component: 'mqtt-broker' }),
    };
    const broker = await startMqttBroker(brokerOptions).catch(async (err) => {
      // The default port taken (a Mosquitto already running): the platform still starts, on a free
      // port, and says so. A port the user chose is a configuration error.
      if (!opts.mqtt?.fallbackToFreePort || !(err instanceof ConfigError)) throw err;
      const fallback = await startMqttBroker({ ...brokerOptions, port: 0 });
      logger.warn(
        { wanted: brokerOptions.port, url: fallback.url },
        `MQTT port ${brokerOptions.port} is in use; the embedded broker listens on ${fallback.url} instead (set MQTT_PORT to choose)`,
      );
      return fallback;
    });
    stack.push(() => broker.stop());
    logger.info({ url: broker.url }, 'embedded MQTT broker started');
    const serviceEnv = { ...env, MQTT_URL: broker.url };

    let adminUrl: string;
    let embeddedPostgresPort: number | undefined;
    if (opts.postgres) {
      adminUrl = opts.postgres.adminUrl;
    } else {
      const pgLogger = logger.child({ component: 'embedded-postgres' });
      const server: EmbeddedPostgresServer = await startEmbeddedPostgres({
        dataDir: path.join(opts.dataDir, 'postgres'),
        port: opts.embeddedPostgresPort ?? 0,
        password: secrets.postgresPassword,
        onLog: (line) => pgLogger.debug(line),
      });
      stack.push(() => server.stop());
      adminUrl = server.adminUrl;
      embeddedPostgresPort = server.port;
      logger.info({ dataDir: server.dataDir, port: server.port }, 'embedded PostgreSQL started');
    }

    const bus = createInProcessBus();
    stack.push(() => bus.close());
    const services: Record<string, RunningService> = {};
    const pools: Pool[] = [];
    stack.push(async () => {
      await Promise.all(pools.map((pool) => pool.end()));
    });
    for (const name of databaseServices) {
      const role = `${prefix}_${name}`;
      const password = secrets.rolePasswords[role]!;
      await provisionServiceDatabase(adminUrl, { database: role, role, password });
      const def = serviceDefinitions[name];
      if (!def) continue;
      const pool = createPool({
        connectionString: withDatabase(adminUrl, role, { user: role, password }),
        applicationName: name,
      });
      pools.push(pool);
      // Relays start only once every consumer has subscribed: the in-process bus delivers to the
      // subscribers present at publish time.
      const running = await runService(def, {
        pool,
        bus,
        // The alert service reads history (backtests) through the telemetry service, started before it.
        env:
          name === 'alert' && services.telemetry
            ? { ...serviceEnv, ASSETOPS_TELEMETRY_URL: services.telemetry.url }
            : serviceEnv,
        host: '127.0.0.1',
        port: 0,
        logger: serviceLogger(name),
        startRelay: false,
      });
      services[name] = running;
      stack.push(() => running.stop());
    }
    for (const running of Object.values(services)) running.startRelay();
    // Stopping runs this first: every relay stops before any consumer unsubscribes.
    stack.push(async () => {
      await Promise.all(Object.values(services).map((s) => s.stopRelay()));
    });

    const adminToken = opts.adminToken ?? secrets.adminToken;
    if (!opts.adminToken) {
      await writeFile(path.join(opts.dataDir, 'admin-token'), `${adminToken}\n`, { mode: 0o600 });
    }
    const gateway = await createGateway({
      logger: serviceLogger('gateway'),
      adminToken,
      upstreams: Object.fromEntries(Object.values(services).map((s) => [s.name, s.url])),
    });
    const address = await gateway.listen({ host: opts.host, port: opts.port });
    stack.push(() => gateway.close());
    return {
      gatewayUrl: address,
      bus,
      adminToken,
      services,
      gateway,
      mqttUrl: broker.url,
      ...(embeddedPostgresPort === undefined ? {} : { embeddedPostgresPort }),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
