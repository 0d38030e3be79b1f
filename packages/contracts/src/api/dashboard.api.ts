import { type Static, Type } from '@sinclair/typebox';
import { SeveritySchema } from '../events/alert.events.js';
import { AssetStatusSchema, AssetTypeSchema } from '../events/asset.events.js';

const Id = Type.String({ format: 'uuid' });
const Time = Type.String({ format: 'date-time' });
const Count = Type.Integer({ minimum: 0 });

/** Active alerts by severity: every severity is present (0 when none). */
export const SeverityCountsSchema = Type.Object({
  info: Count,
  warning: Count,
  major: Count,
  critical: Count,
});
export type SeverityCounts = Static<typeof SeverityCountsSchema>;

/** One active (firing or acknowledged) alert of an asset, as the dashboard knows it from the events. */
export const DashboardAlertSchema = Type.Object({
  alertId: Id,
  severity: SeveritySchema,
  /** The rule's name (null until the AlertRaised arrived, when a later event came first). */
  title: Type.Union([Type.String(), Type.Null()]),
  metric: Type.Union([Type.String(), Type.Null()]),
  acknowledged: Type.Boolean(),
  raisedAt: Type.Union([Time, Type.Null()]),
});
export type DashboardAlert = Static<typeof DashboardAlertSchema>;

/** The latest value of one metric and the time of that reading. */
export const DashboardLatestValueSchema = Type.Object({ value: Type.Number(), ts: Time });
export type DashboardLatestValue = Static<typeof DashboardLatestValueSchema>;

/**
 * One asset as the Dashboard read model shows it: the Asset service's fields, the latest value per
 * metric from Telemetry, the active alerts from Alert and the open work orders from Maintenance —
 * denormalized from their events, so it may trail the sources by the projection lag.
 *
 * @example
 * { assetId, name: 'Feed pump 1', type: 'pump', location: 'Plant A', status: 'active', statusReason: null,
 *   lastSeenAt: '2026-01-01T00:00:01.000Z', latest: { temperature: { value: 71.2, ts: '2026-01-01T00:00:01.000Z' } },
 *   alerts: { active: 1, bySeverity: { info: 0, warning: 0, major: 1, critical: 0 }, items: [ … ] },
 *   workOrders: { open: 1 }, updatedAt: '2026-01-01T00:00:01.000Z', position: 42 }
 */
export const DashboardAssetSchema = Type.Object(
  {
    assetId: Id,
    name: Type.String(),
    type: AssetTypeSchema,
    location: Type.Union([Type.String(), Type.Null()]),
    status: AssetStatusSchema,
    statusReason: Type.Union([Type.String(), Type.Null()]),
    /** Time of the newest reading received (null: none yet). */
    lastSeenAt: Type.Union([Time, Type.Null()]),
    latest: Type.Record(Type.String(), DashboardLatestValueSchema),
    alerts: Type.Object({
      active: Count,
      bySeverity: SeverityCountsSchema,
      /** Worst first, then newest. */
      items: Type.Array(DashboardAlertSchema),
    }),
    workOrders: Type.Object({ open: Count }),
    /** Event time of the newest change applied to this asset. */
    updatedAt: Time,
    /** Change position: grows with every change of any asset (the SSE `id`). */
    position: Type.Integer({ minimum: 0 }),
  },
  { $id: 'DashboardAsset' },
);
export type DashboardAsset = Static<typeof DashboardAssetSchema>;

export const DashboardSorts = [
  'name',
  '-name',
  'lastSeen',
  '-lastSeen',
  'alerts',
  '-alerts',
  'status',
] as const;
export type DashboardSort = (typeof DashboardSorts)[number];

/**
 * `GET /api/v1/dashboard/assets` query string. `q` searches name and location (case-insensitive);
 * `severity` keeps the assets with at least one active alert of that severity. `alerts` sorts by
 * the worst active alerts (critical, then major, warning, info counts); `-alerts` worst first.
 */
