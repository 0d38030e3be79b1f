import type { ReconciliationReport } from '@assetops/contracts';
import { type Clock, type Pool, type Queryable, withTransaction } from '@assetops/platform';
import { OpenWorkOrderStatuses } from '../projection/projection.rules.js';
import { reconcile, type Snapshot } from './reconciliation.diff.js';

/** Base URLs of the source services' APIs (unset: that part is not checked). */
export interface SourceUrls {
  asset?: string | undefined;
  alert?: string | undefined;
  maintenance?: string | undefined;
}

export interface ReconciliationDeps {
  pool: Pool;
  clock: Clock;
  sources: SourceUrls;
  /** Time limit of each HTTP call. */
  timeoutMs?: number;
}

const PAGE = 500;
// A guard against a source that never stops paging (a cursor bug): 2,000 pages of 500.
const MAX_PAGES = 2_000;

/**
 * Reads every item of a list endpoint of a source service, page by page (`limit`, `cursor`,
 * `nextCursor`: the convention of every AssetOps list). The services have no count endpoints, so
 * paging is how the counts are taken.
 */
async function readAll<T>(
  baseUrl: string,
  path: string,
  query: Record<string, string>,
  timeoutMs: number,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const params = new URLSearchParams({ ...query, limit: String(PAGE) });
    if (cursor) params.set('cursor', cursor);
    const response = await fetch(`${baseUrl.replace(/\/+$/, '')}${path}?${params}`, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    const body = (await response.json()) as { items: T[]; nextCursor: string | null };
    items.push(...body.items);
    cursor = body.nextCursor;
    if (!cursor) return items;
  }
  throw new Error(`${path} has more than ${MAX_PAGES} pages`);
}

async function sourceSnapshot(
  sources: SourceUrls,
  timeoutMs: number,
): Promise<{ snapshot: Snapshot; status: ReconciliationReport['sources'] }> {
  const status = { asset: 'not configured', alert: 'not configured', maintenance: 'not configured' };
  const snapshot: Snapshot = {};
  const why = (err: unknown) => `unavailable: ${err instanceof Error ? err.message : String(err)}`;
  await Promise.all([
    (async () => {
      if (!sources.asset) return;
      try {
        const assets = await readAll<{ id: string; status: string }>(
          sources.asset,
          '/api/v1/assets',
          {},
          timeoutMs,
        );
        snapshot.assets = assets.map((a) => ({ id: a.id, status: a.status }));
        status.asset = 'ok';
      } catch (err) {
        status.asset = why(err);
      }
    })(),
    (async () => {
      if (!sources.alert) return;
      try {
        // Active on the dashboard = raised and not cleared: firing or acknowledged. (Pending and
        // suppressed alerts emit no event; the Alert API's `active` includes pending.)
        type Alert = { id: string; assetId: string; severity: string; status: string };
        const lists = await Promise.all(
          ['firing', 'acknowledged'].map((s) =>
            readAll<Alert>(sources.alert!, '/api/v1/alerts', { status: s }, timeoutMs),
          ),
        );
        snapshot.alerts = lists
          .flat()
          .map((a) => ({ id: a.id, assetId: a.assetId, severity: a.severity, status: a.status }));
        status.alert = 'ok';
      } catch (err) {
        status.alert = why(err);
      }
    })(),
    (async () => {
      if (!sources.maintenance) return;
      try {
        type WorkOrder = { id: string; assetId: string; status: string };
        // One paged listing of every open status (the Maintenance API takes them comma-separated),
        // not a listing per status.
        const workOrders = await readAll<WorkOrder>(
          sources.maintenance,
          '/api/v1/work-orders',
          { status: OpenWorkOrderStatuses.join(',') },
          timeoutMs,
        );
        // Grouped by status in the order of OpenWorkOrderStatuses, newest first within a status (a
        // stable sort of the newest-first listing), as the listings per status used to come.
        const rank = new Map<string, number>(OpenWorkOrderStatuses.map((s, i) => [s, i]));
        const order = (w: WorkOrder) => rank.get(w.status) ?? OpenWorkOrderStatuses.length;
        snapshot.workOrders = workOrders
          .sort((a, b) => order(a) - order(b))
          .map((w) => ({ id: w.id, assetId: w.assetId, status: w.status }));
        status.maintenance = 'ok';
      } catch (err) {
        status.maintenance = why(err);
      }
    })(),
  ]);
  return { snapshot, status };
}

/** The read model's side, from one consistent snapshot of the active generation. */
async function readModelSnapshot(pool: Pool): Promise<Snapshot> {
  return withTransaction(
    pool,
    async (tx: Queryable) => {
      const gen = `(SELECT generation FROM generations WHERE state = 'active')`;
      const assets = await tx.query<{ id: string; status: string }>(
        `SELECT asset_id AS id, status FROM assets WHERE generation = ${gen} AND registered`,
      );
      const alerts = await tx.query<{ id: string; assetId: string; severity: string; status: string }>(
        `SELECT alert_id AS id, asset_id AS "assetId", severity, state AS status FROM alerts
          WHERE generation = ${gen} AND state <> 'cleared'`,
      );
      const workOrders = await tx.query<{ id: string; assetId: string; status: string }>(
        `SELECT work_order_id AS id, asset_id AS "assetId", status FROM work_orders
          WHERE generation = ${gen} AND status = ANY($1::text[])`,
        [OpenWorkOrderStatuses],
      );
      return { assets: assets.rows, alerts: alerts.rows, workOrders: workOrders.rows };
    },
    { begin: 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' },
  );
}

/**
 * Compares the read model with the source services' APIs. The sources are read first and the read
 * model after, so an item the projection has not caught up with yet shows as drift only if it
 * changed within the projection lag; checking again tells lag from real drift.
 */
export async function runReconciliation(deps: ReconciliationDeps): Promise<ReconciliationReport> {
  const { snapshot: source, status } = await sourceSnapshot(deps.sources, deps.timeoutMs ?? 10_000);
  const readModel = await readModelSnapshot(deps.pool);
  const { counts, drift, driftCount } = reconcile(source, readModel);
  return {
    checkedAt: deps.clock.now().toISOString(),
    consistent: driftCount === 0,
    sources: status,
    counts,
    driftCount,
    drift,
  };
}
