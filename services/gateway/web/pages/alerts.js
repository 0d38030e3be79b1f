import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { get, query } from '../lib/api.js';
import { assetNames } from '../lib/data.js';
import { subscribe } from '../lib/live.js';
import {
  Empty,
  ErrorBox,
  formatValue,
  Loading,
  label,
  SEVERITIES,
  SeverityBadge,
  timeAgo,
  useData,
  useInterval,
} from '../lib/ui.js';
import { acknowledge } from './asset.js';

const STATUSES = ['active', 'firing', 'pending', 'acknowledged', 'cleared', 'suppressed'];

/** Alerts: filter by status and severity, acknowledge firing ones. */
export function AlertsPage({ params }) {
  const [status, setStatus] = useState(params.get('status') ?? 'active');
  const [severity, setSeverity] = useState(params.get('severity') ?? '');
  const [extra, setExtra] = useState({ items: [], nextCursor: null });
  const load = (cursor, signal) =>
    get(`/api/v1/alerts${query({ status, severity, cursor, limit: 100 })}`, { signal });
  const page = useData((signal) => load(undefined, signal), [status, severity]);
  const names = useData((signal) => assetNames(signal), []);
  useEffect(() => setExtra({ items: [], nextCursor: null }), [page.data]);
  useInterval(() => page.reload(), 10_000);
  // Fleet totals come with every change (up to twice a second): reload only when the active
  // alerts by severity moved, not on every reading.
  useEffect(() => {
    let last;
    return subscribe(({ type, data }) => {
      if (type !== 'fleet' || !data?.alerts) return;
      const key = JSON.stringify(data.alerts);
      if (last !== undefined && key !== last) page.reload();
      last = key;
    });
  }, [status, severity]);

  const items = [...(page.data?.items ?? []), ...extra.items];
  const nextCursor = extra.nextCursor ?? page.data?.nextCursor;
  const more = async () => {
    const next = await load(nextCursor).catch(() => undefined);
    if (next) setExtra((c) => ({ items: [...c.items, ...next.items], nextCursor: next.nextCursor }));
  };
  const ack = async (alert) => {
    if (await acknowledge(alert)) page.reload();
  };

  return html`<div class="page">
    <div class="page-head"><h1>Alerts</h1></div>
    <div class="filters card">
      <div class="segmented" role="group" aria-label="Status">
        ${STATUSES.map((s) => html`<button class=${status === s ? 'on' : ''} aria-pressed=${status === s} onClick=${() => setStatus(s)}>${label(s)}</button>`)}
        <button class=${status === '' ? 'on' : ''} aria-pressed=${status === ''} onClick=${() => setStatus('')}>all</button>
      </div>
      <select aria-label="Severity" value=${severity} onChange=${(e) => setSeverity(e.currentTarget.value)}>
        <option value="">All severities</option>
        ${SEVERITIES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select>
    </div>
    <${ErrorBox} error=${page.error} onRetry=${page.reload} />
    ${
      page.data === undefined && !page.error
        ? html`<${Loading} />`
        : items.length === 0
          ? html`<${Empty}>No alerts match.</${Empty}>`
          : html`<div class="table-wrap card flush"><table class="table" data-testid="alert-table">
            <thead><tr><th>Severity</th><th>Alert</th><th>Asset</th><th class="hide-sm">Value</th><th>Status</th><th class="hide-sm">Since</th><th></th></tr></thead>
            <tbody>
              ${items.map(
                (a) => html`<tr key=${a.id} data-alert-id=${a.id}>
                  <td><${SeverityBadge} severity=${a.severity} /></td>
                  <td><b>${a.ruleName}</b><div class="muted small">${a.metric}</div></td>
                  <td><a href=${`#/assets/${a.assetId}`}>${names.data?.get(a.assetId) ?? `${a.assetId.slice(0, 8)}…`}</a></td>
                  <td class="hide-sm">${formatValue(a.value)}</td>
                  <td><span class="badge alert-${a.status}">${label(a.status)}</span>${a.acknowledgedBy ? html`<div class="muted small">by ${a.acknowledgedBy}</div>` : null}</td>
                  <td class="hide-sm">${timeAgo(a.raisedAt ?? a.startedAt)}</td>
                  <td>${a.status === 'firing' ? html`<button class="btn small" onClick=${() => ack(a)}>Acknowledge</button>` : null}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>`
    }
    <div class="list-foot">
      <span class="muted small">${items.length} shown</span>
      ${nextCursor ? html`<button class="btn" onClick=${more}>Load more</button>` : null}
    </div>
  </div>`;
}
