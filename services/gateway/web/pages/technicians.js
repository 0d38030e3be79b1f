import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { get, patch, post } from '../lib/api.js';
import { act, Empty, ErrorBox, Loading, useData } from '../lib/ui.js';

function NewTechnician({ onCreated }) {
  const [form, setForm] = useState({ name: '', skills: '' });
  const submit = async (event) => {
    event.preventDefault();
    const skills = form.skills
      .split(/[\s,]+/)
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    if (await act(post('/api/v1/technicians', { name: form.name.trim(), skills }), `Added ${form.name}`)) {
      setForm({ name: '', skills: '' });
      onCreated();
    }
  };
  return html`<form class="card inline-form" onSubmit=${submit}>
    <input aria-label="Name" placeholder="Name" required value=${form.name} onInput=${(e) => setForm({ ...form, name: e.currentTarget.value })} />
    <input aria-label="Skills" placeholder="Skills: mechanical, electrical" value=${form.skills} onInput=${(e) => setForm({ ...form, skills: e.currentTarget.value })} />
    <button class="btn primary" type="submit">Add technician</button>
  </form>`;
}

function shifts(t) {
  if (!t.shifts?.length) return 'on call any time';
  return t.shifts.map((s) => `${s.days.join(' ')} ${s.start}–${s.end}`).join('; ');
}

/** Technicians: who can be assigned, their skills, availability and load. */
export function TechniciansPage() {
  const [showInactive, setShowInactive] = useState(false);
  const list = useData(
    (signal) => get(`/api/v1/technicians?limit=500${showInactive ? '&active=false' : ''}`, { signal }),
    [showInactive],
  );
  const items = list.data?.items ?? [];
  const setAvailable = async (t) => {
    if (
      await act(
        patch(`/api/v1/technicians/${t.id}`, { available: !t.available }),
        `${t.name} is ${t.available ? 'unavailable' : 'available'}`,
      )
    )
      list.reload();
  };
  const setActive = async (t) => {
    if (
      await act(
        post(`/api/v1/technicians/${t.id}/${t.active ? 'deactivate' : 'activate'}`),
        `${t.name} ${t.active ? 'deactivated' : 'reactivated'}`,
      )
    )
      list.reload();
  };
  return html`<div class="page">
    <div class="page-head"><h1>Technicians</h1>
      <label class="inline"><input type="checkbox" checked=${showInactive} onChange=${() => setShowInactive(!showInactive)} /> show those who left</label>
    </div>
    <${NewTechnician} onCreated=${list.reload} />
    <${ErrorBox} error=${list.error} onRetry=${list.reload} />
    ${
      list.data === undefined && !list.error
        ? html`<${Loading} />`
        : items.length === 0
          ? html`<${Empty}>No technicians yet: work orders stay open until someone can be assigned.</${Empty}>`
          : html`<div class="cards">${items.map(
              (t) => html`<article class="card person" key=${t.id}>
              <div class="person-head"><b>${t.name}</b>
                <span class=${`badge ${t.active ? (t.available ? 'ok' : 'warn') : 'off'}`}>${t.active ? (t.available ? 'available' : 'unavailable') : 'left'}</span></div>
              <div class="chips">${t.skills.length ? t.skills.map((s) => html`<span class="chip">${s}</span>`) : html`<span class="muted small">no skills listed</span>`}</div>
              <div class="small muted">${shifts(t)}</div>
              <div class="small">${t.openWorkOrders} open work order${t.openWorkOrders === 1 ? '' : 's'}</div>
              <div class="wo-actions">
                ${t.active ? html`<button class="btn small" onClick=${() => setAvailable(t)}>${t.available ? 'Mark unavailable' : 'Mark available'}</button>` : null}
                <button class="btn small ghost" onClick=${() => setActive(t)}>${t.active ? 'Deactivate' : 'Reactivate'}</button>
              </div>
            </article>`,
            )}</div>`
    }
  </div>`;
}
