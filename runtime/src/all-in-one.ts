import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEVICE_TELEMETRY_TOPIC } from '@assetops/contracts';
import {
  type AccessControl,
  createAccessControl,
  createGateway,
  gatewayAccessConfigSpec,
  gatewayMigrations,
  type MqttDeviceSession,
  mqttLogin,
  mqttMayPublish,
} from '@assetops/gateway';
import {
  ConfigError,
  createInProcessBus,
  createLogger,
  createPool,
  type EventBus,
  type HttpApp,
  type Logger,
  loadConfig,
  type Pool,
  provisionServiceDatabase,
  runMigrations,
  withDatabase,
} from '@assetops/platform';
import { type DemoOptions, type RunningDemo, startDemo } from './demo/index.js';
import { type EmbeddedPostgresServer, startEmbeddedPostgres } from './embedded-postgres.js';
import { isLoopback, startMqttBroker } from './mqtt-broker.js';
import { type RunningService, runService } from './run-service.js';
import { loadLocalSecrets } from './secrets.js';
import { databaseServices, peerUrlEnv, serviceDefinitions } from './services.js';

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
  /**
   * The demo: a simulated fleet registered on an empty platform, sending readings (off unless
   * given; `npm start` turns it on unless `ASSETOPS_DEMO=false`).
   */
  demo?: DemoOptions | false | undefined;
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
  /** The demo, when it was asked for (`demo.ready` resolves once its readings flow). */
  demo?: RunningDemo;
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
    // The telemetry service takes device messages from the broker in this process (its intake),
    // before the broker acknowledges them: a device's PUBACK means its readings are committed.
    // MQTT_USERNAME/MQTT_PASSWORD, when set, is an account that may publish and subscribe to
    // anything. Devices log in with device tokens (checked by the gateway's access control, bound
    // once it runs). Anonymous clients are the development default on a loopback address only
    // (MQTT_ALLOW_ANONYMOUS; never by default once the broker is reachable from the network, or
    // once MQTT_USERNAME is set).
    const mqttHost = opts.mqtt?.host ?? '127.0.0.1';
    const ownMqttAccount = Boolean(env.MQTT_USERNAME && env.MQTT_PASSWORD);
    let access: AccessControl | undefined;
    const brokerOptions = {
      host: mqttHost,
      port: opts.mqtt?.port ?? 0,
      credentials: ownMqttAccount
        ? { username: env.MQTT_USERNAME!, password: env.MQTT_PASSWORD! }
        : undefined,
      intakeTopics: [env.MQTT_TOPIC || DEVICE_TELEMETRY_TOPIC],
      allowAnonymous: allowAnonymousMqtt(env.MQTT_ALLOW_ANONYMOUS, isLoopback(mqttHost) && !ownMqttAccount),
      devices: {
        login: async (username: string | undefined, password: string) =>
          access
            ? mqttLogin(access, username, password)
            : { ok: false as const, reason: 'the platform is starting' },
        mayPublish: async (session: unknown, topic: string) =>
          access !== undefined && mqttMayPublish(access, session as MqttDeviceSession, topic),
      },
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
    // The telemetry service takes device messages through the intake, not as a client of a broker.
    const { MQTT_URL: _ownBroker, ...serviceEnv } = env;

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
        // Services that read other services' APIs get their URLs (those are started before them).
        env: { ...serviceEnv, ...peerUrlEnv(name, services) },
        host: '127.0.0.1',
        port: 0,
        logger: serviceLogger(name),
        startRelay: false,
        ...(name === 'telemetry' ? { mqttIntake: broker.intake } : {}),
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
    // The gateway's own database (users and tokens), provisioned in the loop above.
    const gatewayRole = `${prefix}_gateway`;
    const gatewayPool = createPool({
      connectionString: withDatabase(adminUrl, gatewayRole, {
        user: gatewayRole,
        password: secrets.rolePasswords[gatewayRole]!,
      }),
      applicationName: 'gateway',
    });
    pools.push(gatewayPool);
    await runMigrations(gatewayPool, [gatewayMigrations]);
    const accessSettings = loadConfig(gatewayAccessConfigSpec, env);
    access = createAccessControl({
      pool: gatewayPool,
      adminToken,
      cacheTtlMs: accessSettings.GATEWAY_TOKEN_CACHE_TTL,
      rateLimits: {
        api: accessSettings.GATEWAY_RATE_LIMIT_API,
        ingest: accessSettings.GATEWAY_RATE_LIMIT_INGEST,
      },
      logger: serviceLogger('gateway'),
    });
    const gateway = await createGateway({
      logger: serviceLogger('gateway'),
      adminToken,
      upstreams: Object.fromEntries(Object.values(services).map((s) => [s.name, s.url])),
      access,
    });
    const address = await gateway.listen({ host: opts.host, port: opts.port });
    stack.push(() => gateway.close());
    // Through the gateway like any client; stopped first (the stack unwinds in reverse).
    const demo = opts.demo
      ? startDemo({
          ...opts.demo,
          apiUrl: address.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:'),
          uiUrl: `${address.replace('//0.0.0.0:', '//localhost:').replace('//[::]:', '//localhost:')}/`,
          token: adminToken,
          logger: logger.child({ component: 'demo' }),
        })
      : undefined;
    if (demo) stack.push(() => demo.stop());
    return {
      gatewayUrl: address,
      ...(demo ? { demo } : {}),
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

/** `MQTT_ALLOW_ANONYMOUS` (true/false), else the default (loopback and no MQTT_USERNAME). */
function allowAnonymousMqtt(raw: string | undefined, byDefault: boolean): boolean {
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === '') return byDefault;
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  throw new ConfigError([`MQTT_ALLOW_ANONYMOUS=${JSON.stringify(raw)}: must be true or false`]);
}
