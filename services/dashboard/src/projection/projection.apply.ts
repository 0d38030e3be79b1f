import {
  AlertAcknowledged,
  type AlertAcknowledgedData,
  AlertCleared,
  type AlertClearedData,
  AlertEscalated,
  type AlertEscalatedData,
  AlertRaised,
  type AlertRaisedData,
  AssetRegistered,
  type AssetRegisteredData,
  AssetStatusChanged,
  type AssetStatusChangedData,
  AssetUpdated,
  type AssetUpdatedData,
  type EventEnvelope,
  TelemetryAggregated,
  type TelemetryAggregatedData,
  type TelemetryWindow,
  telemetryWindows,
  WorkOrderCreated,
  type WorkOrderCreatedData,
  WorkOrderStatusChanged,
  type WorkOrderStatusChangedData,
} from '@assetops/contracts';
import type { Queryable } from '@assetops/platform';
import { OpenWorkOrderStatuses } from './projection.rules.js';

/**
 * Applying an event to the projection tables of one generation. `generation` null means the active
 * one (live handlers; resolved inside each statement, so a switch-over between two statements is
 * seen), a number means that generation (a rebuild's replay).
 *
 * Every application is idempotent and order-tolerant — state-based, never a blind increment:
 * asset fields carry the asset version they were set at, telemetry keeps the newest reading time,
 * alerts keep their worst severity and a cleared alert stays cleared (a tombstone), work orders
 * carry their version, and the per-asset counts are recounted from those rows. Replaying the
 * journal therefore gives the live projection, whatever duplicates or reorderings it contains.
 */
export type Generation = number | null;

/**
 * The type of TelemetryAggregated before version 2: one metric per event, its data the fields of a
 * TelemetryWindow. Journals written before the upgrade hold such events; a rebuild still replays them.
 */
export const TELEMETRY_AGGREGATED_V1 = 'assetops.telemetry.aggregated.v1';

/** The windows a journaled telemetry event holds (of either version); none for any other event. */
export function journaledWindows(event: EventEnvelope): TelemetryWindow[] {
  if (event.type === TelemetryAggregated.type) return telemetryWindows(event.data as TelemetryAggregatedData);
  if (event.type === TELEMETRY_AGGREGATED_V1) return [event.data as TelemetryWindow];
  return [];
}

/** The CloudEvents types the projection applies. */
export const projectedEvents = [
  AssetRegistered,
  AssetUpdated,
  AssetStatusChanged,
  TelemetryAggregated,
  AlertRaised,
  AlertEscalated,
  AlertAcknowledged,
  AlertCleared,
  WorkOrderCreated,
  WorkOrderStatusChanged,
] as const;

/** Applies one event (of a type in {@link projectedEvents}; others are ignored). Returns whether it was applied. */
export async function applyEvent(
  db: Queryable,
  event: EventEnvelope,
  generation: Generation,
): Promise<boolean> {
  switch (event.type) {
    case AssetRegistered.type:
      await assetRegistered(db, event.data as AssetRegisteredData, generation);
      return true;
    case AssetUpdated.type:
      await assetUpdated(db, event.data as AssetUpdatedData, generation);
      return true;
    case AssetStatusChanged.type:
      await assetStatusChanged(db, event.data as AssetStatusChangedData, generation);
      return true;
    case TelemetryAggregated.type:
    case TELEMETRY_AGGREGATED_V1:
      await applyTelemetry(db, journaledWindows(event), generation);
      return true;
    case AlertRaised.type: {
      const d = event.data as AlertRaisedData;
      await upsertAlert(db, generation, {
        alertId: d.alertId,
        assetId: d.assetId,
        severity: d.severity,
        title: d.ruleName,
        metric: d.metric,
        raisedAt: d.at,
        state: 'firing',
      });
      await recount(db, generation, d.assetId, d.at);
      return true;
    }
    case AlertEscalated.type: {
      const d = event.data as AlertEscalatedData;
      await upsertAlert(db, generation, {
        alertId: d.alertId,
        assetId: d.assetId,
        severity: d.to,
        title: null,
        metric: null,
        raisedAt: null,
        state: 'firing',
      });
      await recount(db, generation, d.assetId, d.at);
      return true;
    }
    case AlertAcknowledged.type: {
      const d = event.data as AlertAcknowledgedData;
      await upsertAlert(db, generation, {
        alertId: d.alertId,
        assetId: d.assetId,
        severity: d.severity,
        title: null,
        metric: null,
        raisedAt: null,
        state: 'acknowledged',
      });
      await recount(db, generation, d.assetId, d.at);
      return true;
    }
    case AlertCleared.type: {
      const d = event.data as AlertClearedData;
      await upsertAlert(db, generation, {
        alertId: d.alertId,
        assetId: d.assetId,
        severity: d.severity,
        title: null,
        metric: null,
        raisedAt: null,
        state: 'cleared',
      });
      await recount(db, generation, d.assetId, d.at);
      return true;
    }
    case WorkOrderCreated.type: {
      const d = event.data as WorkOrderCreatedData;
      await db.query(
        `INSERT INTO work_orders (generation, work_order_id, asset_id, status, version)
         VALUES (target_generation($1), $2, $3, 'open', 1)
         ON CONFLICT (generation, work_order_id) DO NOTHING`,
        [generation, d.workOrderId, d.assetId],
      );
      await recount(db, generation, d.assetId, d.createdAt);
      return true;
    }
    case WorkOrderStatusChanged.type: {
      const d = event.data as WorkOrderStatusChangedData;
      await db.query(
        `INSERT INTO work_orders AS w (generation, work_order_id, asset_id, status, version)
         VALUES (target_generation($1), $2, $3, $4, $5)
         ON CONFLICT (generation, work_order_id) DO UPDATE SET status = excluded.status, version = excluded.version
         WHERE w.version < excluded.version`,
        [generation, d.workOrderId, d.assetId, d.to, d.version],
      );
      await recount(db, generation, d.assetId, d.changedAt);
      return true;
    }
    default:
      return false;
  }
}

