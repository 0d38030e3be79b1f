import { html } from 'htm/preact';
import { useEffect, useMemo, useRef } from 'preact/hooks';
import { get, post, query } from '../lib/api.js';
import { TelemetryCharts } from '../lib/chart.js';
import { subscribe } from '../lib/live.js';
import {
  act,
  dueText,
  Empty,
  ErrorBox,
  formatTime,
  formatValue,
  Loading,
  label,
  SeverityBadge,
  StatusBadge,
  timeAgo,
  useData,
  useInterval,
  whoAmI,
} from '../lib/ui.js';

/** Acknowledges an alert as the current user; resolves to whether it worked. */
export function acknowledge(alert) {
  return act(
    post(`/api/v1/alerts/${alert.id}/acknowledge`, { by: whoAmI() }),
    `Acknowledged ${alert.ruleName}`,
  );
}

function Unavailable({ what }) {
  return html`<p class="degraded-part">${what} is unavailable right now.</p>`;
}

/** What happened to the asset, newest first, from its record, alerts and work orders. */
function timelineOf(asset, alerts, workOrders) {
  const entries = [];
  const push = (at, kind, text, href) => at && entries.push({ at, kind, text, href });
  if (asset) {
    push(asset.createdAt, 'asset', `Registered as ${asset.type}`);
    if (asset.updatedAt !== asset.createdAt) {
      push(
        asset.updatedAt,
        'asset',
        `Status ${label(asset.status)}${asset.statusReason ? `: ${asset.statusReason}` : ''}`,
      );
    }
  }
  for (const alert of alerts ?? []) {
    push(
      alert.raisedAt ?? alert.startedAt,
      `sev-${alert.severity}`,
      `Alert raised: ${alert.ruleName} (${alert.metric} ${formatValue(alert.value)})`,
    );
    push(alert.acknowledgedAt, 'ack', `Alert acknowledged by ${alert.acknowledgedBy}: ${alert.ruleName}`);
    push(alert.clearedAt, 'clear', `Alert cleared: ${alert.ruleName}`);
  }
  for (const wo of workOrders ?? []) {
    push(wo.createdAt, 'wo', `Work order opened: ${wo.title}`, '#/work-orders');
    push(wo.startedAt, 'wo', `Work started: ${wo.title}`, '#/work-orders');
    push(wo.completedAt, 'wo', `Work order ${label(wo.status)}: ${wo.title}`, '#/work-orders');
  }
  return entries.sort((a, b) => (a.at < b.at ? 1 : -1)).slice(0, 40);
}

