import { randomUUID } from 'node:crypto';
import {
  AssetRegistered,
  type AssetStatus,
  AssetStatusChanged,
  type EventEnvelope,
  metricWindowOfReading,
  TelemetryAggregated,
} from '@assetops/contracts';
import {
  type Clock,
  createEvent,
  createInProcessBus,
  createLogger,
  createMetricsRegistry,
  type EventHandler,
  messagingMigrations,
  runMigrations,
  type ServiceInstance,
  uuidV7Ids,
  withTransaction,
} from '@assetops/platform';
import { createTestDatabase, ManualClock, type TestDatabase } from '@assetops/platform/testkit';
import { alertService, createAlertService } from '../../src/index.js';

export interface AlertHarness {
  db: TestDatabase;
  service: ServiceInstance;
  clock: ManualClock;
  /** A new instance of the service on the same database (a restart). */
  restart(): Promise<void>;
  deliver(event: EventEnvelope): Promise<void>;
  registerAsset(type?: string): Promise<string>;
  changeStatus(assetId: string, from: AssetStatus, to: AssetStatus): Promise<void>;
  /** A TelemetryAggregated of one reading (or of the given aggregate) at `ts`. */
  reading(assetId: string, metric: string, ts: number, value: number): EventEnvelope;
  /** A TelemetryAggregated of one reading per metric, all at `ts`. */
  readings(assetId: string, ts: number, values: Record<string, number>): EventEnvelope;
  outbox(type?: string): Promise<EventEnvelope[]>;
  close(): Promise<void>;
}

/** An Alert service on a fresh database with a manual clock; events are fed to its handlers. */
export async function startAlert(
  opts: { env?: Record<string, string>; now?: string } = {},
): Promise<AlertHarness> {
  const db = await createTestDatabase('alert');
  await runMigrations(db.pool, [messagingMigrations, alertService.migrations]);
  const clock = new ManualClock(opts.now ?? '2026-11-28T12:00:00.000Z');
  const create = () =>
    createAlertService({
      logger: createLogger({ service: 'alert', level: 'silent' }),
      metrics: createMetricsRegistry('alert'),
      clock: clock as Clock,
      ids: uuidV7Ids,
      pool: db.pool,
      bus: createInProcessBus(),
      env: opts.env ?? {},
    });
  let service = await create();
  await service.app.ready();
  const versions = new Map<string, number>();
  const h: AlertHarness = {
    db,
    get service() {
      return service;
    },
    clock,
    async restart() {
      await service.app.close();
      service = await create();
      await service.app.ready();
    },
    async deliver(event) {
      const handler = service.consumer?.handlers[event.type] as EventHandler | undefined;
      if (!handler) throw new Error(`no handler for ${event.type}`);
      await withTransaction(db.pool, (tx) => handler(tx, event));
    },
    async registerAsset(type = 'pump') {
      const assetId = randomUUID();
      versions.set(assetId, 1);
      await h.deliver(
        createEvent(
          AssetRegistered,
          {
            assetId,
            name: 'asset',
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
    async changeStatus(assetId, from, to) {
      const version = (versions.get(assetId) ?? 1) + 1;
      versions.set(assetId, version);
      await h.deliver(
        createEvent(
          AssetStatusChanged,
          {
            assetId,
            assetType: 'pump',
            from,
            to,
            reason: null,
            version,
            changedAt: clock.now().toISOString(),
          },
          { subject: assetId, clock, ids: uuidV7Ids },
        ),
      );
    },
    reading(assetId, metric, ts, value) {
      return this.readings(assetId, ts, { [metric]: value });
    },
    readings(assetId, ts, values) {
      const iso = new Date(ts).toISOString();
      return createEvent(
        TelemetryAggregated,
        {
          assetId,
          windowStart: iso,
          windowEnd: new Date(ts + 1000).toISOString(),
          metrics: Object.entries(values).map(([metric, value]) => metricWindowOfReading(metric, value, iso)),
        },
        { subject: assetId, clock, ids: uuidV7Ids },
      );
    },
    async outbox(type) {
      const { rows } = await db.pool.query<{ event: EventEnvelope }>(
        `SELECT event FROM outbox WHERE $1::text IS NULL OR type = $1 ORDER BY position`,
        [type ?? null],
      );
      return rows.map((r) => r.event);
    },
    async close() {
      await service.stop?.();
      await service.app.close();
      await db.drop();
    },
  };
  return h;
}