async function assetRegistered(db: Queryable, d: AssetRegisteredData, generation: Generation): Promise<void> {
  // Registration is version 1 of every field: it fills what no later event has set.
  await db.query(
    `INSERT INTO assets AS a (generation, asset_id, registered, name, type, location, status, name_version,
                              location_version, status_version, updated_at, position)
     VALUES (target_generation($1), $2, true, $3, $4, $5, $6, 1, 1, 1, $7, nextval('change_position'))
     ON CONFLICT (generation, asset_id) DO UPDATE SET
       registered = true,
       name = CASE WHEN a.name_version < 1 THEN excluded.name ELSE a.name END,
       name_version = greatest(a.name_version, 1),
       location = CASE WHEN a.location_version < 1 THEN excluded.location ELSE a.location END,
       location_version = greatest(a.location_version, 1),
       status = CASE WHEN a.status_version < 1 THEN excluded.status ELSE a.status END,
       status_version = greatest(a.status_version, 1),
       type = excluded.type,
       updated_at = greatest(a.updated_at, excluded.updated_at),
       position = excluded.position`,
    [generation, d.assetId, d.name, d.type, d.location, d.status, d.registeredAt],
  );
}

async function assetUpdated(db: Queryable, d: AssetUpdatedData, generation: Generation): Promise<void> {
  const hasName = d.changes.name !== undefined;
  const hasLocation = d.changes.location !== undefined;
  await db.query(
    `INSERT INTO assets AS a (generation, asset_id, name, location, name_version, location_version, updated_at, position)
     VALUES (target_generation($1), $2, $3, $5,
             CASE WHEN $4::boolean THEN $7::int ELSE 0 END, CASE WHEN $6::boolean THEN $7::int ELSE 0 END,
             $8, nextval('change_position'))
     ON CONFLICT (generation, asset_id) DO UPDATE SET
       name = CASE WHEN $4::boolean AND a.name_version < $7::int THEN $3 ELSE a.name END,
       name_version = CASE WHEN $4::boolean THEN greatest(a.name_version, $7::int) ELSE a.name_version END,
       location = CASE WHEN $6::boolean AND a.location_version < $7::int THEN $5 ELSE a.location END,
       location_version = CASE WHEN $6::boolean THEN greatest(a.location_version, $7::int) ELSE a.location_version END,
       updated_at = greatest(a.updated_at, excluded.updated_at),
       position = excluded.position`,
    [
      generation,
      d.assetId,
      hasName ? d.changes.name : null,
      hasName,
      hasLocation ? d.changes.location : null,
      hasLocation,
      d.version,
      d.updatedAt,
    ],
  );
}

async function assetStatusChanged(
  db: Queryable,
  d: AssetStatusChangedData,
  generation: Generation,
): Promise<void> {
  await db.query(
    `INSERT INTO assets AS a (generation, asset_id, type, status, status_reason, status_version, updated_at, position)
     VALUES (target_generation($1), $2, $3, $4, $5, $6, $7, nextval('change_position'))
     ON CONFLICT (generation, asset_id) DO UPDATE SET
       type = coalesce(a.type, excluded.type),
       status = CASE WHEN a.status_version < excluded.status_version THEN excluded.status ELSE a.status END,
       status_reason = CASE WHEN a.status_version < excluded.status_version THEN excluded.status_reason ELSE a.status_reason END,
       status_version = greatest(a.status_version, excluded.status_version),
       updated_at = greatest(a.updated_at, excluded.updated_at),
       position = excluded.position`,
    [generation, d.assetId, d.assetType, d.to, d.reason, d.version, d.changedAt],
  );
}

/**
 * Applies telemetry windows — one, or a run of them — in one statement, with the effects of applying
 * each in turn: per asset and metric the newest reading wins (a window that arrives late does not
 * replace a newer latest value; among equal reading times the first one listed wins, as it would
 * applied first), and an asset's view changes only when one of its metrics did. The hot path: one
 * window per asset, metric and second. The target generation is a scalar subquery, so it is read
 * once per statement: target_generation() holds a subquery itself, which keeps PostgreSQL from
 * inlining it, and called per row it ran once for each window (a third of the statement's time).
 */
