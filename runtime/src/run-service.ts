import {
  createEventConsumer,
  createLogger,
  createMetricsRegistry,
  createOutboxRelay,
  type EventBus,
  type Logger,
  loadConfig,
  type MqttIntake,
  messagingMigrations,
  type Pool,
  registerDeadLetterRoutes,
  runMigrations,
  type SelfVacuumMode,
  type ServiceDefinition,
  type ServiceInstance,
  startSelfVacuum,
  systemClock,
  uuidV7Ids,
} from '@assetops/platform';
import { runServiceConfigSpec } from './config.js';

/** A service started by a runtime: its instance, its address, and how to stop it. */
export interface RunningService {
  name: string;
  instance: ServiceInstance;
  /** `http://host:port` the service listens on. */
  url: string;
  /** Starts relaying its outbox; the all-in-one runtime calls it after every consumer subscribed. */
  startRelay(): void;
  /** Stops relaying its outbox (idempotent); the all-in-one runtime stops every relay before any consumer. */
  stopRelay(): Promise<void>;
  stop(): Promise<void>;
}

export interface RunServiceOptions {
  pool: Pool;
  bus: EventBus;
  env: Record<string, string | undefined>;
  host: string;
  port: number;
  logger?: Logger;
  /** Start the outbox relay at once (one service per process) or later via `startRelay()`. */
  startRelay?: boolean;
  /** The embedded MQTT broker's intake (the all-in-one runtime), for the service that takes device messages. */
  mqttIntake?: MqttIntake;
}

/**
 * Brings up one service the same way in both runtimes: migrations (the platform's messaging tables
 * and the service's own), the service's app, its consumer and its outbox relay, then listens.
 */
export async function runService(def: ServiceDefinition, opts: RunServiceOptions): Promise<RunningService> {
  const logger = opts.logger ?? createLogger({ service: def.name });
  const settings = loadConfig(runServiceConfigSpec, opts.env);
  const metrics = createMetricsRegistry(def.name);
  const { applied } = await runMigrations(opts.pool, [messagingMigrations, def.migrations]);
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');

  const instance = await def.create({
    logger,
    metrics,
    clock: systemClock,
    ids: uuidV7Ids,
    pool: opts.pool,
    bus: opts.bus,
    env: opts.env,
    ...(opts.mqttIntake ? { mqttIntake: opts.mqttIntake } : {}),
  });
  // Every service answers for its own dead letters, the same way (inspection and redrive).
  registerDeadLetterRoutes(instance.app, { pool: opts.pool, service: def.name });
  const relay = createOutboxRelay({
    pool: opts.pool,
    bus: opts.bus,
    logger,
    metrics,
    retentionMs: settings.OUTBOX_RETENTION,
  });
  const consumer = instance.consumer
    ? createEventConsumer({
        name: def.name,
        pool: opts.pool,
        bus: opts.bus,
        sources: instance.consumer.sources,
        handlers: instance.consumer.handlers,
        ...(instance.consumer.accept ? { accept: instance.consumer.accept } : {}),
        retentionMs: settings.INBOX_RETENTION,
        batchSize: settings.INBOX_BATCH_SIZE,
        handleOnReceive: settings.INBOX_HANDLE_ON_RECEIVE,
        logger,
        metrics,
      })
    : undefined;
  await consumer?.start();
  await instance.start?.();
  // High-churn tables (inbox, outbox, pending rows, views) are vacuumed by the service itself when
  // the server's autovacuum is off (DB_SELF_VACUUM=auto, the default).
  const vacuum = startSelfVacuum({
    pool: opts.pool,
    logger,
    mode: settings.DB_SELF_VACUUM as SelfVacuumMode,
    metrics,
  });
  let relayStarted = false;
  const startRelay = () => {
    if (relayStarted) return;
    relayStarted = true;
    void relay.start();
  };
  let relayStopped: Promise<void> | undefined;
  const stopRelay = () => {
    relayStopped ??= relay.stop();
    return relayStopped;
  };
  if (opts.startRelay ?? true) startRelay();

  const address = await instance.app.listen({ host: opts.host, port: opts.port });
  logger.info({ url: address }, `${def.name} service listening`);
  return {
    name: def.name,
    instance,
    url: address,
    startRelay,
    stopRelay,
    async stop() {
      await instance.app.close();
      await stopRelay();
      vacuum.stop();
      await instance.stop?.();
      await consumer?.stop();
    },
  };
}
