import {
  AssetStatuses,
  type DashboardAlert,
  type DashboardAsset,
  type DashboardAssetPage,
  type DashboardFleet,
  type DashboardFleetTotals,
  type DashboardLatestValue,
  type DashboardSort,
  Severities,
  type Severity,
} from '@assetops/contracts';
import { decodeCursor, encodeCursor, type Queryable } from '@assetops/platform';
import { OpenWorkOrderStatuses, severityRank, zeroCounts } from '../projection/projection.rules.js';
import { containsPattern, sortSql } from './view.sort.js';

/** An asset row of the projection, as read. */
export interface AssetRow {
  generation: number;
  asset_id: string;
  registered: boolean;
  name: string | null;
  type: string | null;
  location: string | null;
  status: string | null;
  status_reason: string | null;
  last_seen_at: Date | null;
  alerts_info: number;
  alerts_warning: number;
  alerts_major: number;
  alerts_critical: number;
  open_work_orders: number;
  updated_at: Date;
  position: number;
}

const ASSET_COLUMNS = `a.generation, a.asset_id, a.registered, a.name, a.type, a.location, a.status, a.status_reason, a.last_seen_at,
  a.alerts_info, a.alerts_warning, a.alerts_major, a.alerts_critical, a.open_work_orders, a.updated_at, a.position`;
const ACTIVE = `(SELECT generation FROM generations WHERE state = 'active')`;

export interface AssetFilter {
  q?: string | undefined;
  type?: string | undefined;
  status?: string | undefined;
  severity?: Severity | undefined;
  sort?: DashboardSort | undefined;
  limit: number;
  cursor?: string | undefined;
}

// One statement text per sort, built once from constant fragments (see view.sort.ts).
const listSql = Object.fromEntries(
  Object.entries(sortSql).map(([sort, s]) => [
    sort,
    `SELECT ${ASSET_COLUMNS}
       FROM assets a
      WHERE a.generation = ${ACTIVE} AND a.registered
        AND ($1::text IS NULL OR a.name ILIKE $1 OR a.location ILIKE $1)
        AND ($2::text IS NULL OR a.type = $2)
        AND ($3::text IS NULL OR a.status = $3)
        AND ($4::text IS NULL
             OR ($4 = 'info' AND a.alerts_info > 0) OR ($4 = 'warning' AND a.alerts_warning > 0)
             OR ($4 = 'major' AND a.alerts_major > 0) OR ($4 = 'critical' AND a.alerts_critical > 0))
        AND ($5::uuid IS NULL OR EXISTS (
              SELECT 1 FROM assets c WHERE c.generation = a.generation AND c.asset_id = $5 AND ${s.after}))
      ORDER BY ${s.orderBy}
      LIMIT $6`,
  ]),
) as Record<DashboardSort, string>;

/** A page of the asset views: filtered, sorted, keyset-paginated by the last asset's id. */
export async function listAssets(db: Queryable, filter: AssetFilter): Promise<DashboardAssetPage> {
  const after = filter.cursor === undefined ? null : decodeCursor(filter.cursor);
  const { rows } = await db.query<AssetRow>(listSql[filter.sort ?? 'name'], [
    filter.q === undefined ? null : containsPattern(filter.q),
    filter.type ?? null,
    filter.status ?? null,
    filter.severity ?? null,
    after,
    filter.limit + 1,
  ]);
  const page = rows.slice(0, filter.limit);
  const items = await hydrate(db, page);
  const nextCursor = rows.length > filter.limit ? encodeCursor(page[page.length - 1]!.asset_id) : null;
  return { items, nextCursor };
}

/** One asset's view, or undefined when the asset is unknown (or not registered yet). */
export async function findAsset(db: Queryable, assetId: string): Promise<DashboardAsset | undefined> {
  const { rows } = await db.query<AssetRow>(
    `SELECT ${ASSET_COLUMNS} FROM assets a
      WHERE a.generation = ${ACTIVE} AND a.asset_id = $1 AND a.registered`,
    [assetId],
  );
  return (await hydrate(db, rows))[0];
}

/** Assets changed after `position` (of the active generation), oldest change first. */
export async function changedAssets(
  db: Queryable,
  position: number,
  limit: number,
): Promise<{ items: DashboardAsset[]; lastPosition: number | undefined; more: boolean }> {
  const { rows } = await db.query<AssetRow>(
    `SELECT ${ASSET_COLUMNS} FROM assets a
      WHERE a.generation = ${ACTIVE} AND a.position > $1
      ORDER BY a.position LIMIT $2`,
    [position, limit],
  );
  // Not-yet-registered assets move the position on but are not shown.
  const items = await hydrate(
    db,
    rows.filter((r) => r.registered),
  );
  return { items, lastPosition: rows.at(-1)?.position, more: rows.length === limit };
}

/** The newest change position of the active generation (0 when empty). */
export async function currentPosition(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ position: number | null }>(
    `SELECT max(position) AS position FROM assets WHERE generation = ${ACTIVE}`,
  );
  return rows[0]?.position ?? 0;
}