export async function applyTelemetry(
  db: Queryable,
  windows: readonly TelemetryWindow[],
  generation: Generation,
): Promise<void> {
  if (windows.length === 0) return;
  await db.query(
    `WITH input AS (
       SELECT * FROM unnest($2::uuid[], $3::text[], $4::float8[], $5::timestamptz[])
                WITH ORDINALITY AS u(asset_id, metric, value, ts, ord)),
     newest AS (
       SELECT DISTINCT ON (asset_id, metric) asset_id, metric, value, ts
         FROM input ORDER BY asset_id, metric, ts DESC, ord),
     latest AS (
       INSERT INTO asset_metrics AS m (generation, asset_id, metric, value, ts)
       SELECT (SELECT target_generation($1)), asset_id, metric, value, ts FROM newest
       ON CONFLICT (generation, asset_id, metric) DO UPDATE SET value = excluded.value, ts = excluded.ts
       WHERE m.ts < excluded.ts
       RETURNING generation, asset_id, ts),
     seen AS (
       SELECT generation, asset_id, max(ts) AS ts FROM latest GROUP BY generation, asset_id)
     INSERT INTO assets AS a (generation, asset_id, last_seen_at, updated_at, position)
     SELECT generation, asset_id, ts, ts, nextval('change_position') FROM seen
     ON CONFLICT (generation, asset_id) DO UPDATE SET
       last_seen_at = greatest(a.last_seen_at, excluded.last_seen_at),
       updated_at = greatest(a.updated_at, excluded.updated_at),
       position = excluded.position`,
    [
      generation,
      windows.map((w) => w.assetId),
      windows.map((w) => w.metric),
      windows.map((w) => w.last),
      windows.map((w) => w.lastTs),
    ],
  );
}

interface AlertChange {
  alertId: string;
  assetId: string;
  severity: string;
  title: string | null;
  metric: string | null;
  raisedAt: string | null;
  state: 'firing' | 'acknowledged' | 'cleared';
}

async function upsertAlert(db: Queryable, generation: Generation, c: AlertChange): Promise<void> {
  // States only move forward (firing → acknowledged → cleared), severities only up: so the result
  // is the same whatever order the alert's events arrive in.
  await db.query(
    `INSERT INTO alerts AS al (generation, alert_id, asset_id, severity, title, metric, state, raised_at)
     VALUES (target_generation($1), $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (generation, alert_id) DO UPDATE SET
       severity = CASE WHEN array_position($9::text[], excluded.severity) > array_position($9::text[], al.severity)
                       THEN excluded.severity ELSE al.severity END,
       title = coalesce(excluded.title, al.title),
       metric = coalesce(excluded.metric, al.metric),
       raised_at = coalesce(al.raised_at, excluded.raised_at),
       state = CASE WHEN array_position($10::text[], excluded.state) > array_position($10::text[], al.state)
                    THEN excluded.state ELSE al.state END`,
    [
      generation,
      c.alertId,
      c.assetId,
      c.severity,
      c.title,
      c.metric,
      c.state,
      c.raisedAt,
      ['info', 'warning', 'major', 'critical'],
      ['firing', 'acknowledged', 'cleared'],
    ],
  );
}

/**
 * Recounts an asset's active alerts and open work orders from their rows (never a blind
 * increment, so a duplicate cannot double count) and marks the asset changed.
 */
async function recount(db: Queryable, generation: Generation, assetId: string, at: string): Promise<void> {
  await db.query(
    `INSERT INTO assets AS a (generation, asset_id, alerts_info, alerts_warning, alerts_major, alerts_critical,
                              alert_score, open_work_orders, updated_at, position)
     SELECT g.generation, $2, al.info, al.warning, al.major, al.critical,
            least(al.critical, 999) * 1000000000 + least(al.major, 999) * 1000000
              + least(al.warning, 999) * 1000 + least(al.info, 999),
            wo.open, $3, nextval('change_position')
       FROM (SELECT target_generation($1) AS generation) g
       CROSS JOIN LATERAL (
         SELECT count(*) FILTER (WHERE severity = 'info')::int AS info,
                count(*) FILTER (WHERE severity = 'warning')::int AS warning,
                count(*) FILTER (WHERE severity = 'major')::int AS major,
                count(*) FILTER (WHERE severity = 'critical')::int AS critical
           FROM alerts WHERE generation = g.generation AND asset_id = $2 AND state <> 'cleared') al
       CROSS JOIN LATERAL (
         SELECT count(*)::int AS open FROM work_orders
          WHERE generation = g.generation AND asset_id = $2 AND status = ANY($4::text[])) wo
     ON CONFLICT (generation, asset_id) DO UPDATE SET
       alerts_info = excluded.alerts_info, alerts_warning = excluded.alerts_warning,
       alerts_major = excluded.alerts_major, alerts_critical = excluded.alerts_critical,
       alert_score = excluded.alert_score, open_work_orders = excluded.open_work_orders,
       updated_at = greatest(a.updated_at, excluded.updated_at),
       position = excluded.position`,
    [generation, assetId, at, OpenWorkOrderStatuses],
  );
}
