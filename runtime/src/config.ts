import {
  boolean,
  duration,
  integer,
  optional,
  port,
  SELF_VACUUM_MODES,
  string,
  url,
  urlList,
} from '@assetops/platform';

/** Settings of the all-in-one runtime (`npm start`). */
export const allInOneConfigSpec = {
  PORT: port({ default: 8080, description: 'gateway HTTP port (the API, the docs and later the web UI)' }),
  HOST: string({ default: '0.0.0.0', description: 'gateway listen address' }),
  ASSETOPS_DATA_DIR: string({
    default: '.assetops',
    description: 'data folder: embedded PostgreSQL, secrets, admin token',
  }),
  ASSETOPS_ADMIN_TOKEN: optional(
    string({
      minLength: 16,
      secret: true,
      description: 'admin bearer token; generated into the data folder when unset',
    }),
  ),
  ASSETOPS_EMBEDDED_PG_PORT: port({
    default: 0,
    description: 'embedded PostgreSQL port on 127.0.0.1 (0: any free port)',
  }),
  MQTT_PORT: port({
    default: 1883,
    description: 'embedded MQTT broker port for devices (0: any free port)',
  }),
  MQTT_HOST: string({
    default: '127.0.0.1',
    description:
      'embedded MQTT broker listen address (0.0.0.0: devices on the network, logging in with device tokens)',
  }),
  MQTT_ALLOW_ANONYMOUS: optional(
    boolean({
      description:
        'whether MQTT clients may connect without a device token (default: true on a loopback MQTT_HOST without MQTT_USERNAME, else false)',
    }),
  ),
  LOG_LEVEL: string({
    default: 'info',
    oneOf: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    description: 'log level',
  }),
  ASSETOPS_DEMO: boolean({
    default: true,
    description:
      'the demo: on a platform without assets, register a simulated fleet and send its readings (resumed on later starts)',
  }),
};

/** Settings of one service running in its own process (`npm run service -- <name>`). */
export const serviceConfigSpec = {
  PORT: optional(port({ description: "HTTP port (default: the service's own, 8081–8085)" })),
  HOST: string({ default: '0.0.0.0', description: 'listen address' }),
  DATABASE_URL: url({
    protocols: ['postgres:', 'postgresql:'],
    secret: true,
    description: "the service's own database, as its own role (see `npm run provision`)",
  }),
  NATS_URL: urlList({
    protocols: ['nats:', 'tls:'],
    description: 'NATS JetStream server(s), comma-separated',
  }),
  NATS_TOKEN: optional(
    string({ secret: true, description: 'NATS token, when the servers require token authorization' }),
  ),
  NATS_ACK_WAIT: duration({
    default: 30_000,
    description: 'how long JetStream waits for an acknowledgement before redelivering to another instance',
  }),
  NATS_REPLICAS: integer({
    default: 1,
    min: 1,
    max: 5,
    description: 'JetStream stream replicas (3 on a three-node cluster)',
  }),
  NATS_STREAM_PREFIX: string({
    default: 'ASSETOPS',
    description: 'JetStream stream name prefix (several AssetOps installations can share one NATS)',
  }),
  DATABASE_POOL_SIZE: integer({
    default: 10,
    min: 1,
    max: 200,
    description: 'database connections per instance',
  }),
  LOG_LEVEL: allInOneConfigSpec.LOG_LEVEL,
};

/** Settings every service reads the same way in both runtimes (`runService`, from its `env`). */
export const runServiceConfigSpec = {
  DB_SELF_VACUUM: string({
    default: 'auto',
    oneOf: SELF_VACUUM_MODES,
    description:
      "vacuum the service's own high-churn tables: auto (while the server's autovacuum is off), on, off",
  }),
  // Larger rounds share a round's fixed costs (claim, mark, commit) and give the batch handlers
  // longer runs: in `bench:dashboard` at 26,000 readings/s the dashboard kept up with 1,000 (per-event
  // lag p99 0.97 s) and fell behind with 200 (8.8 s).
  INBOX_BATCH_SIZE: integer({
    default: 1000,
    min: 1,
    max: 10_000,
    description: "events a service's consumer handles per transaction",
  }),
  // In bench:ingest (8 HTTP clients) handling on receive took PostgreSQL's CPU per 1,000 readings from
  // 15.5 to 12.0 ms (the alert database's share halved) and the burst rate from 64,353 to 78,256/s.
  INBOX_HANDLE_ON_RECEIVE: boolean({
    default: true,
    description:
      "whether a service's active consumer handles a delivered batch at once, in the transaction that records it in the inbox, when nothing waits there (off: always stored first, then handled by the worker)",
  }),
  OUTBOX_RETENTION: duration({
    default: 24 * 3_600_000,
    description: 'how long published outbox rows are kept',
  }),
  INBOX_RETENTION: duration({
    default: 7 * 24 * 3_600_000,
    description: 'how long the ids of processed events are kept to recognise a redelivery',
  }),
};
