import { randomUUID } from 'node:crypto';
import {
  AlertAcknowledged,
  AlertCleared,
  AlertEscalated,
  AlertRaised,
  type AlertRaisedData,
  AssetRegistered,
  type AssetStatus,
  AssetStatusChanged,
  AssetUpdated,
  type AssetUpdatedData,
  type DashboardAsset,
  type EventEnvelope,
  metricWindowOfReading,
  type Severity,
  TelemetryAggregated,
  WorkOrderCreated,
  type WorkOrderStatus,
  WorkOrderStatusChanged,
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
  systemClock,
  uuidV7Ids,
  withTransaction,
} from '@assetops/platform';
import { createTestDatabase, type TestDatabase } from '@assetops/platform/testkit';
import { createDashboardService, dashboardService } from '../../src/index.js';

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Record<string, unknown>;
  body: T;
}

const clock: Clock = systemClock;
const ids = uuidV7Ids;
const meta = (subject: string) => ({ subject, clock, ids });

/** Builders of the events the dashboard consumes (valid by their contracts). */
export const events = {
  registered(assetId: string, more: { name?: string; type?: string; location?: string | null } = {}) {
    return createEvent(
      AssetRegistered,
      {
        assetId,
        name: more.name ?? 'Feed pump',
        type: more.type ?? 'pump',
        location: more.location === undefined ? 'Plant A' : more.location,
        metadata: {},
        status: 'commissioning',
        registeredAt: '2026-03-02T10:00:00.000Z',
      },
      meta(assetId),
    );
  },
  updated(assetId: string, version: number, changes: AssetUpdatedData['changes']) {
    return createEvent(
      AssetUpdated,
      { assetId, changes, version, updatedAt: '2026-03-02T10:01:00.000Z' },
      meta(assetId),
    );
  },
  statusChanged(
    assetId: string,
    from: AssetStatus,
    to: AssetStatus,
    version: number,
    reason: string | null = null,
  ) {
    return createEvent(
      AssetStatusChanged,
      { assetId, assetType: 'pump', from, to, reason, version, changedAt: '2026-03-02T10:02:00.000Z' },
      meta(assetId),
    );
  },
  /** A TelemetryAggregated of one reading at `lastTs`, in the 1 s window that holds it. */
  telemetry(assetId: string, metric: string, value: number, lastTs: string) {
    return events.telemetryOf(assetId, { [metric]: value }, lastTs);
  },
  /** A TelemetryAggregated of one reading per metric, all at `lastTs`, in the 1 s window that holds it. */
  telemetryOf(assetId: string, values: Record<string, number>, lastTs: string) {
    const start = Math.floor(Date.parse(lastTs) / 1000) * 1000;
    return createEvent(
      TelemetryAggregated,
      {
        assetId,
        windowStart: new Date(start).toISOString(),
        windowEnd: new Date(start + 1000).toISOString(),
        metrics: Object.entries(values).map(([metric, value]) =>
          metricWindowOfReading(metric, value, lastTs),
        ),
      },
      meta(assetId),
    );
  },
  alertRaised(assetId: string, more: Partial<AlertRaisedData> = {}) {
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
        at: '2026-03-02T10:03:00.000Z',
        episode: 1,
        ...more,
      },
      meta(assetId),
    );
  },
  alertEscalated(raised: EventEnvelope<AlertRaisedData>, from: Severity, to: Severity) {
    const d = raised.data;
    return createEvent(
      AlertEscalated,
      { alertId: d.alertId, ruleId: d.ruleId, assetId: d.assetId, from, to, at: '2026-03-02T10:04:00.000Z' },
      meta(d.assetId),
    );
  },
  alertAcknowledged(raised: EventEnvelope<AlertRaisedData>) {
    const d = raised.data;
    return createEvent(
      AlertAcknowledged,
      {
        alertId: d.alertId,
        ruleId: d.ruleId,
        assetId: d.assetId,
        severity: d.severity,
        by: 'ops',
        comment: null,
        at: '2026-03-02T10:05:00.000Z',
      },
      meta(d.assetId),
    );
  },
  alertCleared(raised: EventEnvelope<AlertRaisedData>) {
    const d = raised.data;
    return createEvent(
      AlertCleared,
      {
        alertId: d.alertId,
        ruleId: d.ruleId,
        assetId: d.assetId,
        severity: d.severity,
        value: 80,
        cause: 'temperature <= 90',
        at: '2026-03-02T10:06:00.000Z',
      },
      meta(d.assetId),
    );
  },
  workOrderCreated(assetId: string, workOrderId = randomUUID()) {
    return createEvent(
      WorkOrderCreated,
      {
        workOrderId,
        assetId,
        title: 'Inspect',
        description: null,
        priority: 'high',
        source: 'manual',
        sourceRef: null,
        requiredSkill: null,
        status: 'open',
        dueAt: '2026-03-03T10:00:00.000Z',
        createdAt: '2026-03-02T10:07:00.000Z',
      },
      meta(assetId),
    );
  },
  workOrderStatusChanged(
    assetId: string,
    workOrderId: string,
    from: WorkOrderStatus,
    to: WorkOrderStatus,
    version: number,
  ) {
    return createEvent(
      WorkOrderStatusChanged,
      {
        workOrderId,
        assetId,
        from,
        to,
        reason: null,
        assigneeId: null,
        version,
        changedAt: '2026-03-02T10:08:00.000Z',
      },
      meta(assetId),
    );
  },
};

