import { randomUUID } from 'node:crypto';
import {
  AlertCleared,
  AlertEscalated,
  AlertRaised,
  type AlertRaisedData,
  AssetRegistered,
  type AssetStatus,
  AssetStatusChanged,
  type CreateTechnicianBody,
  type EventEnvelope,
  type Severity,
  type Technician,
  type WorkOrder,
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
import { createMaintenanceService, maintenanceService } from '../../src/index.js';

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Record<string, unknown>;
  body: T;
}

export interface MaintenanceHarness {
  db: TestDatabase;
  service: ServiceInstance;
  clock: ManualClock;
  /** Calls the service's HTTP API in process (`app.inject`). */
  api<T = unknown>(
    method: 'GET' | 'POST' | 'PATCH',
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse<T>>;
  /** Runs the service's handler of an event in its own transaction, as the consumer would. */
  deliver(event: EventEnvelope): Promise<void>;
  registerAsset(type?: string): Promise<string>;
  changeStatus(assetId: string, from: AssetStatus, to: AssetStatus): Promise<void>;
  addTechnician(body: CreateTechnicianBody): Promise<Technician>;
  openWorkOrder(body: Record<string, unknown>): Promise<WorkOrder>;
  alertRaised(assetId: string, more?: Partial<AlertRaisedData>): EventEnvelope<AlertRaisedData>;
  alertEscalated(raised: EventEnvelope<AlertRaisedData>, from: Severity, to: Severity): EventEnvelope;
  alertCleared(raised: EventEnvelope<AlertRaisedData>, cause?: string): EventEnvelope;
  /** The work orders an alert opened (normally one). */
  workOrdersOfAlert(alertId: string): Promise<WorkOrder[]>;
  outbox(type?: string): Promise<EventEnvelope[]>;
  close(): Promise<void>;
}

/** A Maintenance service on a fresh database with a manual clock; events are fed to its handlers. */
export async function startMaintenance(
  opts: { env?: Record<string, string>; now?: string } = {},
): Promise<MaintenanceHarness> {
  const db = await createTestDatabase('maintenance');
  await runMigrations(db.pool, [messagingMigrations, maintenanceService.migrations]);
  // A Monday, mid-morning UTC.
  const clock = new ManualClock(opts.now ?? '2026-03-02T10:00:00.000Z');
  const service = await createMaintenanceService({
    logger: createLogger({ service: 'maintenance', level: 'silent' }),
    metrics: createMetricsRegistry('maintenance'),
    clock: clock as Clock,
    ids: uuidV7Ids,
    pool: db.pool,
    bus: createInProcessBus(),
    env: opts.env ?? {},
  });
  await service.app.ready();
  const versions = new Map<string, number>();
  const ids = uuidV7Ids;

  const h: MaintenanceHarness = {
    db,
    service,
    clock,
    async api<T>(
      method: 'GET' | 'POST' | 'PATCH',
      url: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) {
      const response = await service.app.inject({
        method,
        url,
        headers,
        ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
      });
      const text = response.body;
      return {
        status: response.statusCode,
        headers: response.headers,
        body: (text.length > 0 ? JSON.parse(text) : undefined) as T,
      };
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
          { subject: assetId, clock, ids },
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
          { subject: assetId, clock, ids },
        ),
      );
    },
    async addTechnician(body) {
      const response = await h.api<Technician>('POST', '/api/v1/technicians', body);
      if (response.status !== 201) throw new Error(`technician not added: ${JSON.stringify(response.body)}`);
      return response.body;
    },
    async openWorkOrder(body) {
      const response = await h.api<WorkOrder>('POST', '/api/v1/work-orders', {
        title: 'Inspect',
        priority: 'medium',
        ...body,
      });
      if (response.status !== 201) throw new Error(`work order not opened: ${JSON.stringify(response.body)}`);
      return response.body;
    },
    alertRaised(assetId, more = {}) {
      return createEvent(
        AlertRaised,
        {
          alertId: randomUUID(),
          ruleId: randomUUID(),
          ruleName: 'bearing hot',
          assetId,
          metric: 'temperature',
          severity: 'major',
          value: 97.5,
          condition: 'temperature > 90',
          at: clock.now().toISOString(),
          episode: 1,
          ...more,
        },
        { subject: assetId, clock, ids },
      );
    },
    alertEscalated(raised, from, to) {
      const d = raised.data;
      return createEvent(
        AlertEscalated,
        { alertId: d.alertId, ruleId: d.ruleId, assetId: d.assetId, from, to, at: clock.now().toISOString() },
        { subject: d.assetId, clock, ids },
      );
    },
    alertCleared(raised, cause = 'temperature <= 90') {
      const d = raised.data;
      return createEvent(
        AlertCleared,
        {
          alertId: d.alertId,
          ruleId: d.ruleId,
          assetId: d.assetId,
          severity: d.severity,
          value: 85,
          cause,
          at: clock.now().toISOString(),
        },
        { subject: d.assetId, clock, ids },
      );
    },
    async workOrdersOfAlert(alertId) {
      const { rows } = await db.pool.query<{ id: string }>(
        `SELECT id FROM work_orders WHERE source = 'alert' AND source_ref = $1 ORDER BY id`,
        [alertId],
      );
      const found: WorkOrder[] = [];
      for (const { id } of rows)
        found.push((await h.api<WorkOrder>('GET', `/api/v1/work-orders/${id}`)).body);
      return found;
    },
    async outbox(type) {
      const { rows } = await db.pool.query<{ event: EventEnvelope }>(
        'SELECT event FROM outbox WHERE $1::text IS NULL OR type = $1 ORDER BY position',
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
