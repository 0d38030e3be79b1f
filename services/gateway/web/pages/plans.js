import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { get, post } from '../lib/api.js';
import { assetNames } from '../lib/data.js';
import { act, Empty, ErrorBox, formatTime, formatValue, Loading, useData } from '../lib/ui.js';

const PRIORITIES = ['urgent', 'high', 'medium', 'low'];

function NewPlan({ names, onCreated }) {
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({
    assetId: '',
    title: '',
    priority: 'medium',
    every: '3',
    unit: 'month',
    usageMetric: '',
    usageEvery: '',
  });
  if (!open) return html`<button class="btn primary" onClick=${() => setOpen(true)}>New plan</button>`;
  const field = (key) => (e) => setForm({ ...form, [key]: e.currentTarget.value });
  const submit = async (event) => {
    event.preventDefault();
    const body = {
      assetId: form.assetId,
      title: form.title.trim(),
      priority: form.priority,
      ...(form.every ? { interval: { every: Number(form.every), unit: form.unit } } : {}),
      ...(form.usageMetric && form.usageEvery
        ? { usage: { metric: form.usageMetric.trim(), every: Number(form.usageEvery) } }
        : {}),
    };
    if (await act(post('/api/v1/maintenance-plans', body), `Plan “${body.title}” created`)) {
      setOpen(false);
      onCreated();
    }
  };
  return html`<form class="card form-grid" onSubmit=${submit}>
    <label>Asset<select aria-label="Asset" required value=${form.assetId} onChange=${field('assetId')}>
      <option value="">Choose…</option>
      ${[...(names ?? new Map())].map(([id, name]) => html`<option value=${id}>${name}</option>`)}
    </select></label>
    <label>Title<input aria-label="Title" required value=${form.title} onInput=${field('title')} placeholder="Quarterly inspection" /></label>
    <label>Priority<select aria-label="Priority" value=${form.priority} onChange=${field('priority')}>${PRIORITIES.map((p) => html`<option value=${p}>${p}</option>`)}</select></label>
    <label>Every<input aria-label="Every" type="number" min="1" value=${form.every} onInput=${field('every')} /></label>
    <label>Unit<select aria-label="Unit" value=${form.unit} onChange=${field('unit')}><option>day</option><option>week</option><option>month</option></select></label>
    <label>Usage metric (optional)<input aria-label="Usage metric (optional)" value=${form.usageMetric} onInput=${field('usageMetric')} placeholder="run_hours" /></label>
    <label>Every … units<input aria-label="Every … units" type="number" min="0" step="any" value=${form.usageEvery} onInput=${field('usageEvery')} /></label>
    <div class="form-actions"><button class="btn primary" type="submit">Create plan</button><button class="btn ghost" type="button" onClick=${() => setOpen(false)}>Cancel</button></div>
  </form>`;
}

/** Preventive maintenance plans: triggers, where each stands, activate/deactivate. */
export function PlansPage() {
  const plans = useData((signal) => get('/api/v1/maintenance-plans?limit=500', { signal }), []);
  const names = useData((signal) => assetNames(signal), []);
  const items = plans.data?.items ?? [];
  const toggle = async (p) => {
    if (
      await act(
        post(`/api/v1/maintenance-plans/${p.id}/${p.active ? 'deactivate' : 'activate'}`),
        `${p.title} ${p.active ? 'deactivated' : 'activated'}`,
      )
    )
      plans.reload();
  };
  return html`<div class="page">
    <div class="page-head"><h1>Maintenance plans</h1><${NewPlan} names=${names.data} onCreated=${plans.reload} /></div>
    <${ErrorBox} error=${plans.error} onRetry=${plans.reload} />
    ${
      plans.data === undefined && !plans.error
        ? html`<${Loading} />`
        : items.length === 0
          ? html`<${Empty}>No maintenance plans.</${Empty}>`
          : html`<div class="table-wrap card flush"><table class="table">
            <thead><tr><th>Plan</th><th>Asset</th><th>Triggers</th><th>Next due</th><th class="hide-sm">Occurrences</th><th></th></tr></thead>
            <tbody>${items.map(
              (p) => html`<tr key=${p.id} class=${p.active ? '' : 'inactive'}>
                <td><b>${p.title}</b><div class="muted small">${p.priority}${p.active ? '' : ' · inactive'}</div></td>
                <td><a href=${`#/assets/${p.assetId}`}>${names.data?.get(p.assetId) ?? p.assetId.slice(0, 8)}</a></td>
                <td class="small">${p.interval ? `every ${p.interval.every} ${p.interval.unit}${p.interval.every > 1 ? 's' : ''}` : ''}
                  ${p.interval && p.usage ? html`<br />` : null}
                  ${p.usage ? `every ${formatValue(p.usage.every)} ${p.usage.metric} (${formatValue(p.usageSinceLast ?? 0)} so far)` : ''}</td>
                <td class="small">${p.nextDueAt ? formatTime(p.nextDueAt) : '—'}${p.opensAt ? html`<div class="muted">opens ${formatTime(p.opensAt)}</div>` : null}</td>
                <td class="hide-sm">${p.occurrences}</td>
                <td><button class="btn small ghost" onClick=${() => toggle(p)}>${p.active ? 'Deactivate' : 'Activate'}</button></td>
              </tr>`,
            )}</tbody></table></div>`
    }
  </div>`;
}
