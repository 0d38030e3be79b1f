import {
  createEventConsumer,
  createLogger,
  createMetricsRegistry,
  createOutboxRelay,
  type EventBus,
  type Logger,
  messagingMigrations,
  type Pool,
  registerDeadLetterRoutes,
  runMigrations,
  SELF_VACUUM_MODES,
  type SelfVacuumMode,
  type ServiceDefinition,
  type ServiceInstance,
  startSelfVacuum,
  systemClock,
  uuidV7Ids,
} from '@assetops/platform';

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
  /** How long published outbox rows are kept (default: the relay's, 24 h). */
  outboxRetentionMs?: number;
  /** How long processed events' ids are kept against redeliveries (default: the consumer's, 7 days). */
  inboxRetentionMs?: number;
  /** Start the outbox relay at once (one service per process) or later via `startRelay()`. */
  startRelay?: boolean;
}

/**
 * Brings up one service the same way in both runtimes: migrations (the platform's messaging tables
 * and the service's own), the service's app, its consumer and its outbox relay, then listens.
 */
export async function runService(def: ServiceDefinition, opts: RunServiceOptions): Promise<RunningService> {
  const logger = opts.logger ?? createLogger({ service: def.name });
  const vacuumMode = (opts.env.DB_SELF_VACUUM ?? 'auto') as SelfVacuumMode;
  if (!SELF_VACUUM_MODES.includes(vacuumMode)) {
    throw new Error(
      `DB_SELF_VACUUM must be one of ${SELF_VACUUM_MODES.join(', ')} (got ${opts.env.DB_SELF_VACUUM})`,
    );
  }
  const inboxBatchSize = inboxBatchSizeOf(opts.env.INBOX_BATCH_SIZE);
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
  });
  // Every service answers for its own dead letters, the same way (inspection and redrive).
  registerDeadLetterRoutes(instance.app, { pool: opts.pool, service: def.name });
  const relay = createOutboxRelay({
    pool: opts.pool,
    bus: opts.bus,
    logger,
    metrics,
    ...(opts.outboxRetentionMs === undefined ? {} : { retentionMs: opts.outboxRetentionMs }),
  });
  const consumer = instance.consumer
    ? createEventConsumer({
        name: def.name,
        pool: opts.pool,
        bus: opts.bus,
        sources: instance.consumer.sources,
        handlers: instance.consumer.handlers,
        ...(instance.consumer.accept ? { accept: instance.consumer.accept } : {}),
        ...(opts.inboxRetentionMs === undefined ? {} : { retentionMs: opts.inboxRetentionMs }),
        batchSize: inboxBatchSize,
        logger,
        metrics,
      })
    : undefined;
  await consumer?.start();
  await instance.start?.();
  // High-churn tables (inbox, outbox, pending rows, views) are vacuumed by the service itself when
  // the server's autovacuum is off (DB_SELF_VACUUM=auto, the default).
  const vacuum = startSelfVacuum({ pool: opts.pool, logger, mode: vacuumMode, metrics });
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

/**
 * Events a consumer handles per transaction (`INBOX_BATCH_SIZE`, default 1,000). Larger rounds share
 * a round's fixed costs (claim, mark, commit) and give the batch handlers longer runs: in
 * `bench:dashboard` at 26,000 readings/s the dashboard kept up with 1,000 (per-event lag p99 0.97 s)
 * and fell behind with 200 (8.8 s).
 */
export function inboxBatchSizeOf(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 1000;
  const size = Number(raw);
  if (!Number.isInteger(size) || size < 1 || size > 10_000) {
    throw new Error(`INBOX_BATCH_SIZE must be a whole number from 1 to 10000 (got ${raw})`);
  }
  return size;
}