export const ListDashboardAssetsQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    type: Type.Optional(AssetTypeSchema),
    status: Type.Optional(AssetStatusSchema),
    severity: Type.Optional(SeveritySchema),
    sort: Type.Optional(
      Type.Union(
        DashboardSorts.map((s) => Type.Literal(s)),
        { description: 'name (default), -name, lastSeen, -lastSeen, alerts, -alerts or status' },
      ),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type ListDashboardAssetsQuery = Static<typeof ListDashboardAssetsQuery>;

/** A page of dashboard assets; `nextCursor` is null on the last page. */
export const DashboardAssetPageSchema = Type.Object({
  items: Type.Array(DashboardAssetSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type DashboardAssetPage = Static<typeof DashboardAssetPageSchema>;

/**
 * Fleet totals: assets by status (every status present), active alerts by severity, open work
 * orders (open, assigned, in_progress, on_hold) by status. Also the data of the SSE `fleet` event.
 */
export const DashboardFleetTotalsSchema = Type.Object({
  assets: Type.Object({ total: Count, byStatus: Type.Record(Type.String(), Count) }),
  alerts: Type.Object({ active: Count, bySeverity: SeverityCountsSchema }),
  workOrders: Type.Object({ open: Count, byStatus: Type.Record(Type.String(), Count) }),
  /** When these totals were computed. */
  updatedAt: Time,
});
export type DashboardFleetTotals = Static<typeof DashboardFleetTotalsSchema>;

/**
 * `GET /api/v1/dashboard/fleet`: the totals and the assets that need attention — active critical or
 * major alerts, or failed commissioning — worst first, at most 20.
 */
export const DashboardFleetSchema = Type.Composite([
  DashboardFleetTotalsSchema,
  Type.Object({ needsAttention: Type.Array(DashboardAssetSchema) }),
]);
export type DashboardFleet = Static<typeof DashboardFleetSchema>;

export const RebuildStates = ['running', 'completed', 'failed'] as const;
export type RebuildState = (typeof RebuildStates)[number];

/**
 * A rebuild of the read model from the dashboard's event journal into a fresh generation of its
 * tables, switched over atomically when caught up (`POST /api/v1/dashboard/rebuild` → 202).
 */
export const DashboardRebuildSchema = Type.Object(
  {
    id: Id,
    state: Type.Union(RebuildStates.map((s) => Type.Literal(s))),
    /** The generation of the tables being built (active once completed). */
    generation: Type.Integer({ minimum: 1 }),
    replayed: Count,
    /** Journal events to replay, counted at the start (events arriving meanwhile are added). */
    total: Count,
    startedAt: Time,
    finishedAt: Type.Union([Time, Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'DashboardRebuild' },
);
export type DashboardRebuild = Static<typeof DashboardRebuildSchema>;

/** One difference between the read model and a source service. */
export const DriftItemSchema = Type.Object({
  kind: Type.Union([Type.Literal('asset'), Type.Literal('alert'), Type.Literal('work-order')]),
  /** The asset, alert or work order id. */
  id: Type.String(),
  assetId: Type.Union([Type.String(), Type.Null()]),
  /** `missing`: the source has it, the read model not; `unexpected`: the reverse; `mismatch`: a field differs. */
  issue: Type.Union([Type.Literal('missing'), Type.Literal('unexpected'), Type.Literal('mismatch')]),
  field: Type.Union([Type.String(), Type.Null()]),
  source: Type.Unknown(),
  readModel: Type.Unknown(),
});
export type DriftItem = Static<typeof DriftItemSchema>;

/** Source and read-model numbers side by side. */
export const CountComparisonSchema = Type.Record(
  Type.String(),
  Type.Object({ source: Count, readModel: Count }),
);

/**
 * `GET /api/v1/dashboard/reconciliation`: the read model compared with the source services' APIs
 * (Asset: statuses; Alert: firing and acknowledged alerts; Maintenance: open work orders). Drift
 * right after a change can be the projection lag, not a fault: check again.
 */
export const ReconciliationReportSchema = Type.Object(
  {
    checkedAt: Time,
    /** No drift in the sources that could be checked. */
    consistent: Type.Boolean(),
    /** `ok`, `not configured` or why the source could not be read. */
    sources: Type.Object({ asset: Type.String(), alert: Type.String(), maintenance: Type.String() }),
    counts: Type.Object({
      assetsByStatus: CountComparisonSchema,
      activeAlertsBySeverity: CountComparisonSchema,
      openWorkOrdersByStatus: CountComparisonSchema,
    }),
    driftCount: Count,
    /** At most 1,000 items. */
    drift: Type.Array(DriftItemSchema),
  },
  { $id: 'ReconciliationReport' },
);
export type ReconciliationReport = Static<typeof ReconciliationReportSchema>;
