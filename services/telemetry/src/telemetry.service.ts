import { fileURLToPath } from 'node:url';
import {
  createHttpApp,
  loadConfig,
  type ServiceContext,
  type ServiceDefinition,
  type ServiceInstance,
} from '@assetops/platform';
import { KnownAssets } from './assets/known-assets.js';
import { createFeedPublisher } from './feed/feed-publisher.js';
import { Ingestor } from './ingest/ingest.js';
import { registerIngestRoutes } from './ingest/ingest.routes.js';
import { mqttIngestFromConfig } from './mqtt/mqtt-ingest.js';
import { registerQueryRoutes } from './query/query.routes.js';
import { createRollupAggregator } from './rollups/rollup-aggregator.js';
import { createStorageMaintenance } from './storage/maintenance.js';
import { ensureRetentionClasses } from './storage/partitions.js';
import { retentionPolicy, telemetryConfigSpec } from './telemetry.config.js';

/** Largest request body: a JSON batch of 10,000 readings, or an NDJSON stream. */
const BODY_LIMIT = 16 * 1024 * 1024;

/**
 * The Telemetry service's composition root: ingestion (HTTP; MQTT when configured), storage
 * maintenance, the roll-up aggregator, the TelemetryAggregated feed, and its own list of assets from the Asset events.
 */
export async function createTelemetryService(ctx: ServiceContext): Promise<ServiceInstance> {
  const config = loadConfig(telemetryConfigSpec, ctx.env);
  const policy = retentionPolicy(config);
  const classes = await ensureRetentionClasses(ctx.pool, policy);
  const assets = new KnownAssets(ctx.pool);
  const ingestor = new Ingestor({
    pool: ctx.pool,
    assets,
    classes,
    latenessMs: config.TELEMETRY_LATENESS_WINDOW,
    maxFutureMs: config.TELEMETRY_MAX_FUTURE,
    feedWindowMs: config.TELEMETRY_FEED_WINDOW,
    metrics: ctx.metrics,
    now: () => ctx.clock.now().getTime(),
    // `feed` is created below; ingestion only runs once the service started.
    onStored: () => feed.nudge(),
  });
  const storage = createStorageMaintenance({
    pool: ctx.pool,
    logger: ctx.logger,
    classes,
    latenessMs: config.TELEMETRY_LATENESS_WINDOW,
    partitionsAheadDays: config.TELEMETRY_PARTITIONS_AHEAD,
    compactAfterMs: config.TELEMETRY_COMPACT_AFTER,
    intervalMs: config.TELEMETRY_MAINTENANCE_INTERVAL,
    now: () => ctx.clock.now().getTime(),
  });
  // Partitions for today and the days ahead exist before the first reading arrives.
  await storage.prepare();
  const feed = createFeedPublisher({
    pool: ctx.pool,
    logger: ctx.logger,
    clock: ctx.clock,
    ids: ctx.ids,
    windowMs: config.TELEMETRY_FEED_WINDOW,
  });
  // Roll-up tiers and latest values, merged from what ingest appended (queries stay exact meanwhile).
  // Each run upserts one row per tier for each series it saw, however many batches brought it: a
  // longer interval merges more batches per row, but leaves more rows for queries to read beside
  // the tiers (they scan the pending rows).
  const rollups = createRollupAggregator({
    pool: ctx.pool,
    logger: ctx.logger,
    intervalMs: config.TELEMETRY_ROLLUP_INTERVAL,
  });

  // Device telemetry over MQTT: from the embedded broker (all-in-one), or from MQTT_URL when set.
  const mqtt = mqttIngestFromConfig(config, ctx, ingestor);

  const app = await createHttpApp({
    service: 'telemetry',
    logger: ctx.logger,
    metrics: ctx.metrics,
    bodyLimit: BODY_LIMIT,
    description: 'Telemetry ingestion, time-partitioned storage, roll-ups and retention.',
    readiness: {
      database: async () => void (await ctx.pool.query('SELECT 1')),
      ...(mqtt ? { mqtt: mqtt.ready } : {}),
    },
  });
  registerIngestRoutes(app, ingestor);
  registerQueryRoutes(app, { pool: ctx.pool, clock: ctx.clock, maxPoints: config.TELEMETRY_MAX_POINTS });

  return {
    app,
    consumer: { sources: ['asset'], handlers: assets.handlers({ clock: ctx.clock, ids: ctx.ids }) },
    async start() {
      storage.start();
      feed.start();
      rollups.start();
      await mqtt?.start();
    },
    async stop() {
      // First: what was received is written (and acknowledged) while the database is still there.
      await mqtt?.stop();
      await feed.stop();
      await rollups.stop();
      await storage.stop();
    },
  };
}

export const telemetryService: ServiceDefinition = {
  name: 'telemetry',
  migrations: { module: 'telemetry', dir: fileURLToPath(new URL('../migrations', import.meta.url)) },
  create: createTelemetryService,
};
