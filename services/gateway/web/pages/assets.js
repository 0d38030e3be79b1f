import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { post } from '../lib/api.js';
import { loadAssetPage, normaliseAsset } from '../lib/data.js';
import { subscribe } from '../lib/live.js';
import {
  ASSET_STATUSES,
  act,
  Empty,
  ErrorBox,
  formatValue,
  Loading,
  label,
  SEVERITIES,
  SeverityCounts,
  StatusBadge,
  timeAgo,
  useData,
} from '../lib/ui.js';

const KNOWN_TYPES = ['pump', 'compressor', 'motor', 'chiller', 'turbine'];
const SORTS = [
  ['name', 'Name A–Z'],
  ['-name', 'Name Z–A'],
  ['-alerts', 'Worst alerts first'],
  ['-lastSeen', 'Recently seen'],
  ['lastSeen', 'Longest silent'],
  ['status', 'Status'],
];
const PAGE_SIZE = 50;

function useDebounced(value, ms) {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

function LatestSummary({ latest }) {
  const entries = Object.entries(latest ?? {}).slice(0, 3);
  if (entries.length === 0) return html`<span class="muted">—</span>`;
  return html`<span class="latest-inline">${entries.map(
    ([metric, v]) => html`<span><b>${metric}</b> ${formatValue(v?.value ?? v)}</span>`,
  )}</span>`;
}

function NewAssetForm({ onCreated }) {
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ name: '', type: 'pump', location: '' });
  if (!open) return html`<button class="btn primary" onClick=${() => setOpen(true)}>New asset</button>`;
  const submit = async (event) => {
    event.preventDefault();
    const body = {
      name: form.name.trim(),
      type: form.type.trim(),
      ...(form.location.trim() ? { location: form.location.trim() } : {}),
    };
    if (await act(post('/api/v1/assets', body), `Registered ${body.name}`)) {
      setOpen(false);
      setForm({ name: '', type: 'pump', location: '' });
      onCreated();
    }
  };
  const field = (key) => (e) => setForm({ ...form, [key]: e.currentTarget.value });
  return html`<form class="card inline-form" onSubmit=${submit}>
    <input aria-label="Name" placeholder="Name" required value=${form.name} onInput=${field('name')} />
    <input aria-label="Type" placeholder="Type (pump)" required pattern="[a-z][a-z0-9_-]*" value=${form.type} onInput=${field('type')} list="asset-types" />
    <input aria-label="Location" placeholder="Location" value=${form.location} onInput=${field('location')} />
    <button class="btn primary" type="submit">Register</button>
    <button class="btn ghost" type="button" onClick=${() => setOpen(false)}>Cancel</button>
  </form>`;
}

/** Asset list: search, filters, sort, status and alert badges; live rows. */
export function AssetsPage({ params }) {
  const [q, setQ] = useState(params.get('q') ?? '');
  const [type, setType] = useState(params.get('type') ?? '');
  const [status, setStatus] = useState(params.get('status') ?? '');
  const [severity, setSeverity] = useState(params.get('severity') ?? '');
  const [sort, setSort] = useState(params.get('sort') ?? 'name');
  const [extra, setExtra] = useState({ items: [], nextCursor: null });
  const search = useDebounced(q.trim(), 250);
  const filters = { q: search, type, status, severity, sort, limit: PAGE_SIZE };

  const page = useData((signal) => loadAssetPage(filters, signal), [search, type, status, severity, sort]);
  useEffect(() => setExtra({ items: [], nextCursor: null }), [page.data]);

  useEffect(
    () =>
      subscribe(({ type: eventType, data }) => {
        if (eventType !== 'asset' || !data?.assetId) return;
        const asset = normaliseAsset(data);
        page.setData((current) =>
          current
            ? {
                ...current,
                items: current.items.map((a) => (a.assetId === asset.assetId ? { ...a, ...asset } : a)),
              }
            : current,
        );
      }),
    [],
  );

  const items = [...(page.data?.items ?? []), ...extra.items];
  const nextCursor = extra.nextCursor ?? page.data?.nextCursor;
  const types = [
    ...new Set([...KNOWN_TYPES, ...items.map((a) => a.type).filter(Boolean), ...(type ? [type] : [])]),
  ].sort();
  const more = async () => {
    const next = await loadAssetPage({ ...filters, cursor: nextCursor }).catch((err) => ({ error: err }));
    if (next.error) return;
    setExtra((current) => ({ items: [...current.items, ...next.items], nextCursor: next.nextCursor }));
  };

  return html`<div class="page">
    <div class="page-head">
      <h1>Assets</h1>
      <${NewAssetForm} onCreated=${page.reload} />
    </div>
    <datalist id="asset-types">${KNOWN_TYPES.map((t) => html`<option value=${t} />`)}</datalist>
    <div class="filters card">
      <input type="search" aria-label="Search assets" placeholder="Search name, location, type…" value=${q} onInput=${(e) => setQ(e.currentTarget.value)} />
      <select aria-label="Type" value=${type} onChange=${(e) => setType(e.currentTarget.value)}>
        <option value="">All types</option>
        ${types.map((t) => html`<option value=${t}>${t}</option>`)}
      </select>
      <select aria-label="Status" value=${status} onChange=${(e) => setStatus(e.currentTarget.value)}>
        <option value="">All statuses</option>
        ${ASSET_STATUSES.map((s) => html`<option value=${s}>${label(s)}</option>`)}
      </select>
      <select aria-label="Alert severity" value=${severity} onChange=${(e) => setSeverity(e.currentTarget.value)}>
        <option value="">Any alerts</option>
        ${SEVERITIES.map((s) => html`<option value=${s}>${s} alerts</option>`)}
      </select>
      <select aria-label="Sort" value=${sort} onChange=${(e) => setSort(e.currentTarget.value)}>
        ${SORTS.map(([value, text]) => html`<option value=${value}>${text}</option>`)}
      </select>
    </div>
    <${ErrorBox} error=${page.error} onRetry=${page.reload} />
    ${
      page.data === undefined && !page.error
        ? html`<${Loading} />`
        : items.length === 0
          ? html`<${Empty}>No assets match.</${Empty}>`
          : html`<div class="table-wrap card flush"><table class="table" data-testid="asset-table">
            <thead><tr><th>Name</th><th>Type</th><th class="hide-sm">Location</th><th>Status</th><th>Alerts</th><th class="hide-md">Latest</th><th class="hide-sm">Last seen</th></tr></thead>
            <tbody>
              ${items.map(
                (a) => html`<tr key=${a.assetId} data-asset-id=${a.assetId}>
                  <td><a href=${`#/assets/${a.assetId}`}>${a.name}</a></td>
                  <td>${a.type}</td>
                  <td class="hide-sm">${a.location ?? '—'}</td>
                  <td><${StatusBadge} status=${a.status} /></td>
                  <td><${SeverityCounts} counts=${a.alertCounts} /></td>
                  <td class="hide-md"><${LatestSummary} latest=${a.latest} /></td>
                  <td class="hide-sm">${timeAgo(a.lastSeenAt)}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>`
    }
    <div class="list-foot">
      <span class="muted small">${items.length} shown${page.data?.source === 'services' ? ' · from the asset service (dashboard unavailable)' : ''}</span>
      ${nextCursor ? html`<button class="btn" onClick=${more}>Load more</button>` : null}
    </div>
  </div>`;
}
