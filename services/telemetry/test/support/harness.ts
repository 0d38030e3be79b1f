import { randomUUID } from 'node:crypto';
import {
  AssetRegistered,
  type AssetStatus,
  AssetStatusChanged,
  type EventEnvelope,
  type IngestResult,
} from '@assetops/contracts';
import {
  type Clock,
  createEvent,
  createInProcessBus,
  createLogger,
  createMetricsRegistry,
  loadConfig,
  messagingMigrations,
  runMigrations,
  type ServiceInstance,
  uuidV7Ids,
  withTransaction,
} from '@assetops/platform';
import { createTestDatabase, ManualClock, type TestDatabase } from '@assetops/platform/testkit';
import { createTelemetryService, telemetryService } from '../../src/index.js';
import { createRollupAggregator, type RollupRun } from '../../src/rollups/rollup-aggregator.js';
import { createStorageMaintenance, type StorageMaintenanceRun } from '../../src/storage/maintenance.js';
import { ensureRetentionClasses, type RetentionClasses } from '../../src/storage/partitions.js';
import { retentionPolicy, telemetryConfigSpec } from '../../src/telemetry.config.js';

export interface TelemetryHarness {
  db: TestDatabase;
  service: ServiceInstance;
  clock: ManualClock;
  /** Registers an asset the way the Asset service's event would. */
  registerAsset(type?: string): Promise<string>;
  changeStatus(assetId: string, to: AssetStatus, assetType?: string): Promise<void>;
  /** Delivers an event to the service's consumer handlers in one transaction. */
  deliver(event: EventEnvelope): Promise<void>;
  ingest(readings: unknown[]): Promise<IngestResult>;
  /**
   * The storage chores (partitions ahead, retention, compaction) on the manual clock, configured
   * from the same env as the service; `classes` are the retention classes of that configuration.
   */
  storage: { run(): Promise<StorageMaintenanceRun>; classes: RetentionClasses };
  /**
   * Merges every pending roll-up row into the 1m/1h/1d tiers and the latest values now, as the
   * service's aggregator loop would shortly (tests that read the tier tables call it first; the
   * query API is exact without it).
   */
  flushRollups(): Promise<RollupRun>;
  close(): Promise<void>;
}

/**
 * A Telemetry service on a fresh database (real PostgreSQL) with a manual clock, driven through its
 * HTTP app (inject) and its event handlers. Its background loops are not started: tests call the
 * chores they need.
 */
export async function startTelemetry(
  opts: { env?: Record<string, string>; now?: string } = {},
): Promise<TelemetryHarness> {
  const db = await createTestDatabase('telemetry');
  await runMigrations(db.pool, [messagingMigrations, telemetryService.migrations]);
  const clock = new ManualClock(opts.now ?? new Date().toISOString());
  const service = await createTelemetryService({
    logger: createLogger({ service: 'telemetry', level: 'silent' }),
    metrics: createMetricsRegistry('telemetry'),
    clock: clock as Clock,
    ids: uuidV7Ids,
    pool: db.pool,
    bus: createInProcessBus(),
    env: opts.env ?? {},
  });
  await service.app.ready();
  const storage = await createHarnessStorage(db, clock, opts.env ?? {});
  const rollups = createRollupAggregator({
    pool: db.pool,
    logger: createLogger({ service: 'telemetry', level: 'silent' }),
  });
  const versions = new Map<string, number>();
  const types = new Map<string, string>();

  const deliver = async (event: EventEnvelope) => {
    const handler = service.consumer?.handlers[event.type];
    if (!handler) throw new Error(`no handler for ${event.type}`);
    await withTransaction(db.pool, (tx) => handler(tx, event as EventEnvelope<never>));
  };

  return {
    db,
    service,
    clock,
    deliver,
    storage,
    flushRollups: () => rollups.flush(),
    async registerAsset(type = 'pump') {
      const assetId = randomUUID();
      versions.set(assetId, 1);
      types.set(assetId, type);
      await deliver(
        createEvent(
          AssetRegistered,
          {
            assetId,
            name: `asset ${assetId.slice(0, 8)}`,
            type,
            location: null,
            metadata: {},
            status: 'commissioning',
            registeredAt: clock.now().toISOString(),
          },
          { subject: assetId, clock, ids: uuidV7Ids },
        ),
      );
      return assetId;
    },
    async changeStatus(assetId, to, assetType) {
      const version = (versions.get(assetId) ?? 1) + 1;
      versions.set(assetId, version);
      await deliver(
        createEvent(
          AssetStatusChanged,
          {
            assetId,
            assetType: assetType ?? types.get(assetId) ?? 'pump',
            from: 'active',
            to,
            reason: null,
            version,
            changedAt: clock.now().toISOString(),
          },
          { subject: assetId, clock, ids: uuidV7Ids },
        ),
      );
    },
    async ingest(readings) {
      const res = await service.app.inject({
        method: 'POST',
        url: '/api/v1/telemetry',
        payload: { readings },
      });
      if (res.statusCode !== 200) throw new Error(`ingest answered ${res.statusCode}: ${res.body}`);
      return res.json<IngestResult>();
    },
    async close() {
      await service.stop?.();
      await service.app.close();
      await db.drop();
    },
  };
}

async function createHarnessStorage(db: TestDatabase, clock: ManualClock, env: Record<string, string>) {
  const config = loadConfig(telemetryConfigSpec, env);
  const classes = await ensureRetentionClasses(db.pool, retentionPolicy(config));
  const maintenance = createStorageMaintenance({
    pool: db.pool,
    logger: createLogger({ service: 'telemetry', level: 'silent' }),
    classes,
    latenessMs: config.TELEMETRY_LATENESS_WINDOW,
    partitionsAheadDays: config.TELEMETRY_PARTITIONS_AHEAD,
    intervalMs: config.TELEMETRY_MAINTENANCE_INTERVAL,
    compactAfterMs: config.TELEMETRY_COMPACT_AFTER,
    now: () => clock.now().getTime(),
  });
  return { run: () => maintenance.run(), classes };
}
