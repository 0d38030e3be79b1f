// Read models for the pages. The dashboard service's projection is the primary source (one cheap
// query, kept live by its stream); when it is not deployed or not answering, the same shapes are
// built from the source services' APIs so the UI still works, only without live pushes.

import { get, query } from './api.js';
import { OPEN_WORK_ORDER_STATUSES } from './ui.js';

/** Whether the dashboard answered last time (the pages show where their data came from). */
export const sources = { dashboard: undefined };

function countBy(items, key) {
  const counts = {};
  for (const item of items) counts[item[key]] = (counts[item[key]] ?? 0) + 1;
  return counts;
}

async function allPages(path, params, signal, max = 2000) {
  const items = [];
  let cursor;
  do {
    const page = await get(`${path}${query({ ...params, cursor, limit: 500 })}`, { signal });
    items.push(...(page.items ?? []));
    cursor = page.nextCursor;
  } while (cursor && items.length < max);
  return items;
}

/** Normalises what the dashboard (or the fallback) says about one asset. */
export function normaliseAsset(raw) {
  const alerts = raw.alerts ?? {};
  const bySeverity = alerts.bySeverity ?? {};
  const activeCount =
    typeof alerts.active === 'number'
      ? alerts.active
      : Object.values(bySeverity).reduce((a, b) => a + (typeof b === 'number' ? b : 0), 0);
  return {
    ...raw,
    assetId: raw.assetId ?? raw.id,
    latest: raw.latest ?? {},
    alertCounts: typeof bySeverity === 'object' && bySeverity !== null ? bySeverity : {},
    activeAlerts: activeCount,
    openWorkOrders: typeof raw.openWorkOrders === 'number' ? raw.openWorkOrders : (raw.workOrders?.open ?? 0),
  };
}

/** Whether the fleet overview lists an asset under "needs attention" (the dashboard's rule). */
export function needsAttention(asset) {
  return (
    (asset.alertCounts.critical ?? 0) > 0 ||
    (asset.alertCounts.major ?? 0) > 0 ||
    asset.status === 'commissioning_failed'
  );
}

/** Fleet totals `{assets:{total, byStatus}, alerts:{active, bySeverity}, workOrders:{open, byStatus}, needsAttention}`. */
export async function loadFleet(signal) {
  try {
    const fleet = await get('/api/v1/dashboard/fleet', { signal });
    sources.dashboard = true;
    return {
      ...fleet,
      needsAttention: (fleet.needsAttention ?? []).map(normaliseAsset),
      source: 'dashboard',
    };
  } catch (err) {
    if (signal?.aborted) throw err;
    sources.dashboard = false;
  }
  // Every open status in one listing (the API takes several); the cap is the four statuses' caps.
  const [assets, alerts, workOrders] = await Promise.all([
    allPages('/api/v1/assets', {}, signal),
    allPages('/api/v1/alerts', { status: 'active' }, signal),
    allPages(
      '/api/v1/work-orders',
      { status: OPEN_WORK_ORDER_STATUSES.join(',') },
      signal,
      2000 * OPEN_WORK_ORDER_STATUSES.length,
    ),
  ]);
  const alertsByAsset = new Map();
  for (const alert of alerts) {
    const counts = alertsByAsset.get(alert.assetId) ?? {};
    counts[alert.severity] = (counts[alert.severity] ?? 0) + 1;
    alertsByAsset.set(alert.assetId, counts);
  }
  const attention = assets
    .map((a) =>
      normaliseAsset({ ...a, assetId: a.id, alerts: { bySeverity: alertsByAsset.get(a.id) ?? {} } }),
    )
    .filter(needsAttention)
    .sort((a, b) => severityRank(b.alertCounts) - severityRank(a.alertCounts))
    .slice(0, 20);
  return {
    assets: { total: assets.length, byStatus: countBy(assets, 'status') },
    alerts: { active: alerts.length, bySeverity: countBy(alerts, 'severity') },
    workOrders: { open: workOrders.length, byStatus: countBy(workOrders, 'status') },
    needsAttention: attention,
    updatedAt: new Date().toISOString(),
    source: 'services',
  };
}

/** A number that orders assets by how bad their worst alerts are. */
export function severityRank(counts = {}) {
  return (
    (counts.critical ?? 0) * 1e6 +
    (counts.major ?? 0) * 1e4 +
    (counts.warning ?? 0) * 1e2 +
    (counts.info ?? 0)
  );
}

/** One page of the asset list `{items, nextCursor}` with dashboard filters; see the asset list page. */
export async function loadAssetPage(filters, signal) {
  if (sources.dashboard !== false) {
    try {
      const page = await get(`/api/v1/dashboard/assets${query(filters)}`, { signal });
      sources.dashboard = true;
      return {
        items: (page.items ?? []).map(normaliseAsset),
        nextCursor: page.nextCursor ?? null,
        source: 'dashboard',
      };
    } catch (err) {
      if (signal?.aborted) throw err;
      // A 400 is the dashboard refusing a filter; anything else means it is not there.
      if (err.status === 400) throw err;
      sources.dashboard = false;
    }
  }
  // Fallback: the asset service lists and filters; alert counts come from the active alerts.
  const { q, type, status, cursor, limit, severity, sort } = filters;
  const [page, alerts] = await Promise.all([
    get(`/api/v1/assets${query({ q, type, status, cursor, limit })}`, { signal }),
    allPages('/api/v1/alerts', { status: 'active' }, signal),
  ]);
  const bySeverity = new Map();
  for (const alert of alerts) {
    const counts = bySeverity.get(alert.assetId) ?? {};
    counts[alert.severity] = (counts[alert.severity] ?? 0) + 1;
    bySeverity.set(alert.assetId, counts);
  }
  let items = page.items.map((a) =>
    normaliseAsset({ ...a, assetId: a.id, alerts: { bySeverity: bySeverity.get(a.id) ?? {} } }),
  );
  if (severity) items = items.filter((a) => (a.alertCounts[severity] ?? 0) > 0);
  items = sortAssets(items, sort);
  return { items, nextCursor: page.nextCursor, source: 'services' };
}

/** Sorts like the dashboard does: `name`, `-name`, `lastSeen`, `-lastSeen`, `alerts`, `-alerts`, `status`. */
export function sortAssets(items, sort) {
  const sorted = [...items];
  const text = String(sort || 'name');
  const sign = text.startsWith('-') ? -1 : 1;
  const key = text.replace(/^-/, '');
  const value = (a) =>
    key === 'alerts'
      ? severityRank(a.alertCounts)
      : key === 'lastSeen'
        ? (a.lastSeenAt ?? '')
        : String(a[key] ?? '').toLowerCase();
  sorted.sort((a, b) => (value(a) < value(b) ? -sign : value(a) > value(b) ? sign : 0));
  return sorted;
}

let namesCache;
/** Asset id → name (for pages whose items carry only an asset id), cached for a minute. */
export async function assetNames(signal) {
  if (namesCache && namesCache.at > Date.now() - 60_000) return namesCache.names;
  const assets = await allPages('/api/v1/assets', {}, signal).catch(() => []);
  const names = new Map(assets.map((a) => [a.id, a.name]));
  namesCache = { at: Date.now(), names };
  return names;
}
