import { html } from 'htm/preact';
import { useEffect } from 'preact/hooks';
import { loadFleet, needsAttention, normaliseAsset, severityRank } from '../lib/data.js';
import { subscribe } from '../lib/live.js';
import {
  ASSET_STATUSES,
  Empty,
  ErrorBox,
  Loading,
  label,
  SEVERITIES,
  SeverityCounts,
  StatusBadge,
  timeAgo,
  useData,
  useInterval,
  WORK_ORDER_STATUSES,
} from '../lib/ui.js';

function Tile({ title, total, counts, order, kind, href, testId }) {
  const keys = [
    ...order.filter((k) => counts?.[k]),
    ...Object.keys(counts ?? {}).filter((k) => !order.includes(k)),
  ];
  const max = Math.max(1, ...keys.map((k) => counts[k] ?? 0));
  return html`<a class="card tile" href=${href} data-testid=${testId}>
    <div class="tile-head"><h2>${title}</h2><span class="tile-total" data-testid=${`${testId}-total`}>${total ?? 0}</span></div>
    <ul class="bars">
      ${keys.length === 0 ? html`<li class="muted">none</li>` : null}
      ${keys.map(
        (k) => html`<li data-key=${k}>
          <span class="bar-label">${label(k)}</span>
          <span class="bar"><i class=${`${kind}-${k.replaceAll('_', '-')}`} style=${`width:${(100 * (counts[k] ?? 0)) / max}%`}></i></span>
          <span class="bar-value">${counts[k]}</span>
        </li>`,
      )}
    </ul>
  </a>`;
}

/** Fleet overview: totals by status and severity, and the assets that need attention. */
export function FleetPage() {
  const fleet = useData((signal) => loadFleet(signal), []);
  const data = fleet.data;

  // Live: the stream pushes fleet totals and changed assets; without the dashboard, poll.
  useEffect(
    () =>
      subscribe(({ type, data: event }) => {
        if (type === 'fleet' && event && typeof event === 'object') {
          fleet.setData((current) =>
            current
              ? {
                  ...current,
                  ...event,
                  needsAttention: event.needsAttention
                    ? event.needsAttention.map(normaliseAsset)
                    : current.needsAttention,
                }
              : current,
          );
        } else if (type === 'asset' && event?.assetId) {
          fleet.setData((current) => {
            if (!current) return current;
            const asset = normaliseAsset(event);
            const others = current.needsAttention.filter((a) => a.assetId !== asset.assetId);
            const list = needsAttention(asset) ? [...others, asset] : others;
            list.sort((a, b) => severityRank(b.alertCounts) - severityRank(a.alertCounts));
            return { ...current, needsAttention: list };
          });
        }
      }),
    [],
  );
  useInterval(() => {
    if (data?.source !== 'dashboard') fleet.reload();
  }, 10_000);

  if (!data)
    return fleet.error
      ? html`<${ErrorBox} error=${fleet.error} onRetry=${fleet.reload} />`
      : html`<${Loading} />`;
  return html`<div class="page">
    <div class="page-head">
      <h1>Fleet overview</h1>
      <span class="muted small">${data.source === 'dashboard' ? 'Dashboard read model' : 'Computed from the services (dashboard unavailable)'} · updated ${timeAgo(data.updatedAt)}</span>
    </div>
    <${ErrorBox} error=${fleet.error} onRetry=${fleet.reload} />
    <div class="tiles">
      <${Tile} title="Assets" total=${data.assets?.total} counts=${data.assets?.byStatus} order=${ASSET_STATUSES} kind="status" href="#/assets" testId="fleet-assets" />
      <${Tile} title="Active alerts" total=${data.alerts?.active} counts=${data.alerts?.bySeverity} order=${SEVERITIES} kind="sev" href="#/alerts" testId="fleet-alerts" />
      <${Tile} title="Open work orders" total=${data.workOrders?.open} counts=${data.workOrders?.byStatus} order=${WORK_ORDER_STATUSES} kind="wo" href="#/work-orders" testId="fleet-work-orders" />
    </div>
    <section class="card">
      <div class="card-head"><h2>Needs attention</h2></div>
      ${
        data.needsAttention.length === 0
          ? html`<${Empty}>Nothing needs attention right now.</${Empty}>`
          : html`<div class="table-wrap"><table class="table" data-testid="needs-attention">
            <thead><tr><th>Asset</th><th>Status</th><th>Alerts</th><th class="hide-sm">Open WOs</th><th class="hide-sm">Last seen</th></tr></thead>
            <tbody>
              ${data.needsAttention.map(
                (a) => html`<tr key=${a.assetId}>
                  <td><a href=${`#/assets/${a.assetId}`}>${a.name ?? a.assetId}</a><div class="muted small">${a.type} · ${a.location ?? '—'}</div></td>
                  <td><${StatusBadge} status=${a.status} /></td>
                  <td><${SeverityCounts} counts=${a.alertCounts} /></td>
                  <td class="hide-sm">${a.openWorkOrders ?? 0}</td>
                  <td class="hide-sm">${timeAgo(a.lastSeenAt)}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>`
      }
    </section>
  </div>`;
}
