import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { get, post, query } from '../lib/api.js';
import { assetNames } from '../lib/data.js';
import { act, dueText, ErrorBox, Loading, label, useData, useInterval, whoAmI } from '../lib/ui.js';

/** The board's columns: a status each, with the most cards it shows (the newest). */
const COLUMNS = [
  ['open', 100],
  ['assigned', 100],
  ['in_progress', 100],
  ['on_hold', 100],
  ['completed', 20],
  ['cancelled', 10],
];
/** The page size of the board's listing: the API's maximum, more than all the columns hold (430). */
const PAGE = 500;
const PRIORITIES = ['urgent', 'high', 'medium', 'low'];

/** The moves the work-order status machine allows from each status (the server checks again). */
const MOVES = {
  open: [['assign', 'Assign']],
  assigned: [
    ['start', 'Start'],
    ['assign', 'Reassign'],
  ],
  in_progress: [
    ['complete', 'Complete'],
    ['hold', 'Hold'],
  ],
  on_hold: [['resume', 'Resume']],
};
const CANCELLABLE = new Set(['open', 'assigned', 'in_progress', 'on_hold']);

function Card({ wo, names, technicians, onChanged }) {
  const [mode, setMode] = useState(undefined); // 'assign' | 'cancel' | undefined
  const [choice, setChoice] = useState('');
  const [reason, setReason] = useState('');
  const assignee = technicians.find((t) => t.id === wo.assigneeId);
  const run = async (path, body, message) => {
    if (await act(post(`/api/v1/work-orders/${wo.id}/${path}`, body), message)) {
      setMode(undefined);
      onChanged();
    }
  };
  const move = (action, text) => {
    if (action === 'assign') return setMode('assign');
    if (action === 'complete') return run('complete', { author: whoAmI() }, `Completed: ${wo.title}`);
    if (action === 'hold') return run('hold', {}, `On hold: ${wo.title}`);
    return run(action, {}, `${text}: ${wo.title}`);
  };
  return html`<article class="wo-card prio-${wo.priority}" data-work-order-id=${wo.id} data-status=${wo.status}>
    <div class="wo-title">${wo.title}</div>
    <div class="muted small"><a href=${`#/assets/${wo.assetId}`}>${names?.get(wo.assetId) ?? `${wo.assetId.slice(0, 8)}…`}</a> · ${wo.source}</div>
    <div class="wo-meta">
      <span class="badge prio-${wo.priority}">${wo.priority}</span>
      <span class="small">${dueText(wo.dueAt, wo.status)}</span>
    </div>
    ${assignee ? html`<div class="small"><span class="muted">Assignee</span> ${assignee.name}</div>` : wo.assigneeId ? html`<div class="small muted">assigned</div>` : null}
    ${
      mode === 'assign'
        ? html`<div class="wo-form">
          <select aria-label="Technician" value=${choice} onChange=${(e) => setChoice(e.currentTarget.value)}>
            <option value="">Automatic (best fit)</option>
            ${technicians.filter((t) => t.active).map((t) => html`<option value=${t.id}>${t.name}${t.available ? '' : ' (unavailable)'}</option>`)}
          </select>
          <button class="btn small primary" onClick=${() => run('assign', choice ? { technicianId: choice } : {}, `Assigned: ${wo.title}`)}>Assign</button>
          <button class="btn small ghost" onClick=${() => setMode(undefined)}>×</button>
        </div>`
        : mode === 'cancel'
          ? html`<div class="wo-form">
            <input aria-label="Reason" placeholder="Why cancel?" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} />
            <button class="btn small danger" disabled=${!reason.trim()} onClick=${() => run('cancel', { reason: reason.trim() }, `Cancelled: ${wo.title}`)}>Cancel it</button>
            <button class="btn small ghost" onClick=${() => setMode(undefined)}>×</button>
          </div>`
          : html`<div class="wo-actions">
            ${(MOVES[wo.status] ?? []).map(([action, text]) => html`<button class="btn small" onClick=${() => move(action, text)}>${text}</button>`)}
            ${CANCELLABLE.has(wo.status) ? html`<button class="btn small ghost" onClick=${() => setMode('cancel')}>Cancel</button>` : null}
          </div>`
    }
  </article>`;
}

function NewWorkOrder({ names, onCreated }) {
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({ assetId: '', title: '', priority: 'medium' });
  if (!open) return html`<button class="btn primary" onClick=${() => setOpen(true)}>New work order</button>`;
  const submit = async (event) => {
    event.preventDefault();
    if (await act(post('/api/v1/work-orders', { ...form, title: form.title.trim() }), 'Work order opened')) {
      setOpen(false);
      onCreated();
    }
  };
  const field = (key) => (e) => setForm({ ...form, [key]: e.currentTarget.value });
  return html`<form class="card inline-form" onSubmit=${submit}>
    <select aria-label="Asset" required value=${form.assetId} onChange=${field('assetId')}>
      <option value="">Asset…</option>
      ${[...(names ?? new Map())].map(([id, name]) => html`<option value=${id}>${name}</option>`)}
    </select>
    <input aria-label="Title" placeholder="Title" required value=${form.title} onInput=${field('title')} />
    <select aria-label="Priority" value=${form.priority} onChange=${field('priority')}>
      ${PRIORITIES.map((p) => html`<option value=${p}>${p}</option>`)}
    </select>
    <button class="btn primary" type="submit">Open</button>
    <button class="btn ghost" type="button" onClick=${() => setOpen(false)}>Cancel</button>
  </form>`;
}

/**
 * The board's cards, `{ open: [...], assigned: [...], ... }`, each column its newest work orders up
 * to its limit: one listing of the columns' statuses together (`status=open,assigned,...`, newest
 * first), split by status here. While a column has fewer cards than its limit and the listing goes
 * on, the next page is read with the cursor; a column that is full leaves the status filter of the
 * next pages, so a long completed history is not read through to fill a column that has few cards.
 * (The cursor is the position in the newest-first order, which every status filter shares.) A full
 * page (500) holds more than all the columns (430), so each page but the last fills a column: at
 * most one page more than there are columns.
 */
export async function loadBoard(signal) {
  const limits = Object.fromEntries(COLUMNS);
  const board = Object.fromEntries(COLUMNS.map(([status]) => [status, []]));
  let statuses = COLUMNS.map(([status]) => status);
  let cursor;
  for (let page = 0; page <= COLUMNS.length && statuses.length > 0; page++) {
    const { items, nextCursor } = await get(
      `/api/v1/work-orders${query({ status: statuses.join(','), cursor, limit: PAGE })}`,
      { signal },
    );
    for (const wo of items) {
      const column = board[wo.status];
      if (column && column.length < limits[wo.status]) column.push(wo);
    }
    if (!nextCursor) break;
    cursor = nextCursor;
    statuses = statuses.filter((status) => board[status].length < limits[status]);
  }
  return board;
}

/** The work-order board: a column per status, each card with the moves its status allows. */
export function WorkOrdersPage() {
  const board = useData((signal) => loadBoard(signal), []);
  const technicians = useData(
    (signal) => get('/api/v1/technicians?limit=500', { signal }).then((p) => p.items),
    [],
  );
  const names = useData((signal) => assetNames(signal), []);
  useInterval(() => board.reload(), 10_000);

  return html`<div class="page">
    <div class="page-head"><h1>Work orders</h1><${NewWorkOrder} names=${names.data} onCreated=${board.reload} /></div>
    <${ErrorBox} error=${board.error} onRetry=${board.reload} />
    ${
      board.data === undefined
        ? html`<${Loading} />`
        : html`<div class="board" data-testid="board">
          ${COLUMNS.map(
            ([status]) => html`<section class="column" data-column=${status}>
              <h2>${label(status)} <span class="count">${board.data[status].length}</span></h2>
              ${board.data[status].map(
                (wo) =>
                  html`<${Card} key=${`${wo.id}-${wo.version}`} wo=${wo} names=${names.data} technicians=${technicians.data ?? []} onChanged=${board.reload} />`,
              )}
            </section>`,
          )}
        </div>`
    }
  </div>`;
}