/** Fleet totals of the active generation. */
export async function fleetTotals(db: Queryable, now: Date): Promise<DashboardFleetTotals> {
  const { rows } = await db.query<{ kind: string; key: string; n: number }>(
    `WITH g AS (SELECT generation FROM generations WHERE state = 'active')
     SELECT 'asset' AS kind, status AS key, count(*)::int AS n FROM assets, g
      WHERE assets.generation = g.generation AND registered GROUP BY status
     UNION ALL
     SELECT 'alert', severity, count(*)::int FROM alerts, g
      WHERE alerts.generation = g.generation AND state <> 'cleared' GROUP BY severity
     UNION ALL
     SELECT 'work-order', status, count(*)::int FROM work_orders, g
      WHERE work_orders.generation = g.generation AND status = ANY($1::text[]) GROUP BY status`,
    [OpenWorkOrderStatuses],
  );
  const byStatus: Record<string, number> = zeroCounts(AssetStatuses);
  const bySeverity = zeroCounts(Severities);
  const workOrdersByStatus: Record<string, number> = zeroCounts(OpenWorkOrderStatuses);
  for (const row of rows) {
    const key = row.key ?? 'unknown';
    if (row.kind === 'asset') byStatus[key] = (byStatus[key] ?? 0) + row.n;
    else if (row.kind === 'alert') bySeverity[key as Severity] = (bySeverity[key as Severity] ?? 0) + row.n;
    else workOrdersByStatus[key] = (workOrdersByStatus[key] ?? 0) + row.n;
  }
  const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  return {
    assets: { total: sum(byStatus), byStatus },
    alerts: { active: sum(bySeverity), bySeverity },
    workOrders: { open: sum(workOrdersByStatus), byStatus: workOrdersByStatus },
    updatedAt: now.toISOString(),
  };
}

/** The fleet totals and the assets that need attention, worst first. */
export async function fleet(db: Queryable, now: Date): Promise<DashboardFleet> {
  const totals = await fleetTotals(db, now);
  const { rows } = await db.query<AssetRow>(
    `SELECT ${ASSET_COLUMNS} FROM assets a
      WHERE a.generation = ${ACTIVE} AND a.registered
        AND (a.alerts_critical > 0 OR a.alerts_major > 0 OR a.status = 'commissioning_failed')
      ORDER BY a.alert_score DESC, (a.status = 'commissioning_failed') DESC, lower(a.name), a.asset_id
      LIMIT 20`,
  );
  return { ...totals, needsAttention: await hydrate(db, rows) };
}

/** Turns asset rows into views: their latest values and active alerts, in two queries. */
async function hydrate(db: Queryable, rows: readonly AssetRow[]): Promise<DashboardAsset[]> {
  if (rows.length === 0) return [];
  const generation = rows[0]!.generation;
  const ids = rows.map((r) => r.asset_id);
  const [metrics, alerts] = await Promise.all([
    db.query<{ asset_id: string; metric: string; value: number; ts: Date }>(
      `SELECT asset_id, metric, value, ts FROM asset_metrics
        WHERE generation = $1 AND asset_id = ANY($2::uuid[]) ORDER BY metric`,
      [generation, ids],
    ),
    db.query<{
      asset_id: string;
      alert_id: string;
      severity: Severity;
      title: string | null;
      metric: string | null;
      state: string;
      raised_at: Date | null;
    }>(
      `SELECT asset_id, alert_id, severity, title, metric, state, raised_at FROM alerts
        WHERE generation = $1 AND asset_id = ANY($2::uuid[]) AND state <> 'cleared'`,
      [generation, ids],
    ),
  ]);
  const latest = new Map<string, Record<string, DashboardLatestValue>>();
  for (const m of metrics.rows) {
    const values = latest.get(m.asset_id) ?? {};
    latest.set(m.asset_id, values);
    values[m.metric] = { value: m.value, ts: m.ts.toISOString() };
  }
  const activeAlerts = new Map<string, DashboardAlert[]>();
  for (const a of alerts.rows) {
    const list = activeAlerts.get(a.asset_id) ?? [];
    activeAlerts.set(a.asset_id, list);
    list.push({
      alertId: a.alert_id,
      severity: a.severity,
      title: a.title,
      metric: a.metric,
      acknowledged: a.state === 'acknowledged',
      raisedAt: a.raised_at?.toISOString() ?? null,
    });
  }
  return rows.map((r) => {
    const items = (activeAlerts.get(r.asset_id) ?? []).sort(
      (x, y) =>
        severityRank(y.severity) - severityRank(x.severity) ||
        (y.raisedAt ?? '').localeCompare(x.raisedAt ?? '') ||
        x.alertId.localeCompare(y.alertId),
    );
    const bySeverity = {
      info: r.alerts_info,
      warning: r.alerts_warning,
      major: r.alerts_major,
      critical: r.alerts_critical,
    };
    return {
      assetId: r.asset_id,
      name: r.name ?? '',
      type: r.type ?? 'unknown',
      location: r.location,
      status: (r.status ?? 'commissioning') as DashboardAsset['status'],
      statusReason: r.status_reason,
      lastSeenAt: r.last_seen_at?.toISOString() ?? null,
      latest: latest.get(r.asset_id) ?? {},
      alerts: {
        active: bySeverity.info + bySeverity.warning + bySeverity.major + bySeverity.critical,
        bySeverity,
        items,
      },
      workOrders: { open: r.open_work_orders },
      updatedAt: r.updated_at.toISOString(),
      position: r.position,
    };
  });
}