/** The asset page: details, latest values, charts, alerts, work orders and timeline. */
export function AssetPage({ assetId }) {
  const overview = useData((signal) => get(`/api/v1/assets/${assetId}/overview`, { signal }), [assetId]);
  // History for the timeline: recent alerts in every state and recent work orders, not only open ones.
  const history = useData(
    (signal) =>
      Promise.all([
        get(`/api/v1/alerts${query({ assetId, limit: 30 })}`, { signal }).then(
          (p) => p.items,
          () => null,
        ),
        get(`/api/v1/work-orders${query({ assetId, limit: 30 })}`, { signal }).then(
          (p) => p.items,
          () => null,
        ),
      ]),
    [assetId],
  );
  const pending = useRef(undefined);

  useEffect(() => {
    const unsubscribe = subscribe(({ type, data }) => {
      // The stream says this asset changed: refresh once for a burst of changes (ingest sends
      // many), shortly after the first, so the last change of the burst is included.
      if (type !== 'asset' || data?.assetId !== assetId || pending.current) return;
      pending.current = setTimeout(() => {
        pending.current = undefined;
        overview.reload();
        history.reload();
      }, 500);
    });
    return () => {
      unsubscribe();
      clearTimeout(pending.current);
      pending.current = undefined;
    };
  }, [assetId]);
  useInterval(() => {
    overview.reload();
    history.reload();
  }, 10_000);

  const data = overview.data;
  const metrics = useMemo(() => (data?.latest?.values ?? []).map((v) => v.metric).sort(), [data?.latest]);
  if (!data) {
    return overview.error
      ? html`<div class="page"><p><a href="#/assets">← Assets</a></p><${ErrorBox} error=${overview.error} onRetry=${overview.reload} /></div>`
      : html`<${Loading} />`;
  }
  const { asset, latest, alerts, workOrders, degraded } = data;
  const [allAlerts, allWorkOrders] = history.data ?? [null, null];
  const ack = async (alert) => {
    if (await acknowledge(alert)) {
      overview.reload();
      history.reload();
    }
  };

  return html`<div class="page asset-page">
    <p class="crumbs"><a href="#/assets">← Assets</a></p>
    <div class="page-head">
      <h1 data-testid="asset-name">${asset?.name ?? assetId}</h1>
      ${asset ? html`<${StatusBadge} status=${asset.status} />` : null}
    </div>
    ${
      degraded.length > 0
        ? html`<div class="warning" role="status" data-testid="degraded">Partly unavailable: ${degraded.join(', ')}. The rest is current.</div>`
        : null
    }
    <div class="grid-2">
      <section class="card">
        <h2>Details</h2>
        ${
          asset
            ? html`<dl class="details">
              <dt>Type</dt><dd>${asset.type}</dd>
              <dt>Location</dt><dd>${asset.location ?? '—'}</dd>
              <dt>Status</dt><dd>${label(asset.status)}${asset.statusReason ? html` <span class="muted">(${asset.statusReason})</span>` : null}</dd>
              ${Object.entries(asset.metadata ?? {}).map(([k, v]) => html`<dt>${k}</dt><dd>${typeof v === 'object' ? JSON.stringify(v) : String(v)}</dd>`)}
              <dt>Registered</dt><dd>${formatTime(asset.createdAt)}</dd>
              <dt>Id</dt><dd><code class="small">${asset.id}</code></dd>
            </dl>`
            : html`<${Unavailable} what="Asset details" />`
        }
      </section>
      <section class="card">
        <h2>Latest values</h2>
        ${
          latest === null
            ? html`<${Unavailable} what="Telemetry" />`
            : latest.values.length === 0
              ? html`<${Empty}>No readings yet.</${Empty}>`
              : html`<div class="latest-grid" data-testid="latest-values">
                ${latest.values.map(
                  (v) => html`<div class="latest" data-metric=${v.metric}>
                    <span class="latest-metric">${label(v.metric)}</span>
                    <span class="latest-value">${formatValue(v.value)}</span>
                    <span class="muted small" title=${formatTime(v.ts)}>${timeAgo(v.ts)}</span>
                  </div>`,
                )}
              </div>`
        }
      </section>
    </div>
    ${latest === null ? null : html`<${TelemetryCharts} assetId=${assetId} metrics=${metrics} />`}
    <div class="grid-2">
      <section class="card">
        <h2>Active alerts</h2>
        ${
          alerts === null
            ? html`<${Unavailable} what="Alerts" />`
            : alerts.length === 0
              ? html`<${Empty}>No active alerts.</${Empty}>`
              : html`<ul class="list" data-testid="asset-alerts">
                ${alerts.map(
                  (a) => html`<li key=${a.id}>
                    <div><${SeverityBadge} severity=${a.severity} /> <b>${a.ruleName}</b>
                      <div class="muted small">${a.metric} ${formatValue(a.value)} · ${label(a.status)} · since ${timeAgo(a.raisedAt ?? a.startedAt)}</div></div>
                    ${a.status === 'firing' ? html`<button class="btn small" onClick=${() => ack(a)}>Acknowledge</button>` : html`<span class="muted small">${a.acknowledgedBy ? `ack by ${a.acknowledgedBy}` : ''}</span>`}
                  </li>`,
                )}
              </ul>`
        }
      </section>
      <section class="card">
        <h2>Open work orders</h2>
        ${
          workOrders === null
            ? html`<${Unavailable} what="Work orders" />`
            : workOrders.length === 0
              ? html`<${Empty}>No open work orders.</${Empty}>`
              : html`<ul class="list">
                ${workOrders.map(
                  (w) => html`<li key=${w.id}>
                    <div><b>${w.title}</b><div class="muted small">${label(w.priority)} · ${dueText(w.dueAt, w.status)} · ${w.source}</div></div>
                    <span class="badge wo-${w.status.replaceAll('_', '-')}">${label(w.status)}</span>
                  </li>`,
                )}
              </ul>`
        }
      </section>
    </div>
    <section class="card">
      <h2>Timeline</h2>
      <ol class="timeline" data-testid="timeline">
        ${timelineOf(asset, allAlerts ?? alerts, allWorkOrders ?? workOrders).map(
          (e) => html`<li class=${`tl-${e.kind}`}><time title=${formatTime(e.at)}>${formatTime(e.at)}</time>
            <span>${e.href ? html`<a href=${e.href}>${e.text}</a>` : e.text}</span></li>`,
        )}
      </ol>
    </section>
  </div>`;
}
