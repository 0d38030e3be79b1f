import type { Alert, AlertStatus, Severity } from '@assetops/contracts';
import type { Queryable } from '@assetops/platform';
import { decodeCursor, encodeCursor } from '@assetops/platform';

/** An `alerts` row as PostgreSQL returns it. */
export interface AlertRow {
  id: string;
  rule_id: string;
  rule_name: string;
  asset_id: string;
  metric: string;
  status: AlertStatus;
  severity: Severity;
  episode: number;
  value: number | null;
  started_at: Date;
  raised_at: Date | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  cleared_at: Date | null;
}

export const ALERT_COLUMNS = `id, rule_id, rule_name, asset_id, metric, status, severity, episode, value,
  started_at, raised_at, acknowledged_at, acknowledged_by, cleared_at`;

/** The statuses `status=active` stands for (suppressed alerts are not shown as active). */
export const ACTIVE_STATUSES: readonly AlertStatus[] = ['pending', 'firing', 'acknowledged'];

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** An alert as the API shows it (without its history). */
export function toAlert(row: AlertRow): Alert {
  return {
    id: row.id,
    ruleId: row.rule_id,
    ruleName: row.rule_name,
    assetId: row.asset_id,
    metric: row.metric,
    status: row.status,
    severity: row.severity,
    episode: row.episode,
    value: row.value,
    startedAt: row.started_at.toISOString(),
    raisedAt: iso(row.raised_at),
    acknowledgedAt: iso(row.acknowledged_at),
    acknowledgedBy: row.acknowledged_by,
    clearedAt: iso(row.cleared_at),
  };
}

/** An alert with its history (every transition, in order). */
export async function findAlert(db: Queryable, id: string): Promise<Alert | null> {
  const { rows } = await db.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = $1`, [id]);
  if (!rows[0]) return null;
  const { rows: history } = await db.query<{
    status: string;
    at: Date;
    value: number | null;
    cause: string;
    severity: Severity;
  }>('SELECT status, at, value, cause, severity FROM alert_history WHERE alert_id = $1 ORDER BY seq', [id]);
  return {
    ...toAlert(rows[0]),
    history: history.map((h) => ({
      status: h.status,
      at: h.at.toISOString(),
      value: h.value,
      cause: h.cause,
      severity: h.severity,
    })),
  };
}

export interface AlertFilter {
  status?: AlertStatus | 'active' | undefined;
  assetId?: string | undefined;
  severity?: Severity | undefined;
  ruleId?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

/**
 * One page of alerts, newest first (ids are UUIDv7, drawn when the alert is created). The cursor is
 * the last id of the page; keyset pagination stays stable while new alerts arrive at the top.
 */
export async function listAlerts(
  db: Queryable,
  filter: AlertFilter,
): Promise<{ items: Alert[]; nextCursor: string | null }> {
  const before = filter.cursor === undefined ? null : decodeCursor(filter.cursor);
  const statuses =
    filter.status === undefined ? null : filter.status === 'active' ? ACTIVE_STATUSES : [filter.status];
  const { rows } = await db.query<AlertRow>(
    `SELECT ${ALERT_COLUMNS} FROM alerts
      WHERE ($1::text[] IS NULL OR status = ANY($1::text[]))
        AND ($2::uuid IS NULL OR asset_id = $2)
        AND ($3::text IS NULL OR severity = $3)
        AND ($4::uuid IS NULL OR rule_id = $4)
        AND ($5::uuid IS NULL OR id < $5)
      ORDER BY id DESC
      LIMIT $6`,
    [
      statuses,
      filter.assetId ?? null,
      filter.severity ?? null,
      filter.ruleId ?? null,
      before,
      filter.limit + 1,
    ],
  );
  const items = rows.slice(0, filter.limit).map(toAlert);
  const nextCursor = rows.length > filter.limit ? encodeCursor(items[items.length - 1]!.id) : null;
  return { items, nextCursor };
}