export interface DashboardHarness {
  db: TestDatabase;
  service: ServiceInstance;
  api<T = unknown>(method: 'GET' | 'POST', url: string): Promise<ApiResponse<T>>;
  /** Runs the service's handlers of the events, each in its own transaction, as the consumer would. */
  deliver(...events: EventEnvelope[]): Promise<void>;
  asset(assetId: string): Promise<DashboardAsset>;
  close(): Promise<void>;
}

/** A Dashboard service on a fresh database; events are fed to its handlers directly. */
export async function startDashboard(opts: { env?: Record<string, string> } = {}): Promise<DashboardHarness> {
  const db = await createTestDatabase('dashboard');
  await runMigrations(db.pool, [messagingMigrations, dashboardService.migrations]);
  const service = await createDashboardService({
    logger: createLogger({ service: 'dashboard', level: 'silent' }),
    metrics: createMetricsRegistry('dashboard'),
    clock,
    ids,
    pool: db.pool,
    bus: createInProcessBus(),
    // Journal trimming is off unless a test turns it on (it would change what a rebuild replays).
    env: { DASHBOARD_FLEET_INTERVAL: '50ms', DASHBOARD_JOURNAL_TRIM_INTERVAL: '0', ...opts.env },
  });
  await service.app.ready();
  await service.start?.();
  const h: DashboardHarness = {
    db,
    service,
    async api<T>(method: 'GET' | 'POST', url: string) {
      const response = await service.app.inject({ method, url });
      const text = response.body;
      return {
        status: response.statusCode,
        headers: response.headers,
        body: (text.length > 0 ? JSON.parse(text) : undefined) as T,
      };
    },
    async deliver(...list) {
      for (const event of list) {
        const handler = service.consumer?.handlers[event.type] as EventHandler | undefined;
        if (!handler) throw new Error(`no handler for ${event.type}`);
        await withTransaction(db.pool, (tx) => handler(tx, event));
      }
    },
    async asset(assetId) {
      const response = await h.api<DashboardAsset>('GET', `/api/v1/dashboard/assets/${assetId}`);
      if (response.status !== 200) throw new Error(`asset ${assetId}: ${JSON.stringify(response.body)}`);
      return response.body;
    },
    async close() {
      await service.stop?.();
      await service.app.close();
      await db.drop();
    },
  };
  return h;
}

/** Polls until `probe` returns a value (generous: the machine is loaded). */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
